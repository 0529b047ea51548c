/**
 * View 2: the Multi-Paxos playground. Real replicas (src/core/multipaxos via
 * src/sim/cluster.ts), every message under your control, faults by hand or by
 * seeded presets, and live safety checks that turn red with the offending slots.
 */
import { listMutants, type MutantName } from '../sim/mutants.js';
import { decodeScenario, encodeScenario } from '../explore/lab/codec.js';
import { exportFileName, exportPlaygroundTest } from '../explore/lab/export-test.js';
import {
  PRESET_NAMES, REPLICAS_MAX, REPLICAS_MIN, defaultPlaygroundScenario, describeAction, parsePlaygroundScenario, type PresetName,
} from '../explore/lab/playground-scenario.js';
import { button, download, fill, h, select } from './dom.js';
import { clientPanel, messageList, replicaCards, safetyPanel, topology } from './playground-parts.js';
import { playgroundStore as store } from './playground-store.js';
import { timelineBar } from './timeline-bar.js';
import { stateChanged, type View } from './view.js';

const PRESET_LABELS: Readonly<Record<PresetName, string>> = {
  calm: 'calm network',
  lossy: 'lossy network',
  'flaky-leader': 'flaky leader',
  'partition-storm': 'partition storm',
};

/** The playground session as a link carries it: the scenario and the cursor. */
export function encodePlayground(): string {
  return encodeScenario({ ...store.scenario(), at: store.timeline.cursor });
}

export function exportCurrentTest(): void {
  const scenario = store.visibleScenario();
  const title = `seed ${scenario.seed}, ${scenario.replicas} replicas, ${scenario.actions.length} actions${scenario.bug === null ? '' : `, bug ${scenario.bug}`}`;
  download(exportFileName(`playground ${title}`), exportPlaygroundTest(scenario, title), 'text/typescript');
}

