/**
 * View 4: the FLP explorer. Every configuration of a small protocol is explored
 * (src/explore) and coloured by valency: 0-valent, 1-valent, bivalent or stuck.
 * Lemma 2 shows a bivalent initial configuration among the eight input
 * assignments; Lemma 3 is an adversary that always finds a next event keeping
 * the run bivalent. Or pick the events yourself and watch the valency change.
 */
import { decodeScenario, encodeScenario } from '../explore/lab/codec.js';
import { FLP_DEFAULT_SIZE, FLP_SIZES, flpProtocol, parseFlpScenario, replayFlp, type FlpProtocolId } from '../explore/lab/flp-session.js';
import { Timeline } from '../explore/lab/timeline.js';
import { adjacentPairs, classifyInitialConfigurations, extendBivalentRun, type InitialClassification } from '../explore/lemmas.js';
import type { Bit, Configuration, FlpEvent } from '../explore/model.js';
import { StateSpace, type Valency } from '../explore/state-space.js';
import { button, fill, h, select } from './dom.js';
import { timelineBar } from './timeline-bar.js';
import { stateChanged, type View } from './view.js';

type Config = Configuration<unknown, unknown>;

const PROTOCOL_TEXT: Readonly<Record<FlpProtocolId, string>> = {
  majority: 'Majority vote in rounds: each round a process sends its preference, waits for 2 of the 3 votes (its own and the first to arrive), reports a value only if both agree, then waits for 2 reports: two equal reports decide, one report is adopted, none falls back to a fixed rule. Safe, and never waits for a silent process, so an adversary choosing arrival order can keep it undecided.',
  paxos: 'Single-decree Paxos: each process is an acceptor and proposes its input with ballots it owns; a timeout (null event) starts a higher ballot. The moment two acceptors hold one value in one ballot, every configuration is univalent, though nobody has decided yet.',
};

const GRAY_ORDER = [0b000, 0b001, 0b011, 0b010, 0b110, 0b111, 0b101, 0b100];
const VALENCY_TEXT: Readonly<Record<Valency, string>> = { '0-valent': '0-valent', '1-valent': '1-valent', bivalent: 'bivalent', stuck: 'stuck (no decision reachable)' };

function valencyClass(v: Valency): string {
  return `val-${v === '0-valent' ? 'zero' : v === '1-valent' ? 'one' : v}`;
}

