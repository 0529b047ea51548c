/**
 * View 1: one round of Paxos, step by step, with the real roles of src/core/paxos.
 * Click a process to let it take its next step; click a message in flight to
 * deliver, drop or duplicate it. The star appears the moment a majority of
 * acceptors holds one value in one ballot, before any learner knows.
 */
import { formatBallot } from '../core/ballot.js';
import { nodeId } from '../core/ids.js';
import type { PaxosCluster, PaxosMessage } from '../core/paxos/index.js';
import { decodeScenario, encodeScenario } from '../explore/lab/codec.js';
import {
  ACCEPTORS, LEARNERS, PROPOSERS, PROPOSER_VALUES, acceptorsHolding, defaultPaxosSession, duelAction, highestRound,
  learnersDecided, nextStepAction, parsePaxosSession, replayPaxosRound, type PaxosRoundAction,
} from '../explore/lab/paxos-round.js';
import { Timeline } from '../explore/lab/timeline.js';
import { button, fill, h, svg } from './dom.js';
import { timelineBar } from './timeline-bar.js';
import { stateChanged, type View } from './view.js';

const POSITIONS: Readonly<Record<string, readonly [number, number]>> = {
  P1: [110, 110], P2: [110, 290], A1: [380, 55], A2: [380, 195], A3: [380, 335], L1: [650, 110], L2: [650, 290],
};
const ROLE_OF: Readonly<Record<string, string>> = { P: 'proposer', A: 'acceptor', L: 'learner' };

export function describeMessage(m: PaxosMessage<string>): string {
  switch (m.type) {
    case 'prepare': return `prepare ${formatBallot(m.ballot)}`;
    case 'promise': return `promise ${formatBallot(m.ballot)}${m.accepted === null ? '' : ` had ${m.accepted.value}@${formatBallot(m.accepted.ballot)}`}`;
    case 'accept': return `accept ${formatBallot(m.ballot)} ${m.value}`;
    case 'accepted': return `accepted ${formatBallot(m.ballot)} ${m.value}`;
    case 'nack': return `nack ${formatBallot(m.rejected)} < ${formatBallot(m.promised)}`;
    case 'decision': return `decision ${m.value}`;
  }
}

function describeAction(a: PaxosRoundAction): string {
  switch (a.type) {
    case 'propose': return `${a.node} proposes ${a.value}`;
    case 'retry': return `${a.node} retries`;
    case 'crash': case 'restart': return `${a.type} ${a.node}`;
    default: return `${a.type} #${a.id}`;
  }
}

function processLines(cluster: PaxosCluster<string>, node: string): string[] {
  const id = nodeId(node);
  const crashed = cluster.isCrashed(id);
  switch (cluster.roleOf(id)) {
    case 'proposer': {
      const phase = cluster.proposer(id)?.phase;
      if (crashed || phase === undefined) return ['crashed'];
      switch (phase.phase) {
        case 'idle': return ['idle'];
        case 'preparing': return [`preparing ${formatBallot(phase.ballot)}`, `promises: ${[...phase.promises.keys()].join(',') || '—'}`];
        case 'accepting': return [`accepting ${formatBallot(phase.ballot)}`, `value ${phase.value}`];
        case 'preempted': return [`preempted in ${formatBallot(phase.ballot)}`, `by ${formatBallot(phase.by)}`];
        case 'decided': return [`knows: ${phase.value}`];
      }
      return [];
    }
    case 'acceptor': {
      const s = cluster.persistedAcceptorState(id);
      const lines = [`promised ${s.promised.node === '' ? '—' : formatBallot(s.promised)}`, s.accepted === null ? 'no vote' : `voted ${s.accepted.value}@${formatBallot(s.accepted.ballot)}`];
      return crashed ? ['crashed', ...lines.map((l) => `disk: ${l}`)] : lines;
    }
    case 'learner': {
      const decision = cluster.learner(id)?.decision();
      return crashed ? ['crashed'] : [decision === undefined ? 'learning' : `learned: ${decision}`];
    }
  }
}