export function createPlaygroundView(): View {
  let preset: PresetName = 'lossy';
  let presetSteps = 50;
  let loaded: string | null = null;
  const element = h('section', { class: 'view playground-view' });
  const setup = h('div', { class: 'toolbar setup' });
  const toolbar = h('div', { class: 'toolbar' });
  const status = h('div', { class: 'status-line' });
  const safety = h('div');
  const body = h('div', { class: 'pg-body' });
  const bar = timelineBar(() => store.timeline, () => store.changed(), describeAction);
  fill(element,
    h('p', { class: 'intro' },
      'Replicas n1… run the real Multi-Paxos replica of src/core/multipaxos. Nothing moves unless you say so: deliver, drop, duplicate or delay any message, ',
      'tick the clocks, crash and restart replicas, cut links, or let a seeded fault preset play. Clients c1 and c2 send gets, puts and compare-and-sets; ',
      'the checks below judge every slot and the whole client history as you go.'),
    setup, toolbar, bar.element, status, safety, body);

  const newSession = (seed: number, replicas: number, bug: MutantName | null): void => {
    const scenario = { ...defaultPlaygroundScenario(seed, replicas), bug };
    store.load(scenario);
  };

  function renderSetup(): void {
    const seed = h('input', { type: 'number', value: String(store.config.seed), class: 'seed', attrs: { min: '0', 'aria-label': 'seed' } });
    let replicas = store.config.replicas;
    let bug: MutantName | null = store.config.bug;
    const sizes = Array.from({ length: REPLICAS_MAX - REPLICAS_MIN + 1 }, (_, i) => [REPLICAS_MIN + i, `${REPLICAS_MIN + i} replicas`] as const);
    const bugs: (readonly [string, string])[] = [['', 'real protocol'], ...listMutants().map((m) => [m, `planted bug: ${m}`] as const)];
    fill(setup,
      select(sizes, replicas, (v) => { replicas = v; }, { class: 'replica-count', attrs: { 'aria-label': 'replicas' } }),
      h('label', {}, 'seed ', seed),
      select(bugs, bug ?? '', (v) => { bug = v === '' ? null : (v as MutantName); }, { class: 'bug', attrs: { 'aria-label': 'planted bug' } }),
      button('new session', () => newSession(Math.max(0, Math.trunc(Number(seed.value)) >>> 0), replicas, bug), { class: 'new-session' }),
      h('span', { class: 'spacer' }),
      button('copy link', () => { void navigator.clipboard?.writeText(location.href); }, { class: 'copy-link ghost', title: 'The address bar always holds this session' }),
      button('export as test', exportCurrentTest, { class: 'export-test ghost', title: 'Download a node:test file that replays this and asserts the checks' }));
  }

  function renderToolbar(): void {
    const pg = store.current();
    const leader = pg.leader();
    const up = pg.nodes.filter((n) => pg.isUp(n));
    const half = Math.ceil(pg.nodes.length / 2);
    fill(toolbar,
      button('network step', () => store.act({ t: 'step' }), { class: 'net-step', title: 'Deliver the next message (space)' }),
      button('deliver all', () => store.act({ t: 'settle' }), { class: 'settle' }),
      button('tick', () => store.act({ t: 'tick', count: 1 }), { class: 'tick', title: 'Advance every clock one tick' }),
      button('tick ×6', () => store.act({ t: 'tick', count: 6 }), { class: 'tick6' }),
      h('span', { class: 'sep' }),
      button('isolate leader', () => leader !== null && store.act({ t: 'partition', groups: [[leader], pg.nodes.filter((n) => n !== leader)] }), { disabled: leader === null, class: 'isolate' }),
      button('split halves', () => store.act({ t: 'partition', groups: [pg.nodes.slice(0, half - 1), pg.nodes.slice(half - 1)] }), { class: 'split' }),
      button('leader ↛ others', () => { if (leader !== null) for (const n of pg.nodes) if (n !== leader) store.act({ t: 'cut', from: leader, to: n }); }, { disabled: leader === null, class: 'one-way', title: 'One-way cut: the leader still hears everyone' }),
      button('heal', () => store.act({ t: 'heal' }), { disabled: pg.cutLinks.length === 0, class: 'heal' }),
      h('span', { class: 'sep' }),
      select(PRESET_NAMES.map((p) => [p, PRESET_LABELS[p]] as const), preset, (p) => { preset = p; }, { class: 'preset', attrs: { 'aria-label': 'fault preset' } }),
      select([[20, '20 steps'], [50, '50 steps'], [200, '200 steps']] as const, presetSteps as 20 | 50 | 200, (n) => { presetSteps = n; }, { class: 'preset-steps', attrs: { 'aria-label': 'steps' } }),
      button('run preset', () => store.act({ t: 'preset', name: preset, steps: presetSteps }), { class: 'run-preset', disabled: up.length === 0 }));
  }

  function render(): void {
    const pg = store.current();
    const report = pg.safety();
    renderSetup();
    renderToolbar();
    bar.render();
    fill(status,
      store.error === null ? null : h('div', { class: 'bad error' }, store.error),
      h('span', {}, `leader: ${pg.leader() ?? 'none'} · clock ${pg.clock} · seed ${store.config.seed}`),
      store.config.bug === null ? null : h('span', { class: 'bad' }, ` · planted bug: ${store.config.bug}`));
    fill(safety, safetyPanel(report));
    fill(body,
      replicaCards(pg, report, (a) => store.act(a)),
      h('div', { class: 'columns' },
        messageList(pg, (a) => store.act(a)),
        h('div', {}, topology(pg), clientPanel(pg, (a) => store.act(a)),
          h('div', { class: 'panel notes' }, h('h3', {}, 'What happened'), h('ol', { class: 'notes-list' }, pg.notes.slice(-12).map((n) => h('li', {}, n)))))));
  }

  let visible = false;
  store.subscribe(() => {
    if (!visible) return;
    render();
    stateChanged();
  });

  const view: View = {
    id: 'playground',
    title: 'Multi-Paxos playground',
    element,
    show(state) {
      visible = true;
      if (state !== null && state !== loaded && state !== encodePlayground()) {
        const raw = decodeScenario(state);
        const parsed = parsePlaygroundScenario(raw);
        if (parsed.ok) {
          const at = (raw as { at?: unknown }).at;
          store.load(parsed.value, typeof at === 'number' ? at : parsed.value.actions.length);
        } else {
          store.error = `The link is not a playground scenario: ${parsed.error}`;
        }
      }
      loaded = state;
      render();
    },
    hide() {
      visible = false;
    },
    state: encodePlayground,
    key(action) {
      switch (action) {
        case 'back': if (store.timeline.back()) store.changed(); return true;
        case 'forward': if (store.timeline.forward()) store.changed(); return true;
        case 'step': store.act({ t: 'step' }); return true;
        case 'branch': store.timeline.branch(); store.changed(); return true;
      }
    },
  };
  return view;
}
