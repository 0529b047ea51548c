/**
 * View 5: the synchronous model. FloodSet (src/core/flooding) runs in lockstep
 * rounds; you choose who crashes in which round and which processes its last
 * message still reaches. With f crashes allowed, f+1 rounds always agree; the
 * preset "f rounds are not enough" shows the chain of crashes that defeats f.
 */
import {
  isFloodingFinished, startFlooding, stepFlooding, validateFloodingConfig,
  type FloodingConfig, type FloodingCrash, type FloodingRoundRecord, type FloodingState,
} from '../core/flooding/index.js';
import { decodeScenario, encodeScenario } from '../explore/lab/codec.js';
import { button, fill, h, select, svg } from './dom.js';
import { stateChanged, type View } from './view.js';

/** A chain: p0 (the only 0) reaches only p1 and dies, p1 passes it only to p2 and dies, ... */
export function chainConfig(f: number, rounds: number): FloodingConfig {
  const n = f + 2;
  const crashes: FloodingCrash[] = Array.from({ length: f }, (_, i) => ({ process: i, round: i + 1, receivers: [i + 1] }));
  return { inputs: Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 1)), f, rounds, crashes };
}

interface SyncSession {
  readonly config: FloodingConfig;
  /** Rounds executed so far. */
  readonly shown: number;
}

function parseSession(v: unknown): SyncSession | null {
  const r = v as { config?: FloodingConfig; shown?: unknown } | null;
  if (r === null || typeof r !== 'object' || typeof r.config !== 'object' || r.config === null) return null;
  const c = r.config;
  if (!Array.isArray(c.inputs) || c.inputs.length > 8 || !Array.isArray(c.crashes)) return null;
  const config: FloodingConfig = { inputs: c.inputs, f: c.f, rounds: c.rounds, crashes: c.crashes };
  try {
    if (validateFloodingConfig(config) !== null) return null;
  } catch {
    return null;
  }
  return { config, shown: Number.isSafeInteger(r.shown) ? (r.shown as number) : 0 };
}