export function createPaxosView(): View {
  let stableLeader = false;
  let timeline = new Timeline<PaxosRoundAction>(defaultPaxosSession().actions);
  let cluster = replayPaxosRound(timeline.applied);
  let selected: number | null = null;
  let problem: string | null = null;
  let loaded: string | null = null;

  const element = h('section', { class: 'view paxos-view' });
  const banner = h('div', { class: 'banner', attrs: { 'aria-live': 'polite' } });
  const toolbar = h('div', { class: 'toolbar' });
  const diagram = h('div', { class: 'diagram' });
  const messages = h('div', { class: 'panel' });
  const processes = h('div', { class: 'panel' });
  const bar = timelineBar(() => timeline, () => refresh(), describeAction);
  fill(
    element,
    h('p', { class: 'intro' },
      'Proposers P1 and P2, acceptors A1–A3 and learners L1–L2 run the real single-decree Paxos of src/core/paxos. ',
      'A3 starts crashed, as in the classic example, so every quorum is {A1, A2}. Click a process to let it take its next step, ',
      'or click a message to deliver, drop or duplicate it. Propose from both P1 and P2 and let the adversary play to watch two proposers preempt each other.'),
    toolbar, bar.element, banner, diagram, h('div', { class: 'columns' }, messages, processes),
  );

  function refresh(): void {
    problem = null;
    try {
      cluster = replayPaxosRound(timeline.applied);
    } catch (error) {
      problem = `This session cannot be replayed: ${(error as Error).message}`;
      timeline.jump(0);
      cluster = replayPaxosRound([]);
    }
    if (selected !== null && !cluster.inFlight().some((m) => m.id === selected)) selected = null;
    render();
    stateChanged();
  }

  function act(action: PaxosRoundAction | null): void {
    if (action === null) return;
    timeline.push(action);
    refresh();
  }

  function runAdversary(steps: number): void {
    for (let i = 0; i < steps; i += 1) {
      const action = duelAction(cluster, { stableLeader });
      if (action === null) break;
      timeline.push(action);
      cluster.apply(action);
    }
    refresh();
  }

  function deliverAll(): void {
    for (let i = 0; i < 200; i += 1) {
      const next = cluster.inFlight()[0];
      if (next === undefined) break;
      const action: PaxosRoundAction = { type: 'deliver', id: next.id };
      timeline.push(action);
      cluster.apply(action);
    }
    refresh();
  }

  function renderToolbar(): void {
    const proposeButton = (node: string): HTMLButtonElement => {
      const value = PROPOSER_VALUES[node] ?? node;
      const proposer = cluster.proposer(nodeId(node));
      return button(`${node} proposes ${value}`, () => act({ type: 'propose', node: nodeId(node), value }), {
        class: `propose-${node.toLowerCase()} value-${value}`,
        disabled: proposer === null || proposer.phase.phase === 'decided',
        title: node === 'P2' ? 'A second proposer: dueling ballots' : 'Start phase 1 with a fresh ballot',
      });
    };
    const stable = h('input', { type: 'checkbox', checked: stableLeader, class: 'stable-leader' });
    stable.addEventListener('change', () => { stableLeader = stable.checked; render(); stateChanged(); });
    fill(
      toolbar,
      proposeButton('P1'), proposeButton('P2'),
      h('label', { class: 'check', title: 'Only P1 retries after being preempted: the livelock ends' }, stable, ' stable leader'),
      button('adversary step', () => runAdversary(1), { class: 'adversary-step', title: 'space' }),
      button('adversary ×10', () => runAdversary(10), { class: 'adversary-10' }),
      button('deliver all', deliverAll, { class: 'deliver-all' }),
      button('reset', () => { timeline = new Timeline(defaultPaxosSession().actions); selected = null; refresh(); }, { class: 'ghost' }),
    );
  }

  function renderBanner(): void {
    const chosen = cluster.chosen();
    const learned = learnersDecided(cluster);
    const round = highestRound(cluster);
    const parts: (string | HTMLElement)[] = [];
    if (problem !== null) parts.push(h('strong', { class: 'bad' }, problem), ' ');
    if (chosen === undefined) {
      parts.push(round >= 3
        ? h('span', {}, h('strong', {}, `Duel: ballots have climbed to round ${round} and nothing is chosen.`), ' Each new prepare preempts the other proposer\'s accept. Tick "stable leader" to end the livelock.')
        : 'Nothing is chosen yet. A value is chosen the moment a majority of acceptors accepts it in one ballot.');
    } else {
      const holders = acceptorsHolding(cluster, chosen).join(' and ');
      parts.push(h('strong', { class: `chosen value-${chosen}` }, `★ ${chosen} is chosen`), ` — ${holders} accepted it in one ballot. `);
      parts.push(learned.length === 0
        ? h('em', {}, 'Point of no return: no other value can ever be chosen, and yet no learner knows it.')
        : `Learned by ${learned.map((l) => l.node).join(', ')}.`);
    }
    fill(banner, parts);
    banner.className = `banner ${chosen === undefined ? (round >= 3 ? 'warn' : '') : 'good'}`;
  }

  function renderDiagram(): void {
    const chosen = cluster.chosen();
    const holders = new Set<string>(chosen === undefined ? [] : acceptorsHolding(cluster, chosen));
    const inFlight = cluster.inFlight();
    const lines: SVGElement[] = [];
    const pills: SVGElement[] = [];
    const drawn = new Set<string>();
    // Rectangles already taken: every process with its state lines, then each pill placed.
    const placed: { x0: number; y0: number; x1: number; y1: number }[] = Object.values(POSITIONS).map(([x, y]) => ({ x0: x - 62, y0: y - 34, x1: x + 62, y1: y + 80 }));
    const free = (x: number, y: number, w: number): boolean =>
      placed.every((r) => x + w / 2 + 3 < r.x0 || x - w / 2 - 3 > r.x1 || y + 11 < r.y0 || y - 11 > r.y1);
    /** Greedy placement: along the link, then beside it, until the pill covers nothing else. */
    const place = (from: readonly [number, number], to: readonly [number, number], w: number): [number, number] => {
      const [dx, dy] = [to[0] - from[0], to[1] - from[1]];
      const length = Math.hypot(dx, dy) || 1;
      for (const offset of [0, 20, -20, 40, -40, 60, -60, 80, -80]) {
        for (const t of [0.58, 0.45, 0.7, 0.35, 0.8, 0.25]) {
          const x = from[0] + dx * t - (dy / length) * offset;
          const y = from[1] + dy * t + (dx / length) * offset;
          if (free(x, y, w)) return [x, y];
        }
      }
      return [from[0] + dx * 0.58, from[1] + dy * 0.58];
    };
    for (const { id, message } of inFlight) {
      const from = POSITIONS[message.from];
      const to = POSITIONS[message.to];
      if (from === undefined || to === undefined) continue;
      const pair = [message.from, message.to].sort().join('-');
      if (!drawn.has(pair)) lines.push(svg('line', { x1: from[0], y1: from[1], x2: to[0], y2: to[1], class: 'link' }));
      drawn.add(pair);
      const label = `#${id} ${describeMessage(message)}`;
      const width = label.length * 6.1 + 12;
      const [x, y] = place(from, to, width);
      placed.push({ x0: x - width / 2, y0: y - 9, x1: x + width / 2, y1: y + 9 });
      const pill = svg('g', { class: `msg msg-${message.type}${selected === id ? ' selected' : ''}`, transform: `translate(${x - width / 2},${y - 9})`, 'data-msg': id, tabindex: 0, role: 'button' },
        svg('title', {}, `${message.from} → ${message.to}: ${describeMessage(message)}`),
        svg('rect', { width, height: 18, rx: 9 }),
        svg('text', { x: width / 2, y: 13 }, label));
      pill.addEventListener('click', () => { selected = selected === id ? null : id; render(); });
      pill.addEventListener('keydown', (event) => {
        if ((event as KeyboardEvent).key !== 'Enter') return;
        event.stopPropagation();
        act({ type: 'deliver', id });
      });
      pills.push(pill);
    }
    const nodes = [...PROPOSERS, ...ACCEPTORS, ...LEARNERS].map((node) => {
      const [x, y] = POSITIONS[node] ?? [0, 0];
      const crashed = cluster.isCrashed(nodeId(node));
      const lines = processLines(cluster, node);
      const g = svg('g', { class: `proc role-${ROLE_OF[node[0] ?? ''] ?? ''}${crashed ? ' crashed' : ''}${holders.has(node) ? ' holds-chosen' : ''}`, 'data-node': node, tabindex: 0, role: 'button' },
        svg('title', {}, `${node}: click to take its next step`),
        svg('circle', { cx: x, cy: y, r: 30 }),
        svg('text', { x, y: y + 5, class: 'name' }, node),
        lines.map((line, i) => svg('text', { x, y: y + 46 + i * 14, class: 'state' }, line)));
      if (holders.has(node)) g.appendChild(svg('text', { x: x + 24, y: y - 20, class: 'star' }, '★'));
      g.addEventListener('click', () => act(nextStepAction(cluster, node, { stableLeader })));
      g.addEventListener('keydown', (event) => {
        if ((event as KeyboardEvent).key !== 'Enter') return;
        event.stopPropagation();
        act(nextStepAction(cluster, node, { stableLeader }));
      });
      return g;
    });
    fill(diagram, svg('svg', { viewBox: '0 0 760 440', class: 'paxos-svg', role: 'img', 'aria-label': 'Paxos processes and messages in flight' }, lines, nodes, pills));
  }

  function renderPanels(): void {
    const inFlight = cluster.inFlight();
    fill(messages,
      h('h3', {}, `In flight (${inFlight.length})`),
      inFlight.length === 0 ? h('p', { class: 'muted' }, 'No message in flight.') : h('ul', { class: 'msg-list' },
        inFlight.map(({ id, message }) => h('li', { class: selected === id ? 'selected' : '', dataset: { msg: String(id) } },
          h('code', {}, `#${id}`), ` ${message.from}→${message.to} ${describeMessage(message)} `,
          button('deliver', () => act({ type: 'deliver', id }), { class: 'deliver small' }),
          button('drop', () => act({ type: 'drop', id }), { class: 'drop small' }),
          button('dup', () => act({ type: 'duplicate', id }), { class: 'duplicate small', title: 'duplicate' })))));
    fill(processes,
      h('h3', {}, 'Processes'),
      h('table', { class: 'procs' }, [...PROPOSERS, ...ACCEPTORS, ...LEARNERS].map((node) => {
        const crashed = cluster.isCrashed(nodeId(node));
        const next = nextStepAction(cluster, node, { stableLeader });
        return h('tr', { dataset: { node } },
          h('th', {}, node), h('td', {}, processLines(cluster, node).join('; ')),
          h('td', { class: 'actions' },
            button('step', () => act(next), { class: 'step small', disabled: next === null }),
            crashed
              ? button('restart', () => act({ type: 'restart', node: nodeId(node) }), { class: 'restart small' })
              : button('crash', () => act({ type: 'crash', node: nodeId(node) }), { class: 'crash small' })));
      })));
  }

  function render(): void {
    renderToolbar();
    bar.render();
    renderBanner();
    renderDiagram();
    renderPanels();
  }

  const view: View = {
    id: 'paxos',
    title: 'Paxos round',
    element,
    show(state) {
      if (state !== null && state !== loaded && state !== view.state()) {
        const parsed = parsePaxosSession(decodeScenario(state));
        if (parsed.ok) {
          stableLeader = parsed.value.stableLeader;
          timeline = new Timeline(parsed.value.actions, parsed.value.at);
        } else {
          problem = `The link is not a Paxos session: ${parsed.error}`;
        }
      }
      loaded = state;
      const keep = problem;
      refresh();
      problem ??= keep;
      renderBanner();
    },
    state: () => encodeScenario({ stableLeader, actions: timeline.actions, at: timeline.cursor }),
    key(action) {
      switch (action) {
        case 'back': if (timeline.back()) refresh(); return true;
        case 'forward': if (timeline.forward()) refresh(); return true;
        case 'step': runAdversary(1); return true;
        case 'branch': timeline.branch(); refresh(); return true;
      }
    },
  };
  return view;
}