export function createFlpView(): View {
  let protocolId: FlpProtocolId = 'majority';
  let size = FLP_DEFAULT_SIZE.majority;
  let inputs: Bit[] = [1, 0, 0];
  let timeline = new Timeline<FlpEvent>();
  let message: string | null = null;
  let loaded: string | null = null;
  const spaces = new Map<string, StateSpace<unknown, unknown>>();

  const element = h('section', { class: 'view flp-view' });
  const controls = h('div', { class: 'toolbar' });
  const lemma2 = h('div', { class: 'panel lemma2' });
  const current = h('div', { class: 'panel current' });
  const run = h('div', { class: 'panel run' });
  const bar = timelineBar(() => timeline, () => refresh(), (e) => describeEvent(e));
  fill(element,
    h('p', { class: 'intro' },
      'In the asynchronous model a message may wait any finite time, so a process cannot tell a crashed peer from a slow one. ',
      'A configuration is bivalent when both decisions are still reachable from it, univalent (0-valent or 1-valent) when only one is. ',
      'FLP: some initial configuration is bivalent (Lemma 2), and from any bivalent configuration some event keeps it bivalent (Lemma 3), so an adversary scheduler can keep a deterministic protocol undecided for ever.'),
    controls, lemma2, bar.element, h('div', { class: 'columns' }, current, run));

  function space(): StateSpace<unknown, unknown> {
    const key = `${protocolId}:${size}`;
    let s = spaces.get(key);
    if (s === undefined) spaces.set(key, (s = new StateSpace(flpProtocol(protocolId, size))));
    return s;
  }

  function path(): Config[] {
    return replayFlp(space().protocol, { protocol: protocolId, size, inputs, events: timeline.applied });
  }

  function describeEvent(event: FlpEvent, at?: Config): string {
    if (event.message === null) return `p${event.process}: timeout (null event)`;
    const protocol = space().protocol;
    // Without a configuration, find the latest one on the run that still holds the message.
    const holders = at === undefined ? path().reverse() : [at];
    for (const configuration of holders) {
      const m = configuration.buffer.find((x) => protocol.messageKey(x) === event.message);
      if (m !== undefined) return `deliver ${protocol.describeMessage(m)}`;
    }
    return `deliver ${event.message}`;
  }

  function startFrom(bits: readonly Bit[]): void {
    inputs = [...bits];
    timeline = new Timeline<FlpEvent>();
    refresh();
  }

  function choose(id: FlpProtocolId, newSize: number): void {
    protocolId = id;
    size = newSize;
    const bivalent = classifyInitialConfigurations(space()).find((c) => c.valency === 'bivalent');
    startFrom(bivalent?.inputs ?? [0, 0, 0]);
  }

  function adversary(steps: number): void {
    const configurations = path();
    const last = configurations[configurations.length - 1] as Config;
    const result = extendBivalentRun(space(), last, steps);
    for (const event of result.events) timeline.push(event);
    message = result.stopped === null ? `The adversary extended the run by ${result.events.length} event${result.events.length === 1 ? '' : 's'}; every configuration on the way is bivalent.` : `The adversary stopped after ${result.events.length} events: ${result.stopped}.`;
    refresh();
  }

  function renderControls(): void {
    fill(controls,
      select([['majority', 'majority vote in rounds'], ['paxos', 'single-decree Paxos']] as const, protocolId, (id) => choose(id, FLP_DEFAULT_SIZE[id]), { class: 'protocol', attrs: { 'aria-label': 'protocol' } }),
      select(FLP_SIZES[protocolId].map((n) => [n, protocolId === 'majority' ? `${n} round${n === 1 ? '' : 's'}` : `ballots ≤ ${n}`] as const), size, (n) => choose(protocolId, n), { class: 'size', attrs: { 'aria-label': 'size' } }),
      h('span', { class: 'muted' }, `${space().size.toLocaleString()} configurations explored`),
      h('span', { class: 'spacer' }),
      button('adversary: 1 step', () => adversary(1), { class: 'adv-1', title: 'space' }),
      button('adversary: 20 steps', () => adversary(20), { class: 'adv-20' }));
  }

  function renderLemma2(classified: readonly InitialClassification<unknown, unknown>[]): void {
    const byBits = (bits: number): InitialClassification<unknown, unknown> | undefined =>
      classified.find((c) => c.inputs.every((b, p) => b === ((bits >> p) & 1)));
    const pairs = adjacentPairs(classified).filter((p) =>
      (p.a.valency === '0-valent' && p.b.valency === '1-valent') || (p.a.valency === '1-valent' && p.b.valency === '0-valent'));
    const bivalent = classified.filter((c) => c.valency === 'bivalent');
    fill(lemma2,
      h('h3', {}, 'Lemma 2: the initial configurations'),
      h('div', { class: 'lattice' }, GRAY_ORDER.map((bits) => {
        const c = byBits(bits);
        if (c === undefined) return null;
        const active = c.inputs.every((b, p) => b === inputs[p]);
        return button([h('span', { class: 'inputs' }, c.inputs.join(' ')), h('span', { class: 'val' }, c.valency)], () => startFrom(c.inputs), {
          class: `initial ${valencyClass(c.valency)}${active ? ' active' : ''}`, dataset: { inputs: c.inputs.join(''), valency: c.valency },
          title: `inputs of p0 p1 p2 = ${c.inputs.join(' ')}: ${VALENCY_TEXT[c.valency]}`,
        });
      })),
      h('p', { class: 'small-text' }, PROTOCOL_TEXT[protocolId]),
      h('p', { class: 'small-text' }, 'Neighbours differ in one process\'s input; walking from 000 to 111 the valency must change somewhere. ',
        bivalent.length > 0
          ? h('span', { class: 'lemma-found' }, `Bivalent initial configuration${bivalent.length > 1 ? 's' : ''}: ${bivalent.map((c) => c.inputs.join('')).join(', ')}. `)
          : 'No initial configuration is bivalent: the decision is a function of the inputs, so this protocol cannot survive a silent process. ',
        pairs.length > 0 ? `A 0-valent and a 1-valent configuration sit side by side (${pairs.map((p) => `${p.a.inputs.join('')}/${p.b.inputs.join('')}, differing at p${p.process}`).join('; ')}): if that process stays silent, the others cannot tell them apart, which is why a protocol that tolerates one crash must have a bivalent one.` : ''));
  }

  function renderCurrent(configurations: readonly Config[]): void {
    const s = space();
    const protocol = s.protocol;
    const last = configurations[configurations.length - 1] as Config;
    const valency = s.valency(last);
    const moves = s.moves(last);
    fill(current,
      h('h3', {}, 'Current configuration ', h('span', { class: `badge ${valencyClass(valency)}`, dataset: { valency } }, VALENCY_TEXT[valency])),
      h('ul', { class: 'processes' }, last.processes.map((state, p) => {
        const decision = protocol.decision(state);
        return h('li', { class: decision === null ? '' : `decided-${decision}` }, h('strong', {}, `p${p}`), ` ${protocol.describeState(state)}`, decision === null ? '' : h('strong', {}, ` → decided ${decision}`));
      })),
      h('h4', {}, `Enabled events (${moves.length}) — coloured by the valency they lead to`),
      moves.length === 0 ? h('p', { class: 'muted' }, 'No event is enabled: the run is over.') :
        h('div', { class: 'events' }, moves.map((move) => button(describeEvent(move.event, last), () => { timeline.push(move.event); message = null; refresh(); }, {
          class: `event ${valencyClass(move.valency)}`, dataset: { valency: move.valency }, title: `leads to a ${move.valency} configuration`,
        }))),
      h('p', { class: 'legend small-text' },
        h('span', { class: 'swatch val-zero' }), ' 0-valent ', h('span', { class: 'swatch val-one' }), ' 1-valent ',
        h('span', { class: 'swatch val-bivalent' }), ' bivalent ', h('span', { class: 'swatch val-stuck' }), ' stuck'));
  }

  function renderRun(configurations: readonly Config[]): void {
    const s = space();
    const valencies = configurations.map((c) => s.valency(c));
    const bivalentRun = valencies.every((v) => v === 'bivalent');
    fill(run,
      h('h3', {}, `The run: ${timeline.cursor} event${timeline.cursor === 1 ? '' : 's'}`),
      h('div', { class: 'strip', attrs: { 'aria-label': 'valency along the run' } }, valencies.map((v, i) => h('span', { class: `cell ${valencyClass(v)}`, title: `${i}: ${v}` }))),
      h('p', { class: 'run-status', dataset: { bivalentSteps: String(bivalentRun ? timeline.cursor : -1) } },
        bivalentRun ? `Bivalent all along (${timeline.cursor} event${timeline.cursor === 1 ? '' : 's'}).` : 'The run has left bivalence: from here the outcome is fixed (or nobody can decide).'),
      message === null ? null : h('p', { class: 'adversary-note' }, message),
      h('ol', { class: 'run-events small-text', attrs: { start: '1' } }, timeline.applied.map((e, i) => h('li', { class: valencyClass(valencies[i + 1] ?? 'stuck') }, describeEvent(e, configurations[i])))));
  }

  function refresh(): void {
    let configurations: Config[];
    try {
      configurations = path();
    } catch (error) {
      message = `This run cannot be replayed: ${(error as Error).message}`;
      timeline = new Timeline<FlpEvent>();
      configurations = path();
    }
    const classified = classifyInitialConfigurations(space());
    renderControls();
    bar.render();
    renderLemma2(classified);
    renderCurrent(configurations);
    renderRun(configurations);
    stateChanged();
  }

  const view: View = {
    id: 'flp',
    title: 'FLP explorer',
    element,
    show(state) {
      if (state !== null && state !== loaded && state !== view.state()) {
        const parsed = parseFlpScenario(decodeScenario(state));
        if (parsed.ok) {
          protocolId = parsed.value.protocol;
          size = parsed.value.size;
          inputs = [...parsed.value.inputs];
          timeline = new Timeline(parsed.value.events);
        } else {
          message = `The link is not an FLP session: ${parsed.error}`;
        }
      }
      loaded = state;
      refresh();
    },
    state: () => encodeScenario({ protocol: protocolId, size, inputs, events: timeline.applied }),
    key(action) {
      switch (action) {
        case 'back': if (timeline.back()) refresh(); return true;
        case 'forward': if (timeline.forward()) refresh(); return true;
        case 'step': adversary(1); return true;
        case 'branch': timeline.branch(); refresh(); return true;
      }
    },
  };
  return view;
}