export function createSyncView(): View {
  let config = chainConfig(2, 2);
  let shown = 0;
  let loaded: string | null = null;
  let error: string | null = null;
  const element = h('section', { class: 'view sync-view' });
  const controls = h('div', { class: 'toolbar' });
  const crashes = h('div', { class: 'panel' });
  const diagram = h('div', { class: 'panel' });
  const verdict = h('div', { class: 'banner' });
  fill(element,
    h('p', { class: 'intro' },
      'In a synchronous system every round ends for everyone at once, so a silent process is known to have crashed. FloodSet: each process keeps the set W of values it has seen, ',
      'sends all of W to everyone every round, and after the last round decides the smallest value in W. A process that crashes in a round reaches only some of the others with its last message. ',
      'With at most f crashes, f+1 rounds contain one round without a crash, after which all W are equal. Fewer rounds let a chain of crashes hand a value to one process and not another.'),
    controls, verdict, h('div', { class: 'columns' }, diagram, crashes));

  function run(): { state: FloodingState; records: FloodingRoundRecord[] } {
    let state = startFlooding(config);
    const records: FloodingRoundRecord[] = [];
    while (records.length < shown && !isFloodingFinished(state)) {
      const step = stepFlooding(state);
      state = step.state;
      records.push(step.record);
    }
    return { state, records };
  }

  function update(next: FloodingConfig, keepShown = false): void {
    const problem = validateFloodingConfig(next);
    if (problem !== null) {
      error = problem;
    } else {
      error = null;
      config = next;
      if (!keepShown) shown = 0;
    }
    render();
  }

  function renderControls(): void {
    const n = config.inputs.length;
    const rounds = config.rounds ?? config.f + 1;
    fill(controls,
      select([3, 4, 5, 6].map((k) => [k, `${k} processes`] as const), n, (k) => update({ inputs: Array.from({ length: k }, (_, i) => config.inputs[i] ?? 1), f: Math.min(config.f, k - 1), rounds: Math.min(rounds, k), crashes: config.crashes.filter((c) => c.process < k).map((c) => ({ ...c, receivers: c.receivers.filter((r) => r < k) })) }), { attrs: { 'aria-label': 'processes' } }),
      select(Array.from({ length: n - 1 }, (_, i) => [i + 1, `f = ${i + 1}`] as const), config.f, (f) => update({ ...config, f, crashes: config.crashes.slice(0, f) }), { attrs: { 'aria-label': 'f' } }),
      select(Array.from({ length: config.f + 2 }, (_, i) => [i + 1, `${i + 1} round${i === 0 ? '' : 's'}${i + 1 === config.f + 1 ? ' (f+1)' : ''}`] as const), rounds, (r) => update({ ...config, rounds: r, crashes: config.crashes.filter((c) => c.round <= r) }), { class: 'rounds', attrs: { 'aria-label': 'rounds' } }),
      h('span', {}, 'inputs ', config.inputs.map((v, i) => {
        const input = h('input', { type: 'number', value: String(v), class: 'input-value', attrs: { 'aria-label': `input of p${i}`, size: '2' } });
        input.addEventListener('change', () => update({ ...config, inputs: config.inputs.map((x, j) => (j === i ? Number(input.value) : x)) }));
        return input;
      })),
      h('span', { class: 'sep' }),
      button('preset: f rounds are not enough', () => { config = chainConfig(2, 2); shown = config.rounds ?? 0; render(); }, { class: 'preset-f' }),
      button('preset: f+1 rounds suffice', () => { config = chainConfig(2, 3); shown = config.rounds ?? 0; render(); }, { class: 'preset-f1' }),
      h('span', { class: 'sep' }),
      button('next round', () => { shown += 1; render(); }, { class: 'next-round', disabled: shown >= rounds, title: 'space' }),
      button('run all', () => { shown = rounds; render(); }, { disabled: shown >= rounds }),
      button('restart', () => { shown = 0; render(); }, { class: 'ghost' }));
  }

  function renderCrashes(): void {
    const n = config.inputs.length;
    const rounds = config.rounds ?? config.f + 1;
    const crashOf = (p: number): FloodingCrash | undefined => config.crashes.find((c) => c.process === p);
    const setCrash = (p: number, crash: FloodingCrash | null): void =>
      update({ ...config, crashes: [...config.crashes.filter((c) => c.process !== p), ...(crash === null ? [] : [crash])] }, true);
    fill(crashes,
      h('h3', {}, `Crash schedule (at most f = ${config.f})`),
      h('table', { class: 'crash-table' }, Array.from({ length: n }, (_, p) => {
        const crash = crashOf(p);
        return h('tr', {},
          h('th', {}, `p${p}`),
          h('td', {}, select([[0, 'never crashes'], ...Array.from({ length: rounds }, (_, r) => [r + 1, `crashes in round ${r + 1}`] as const)], crash?.round ?? 0,
            (round) => setCrash(p, round === 0 ? null : { process: p, round, receivers: crash?.receivers ?? [] }), { attrs: { 'aria-label': `crash round of p${p}` } })),
          h('td', {}, crash === undefined ? null : ['last message reaches: ', Array.from({ length: n }, (_, q) => q).filter((q) => q !== p).map((q) => {
            const box = h('input', { type: 'checkbox', checked: crash.receivers.includes(q), attrs: { 'aria-label': `p${p} reaches p${q}` } });
            box.addEventListener('change', () => setCrash(p, { ...crash, receivers: box.checked ? [...crash.receivers, q].sort() : crash.receivers.filter((x) => x !== q) }));
            return h('label', { class: 'check' }, box, `p${q} `);
          })]));
      })),
      error === null ? null : h('p', { class: 'bad' }, error));
  }

  function renderDiagram(state: FloodingState, records: readonly FloodingRoundRecord[]): void {
    const n = config.inputs.length;
    const rounds = config.rounds ?? config.f + 1;
    const x = (r: number): number => 70 + r * 150;
    const y = (p: number): number => 40 + p * 60;
    const known = (r: number, p: number): string => {
      const process = r === 0 ? { known: [config.inputs[p] ?? 0], status: 'running' } : records[r - 1]?.processes[p];
      if (process === undefined) return '';
      const set = `{${process.known.join(',')}}`;
      return process.status === 'crashed' ? `✝ ${set}` : process.status === 'decided' ? `${set} → ${(process as { decision: number }).decision}` : set;
    };
    const parts: SVGElement[] = [];
    records.forEach((record) => {
      const partial = new Set(config.crashes.filter((c) => c.round === record.round).map((c) => c.process));
      for (const m of record.messages) {
        parts.push(svg('line', { x1: x(record.round - 1) + 30, y1: y(m.from), x2: x(record.round) - 30, y2: y(m.to), class: partial.has(m.from) ? 'flood last-words' : 'flood' }));
      }
    });
    for (let r = 0; r <= rounds; r += 1) {
      parts.push(svg('text', { x: x(r), y: 18, class: 'round-label' }, r === 0 ? 'inputs' : `round ${r}`));
      for (let p = 0; p < n; p += 1) {
        const text = r <= records.length ? known(r, p) : '';
        const record = r === 0 ? null : records[r - 1]?.processes[p];
        parts.push(svg('text', { x: x(r), y: y(p) + 5, class: `wset${record?.status === 'crashed' ? ' crashed' : ''}${record?.status === 'decided' ? ' decided' : ''}` }, text));
      }
    }
    for (let p = 0; p < n; p += 1) parts.push(svg('text', { x: 14, y: y(p) + 5, class: 'proc-label' }, `p${p}`));
    fill(diagram, h('h3', {}, 'Rounds'), svg('svg', { viewBox: `0 0 ${x(rounds) + 90} ${y(n - 1) + 40}`, class: 'flood-svg', role: 'img', 'aria-label': 'FloodSet rounds' }, parts));
    const decisions = state.processes.flatMap((p, i) => (p.status === 'decided' ? [{ process: i, decision: p.decision }] : []));
    const distinct = new Set(decisions.map((d) => d.decision));
    fill(verdict, !isFloodingFinished(state)
      ? `After ${records.length} of ${rounds} rounds (f = ${config.f}${rounds < config.f + 1 ? ', fewer than f+1 rounds' : ''}).`
      : distinct.size <= 1
        ? h('span', { class: 'good-text' }, `✓ Agreement: every surviving process decided ${[...distinct].join('') || 'nothing'} after ${rounds} rounds.`)
        : h('span', { class: 'bad' }, `✗ Agreement violated after ${rounds} rounds: ${decisions.map((d) => `p${d.process} decided ${d.decision}`).join(', ')}. ${rounds <= config.f ? `With f = ${config.f} crashes, ${rounds} rounds are not enough.` : ''}`));
    verdict.className = `banner ${isFloodingFinished(state) ? (distinct.size <= 1 ? 'good' : 'warn') : ''}`;
  }

  function render(): void {
    const rounds = config.rounds ?? config.f + 1;
    shown = Math.max(0, Math.min(shown, rounds));
    const { state, records } = run();
    renderControls();
    renderCrashes();
    renderDiagram(state, records);
    stateChanged();
  }

  const view: View = {
    id: 'sync',
    title: 'Synchronous rounds',
    element,
    show(state) {
      if (state !== null && state !== loaded && state !== view.state()) {
        const parsed = parseSession(decodeScenario(state));
        if (parsed !== null) ({ config, shown } = parsed);
        else error = 'The link is not a FloodSet session.';
      }
      loaded = state;
      render();
    },
    state: () => encodeScenario({ config, shown } satisfies SyncSession),
    key(action) {
      const rounds = config.rounds ?? config.f + 1;
      if (action === 'step' || action === 'forward') { if (shown < rounds) { shown += 1; render(); } return true; }
      if (action === 'back') { if (shown > 0) { shown -= 1; render(); } return true; }
      return false;
    },
  };
  return view;
}
