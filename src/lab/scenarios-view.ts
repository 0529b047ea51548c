/**
 * View 3: time travel and sharing for the playground session. The whole
 * session is (seed, list of actions); any point of it is a replay of a prefix,
 * a branch is a truncation, and a link or an exported test carries it exactly.
 */
import { decodeScenario } from '../explore/lab/codec.js';
import { describeAction, parsePlaygroundScenario } from '../explore/lab/playground-scenario.js';
import { button, fill, h } from './dom.js';
import { encodePlayground, exportCurrentTest } from './playground-view.js';
import { playgroundStore as store } from './playground-store.js';
import { stateChanged, type View } from './view.js';

export function createScenariosView(): View {
  const element = h('section', { class: 'view scenarios-view' });
  const summary = h('div', { class: 'panel' });
  const list = h('div', { class: 'panel' });
  const share = h('div', { class: 'panel' });
  fill(element,
    h('p', { class: 'intro' },
      'A session is its seed plus the list of actions you took. Every state is a replay of a prefix of that list from the start, so stepping back costs nothing ',
      'and is exact. Jump to any step, branch from it (the steps after it are forgotten once you act), share the session as a link, or export it as a test.'),
    h('div', { class: 'columns' }, h('div', {}, summary, share), list));

  function playgroundLink(): string {
    return `${location.origin}${location.pathname}#/playground?s=${encodePlayground()}`;
  }

  function render(): void {
    const t = store.timeline;
    const pg = store.current();
    const safety = pg.safety();
    fill(summary,
      h('h3', {}, 'Playground session'),
      h('p', {}, `seed ${store.config.seed} · ${store.config.replicas} replicas · ${store.config.bug === null ? 'real protocol' : `planted bug ${store.config.bug}`}`),
      h('p', {}, `Showing step ${t.cursor} of ${t.length}. Safety here: `, h('strong', { class: safety.ok ? 'good-text' : 'bad' }, safety.ok ? 'all checks pass' : 'a check fails')),
      h('div', { class: 'toolbar' },
        button('⟨ back', () => { if (t.back()) store.changed(); }, { disabled: !t.canBack }),
        button('forward ⟩', () => { if (t.forward()) store.changed(); }, { disabled: !t.canForward }),
        button('branch here', () => { t.branch(); store.changed(); }, { disabled: !t.canForward }),
        button('open in playground', () => { location.hash = `#/playground?s=${encodePlayground()}`; })));
    const link = h('textarea', { class: 'share-link', attrs: { rows: '4', readonly: 'true', 'aria-label': 'Link to this session' } });
    link.value = playgroundLink();
    const paste = h('input', { class: 'paste-link', attrs: { placeholder: 'paste a lab link here', 'aria-label': 'Open a link' } });
    fill(share,
      h('h3', {}, 'Share'),
      link,
      h('div', { class: 'toolbar' },
        button('copy link', () => { void navigator.clipboard?.writeText(link.value); }),
        button('export as test', exportCurrentTest, { class: 'export-test' })),
      h('p', { class: 'muted small-text' }, 'The exported file replays this session with node:test and asserts agreement and linearizability; save it under test/lab/.'),
      h('div', { class: 'toolbar' }, paste, button('open', () => {
        const encoded = /[?&]s=([A-Za-z0-9_-]+)/.exec(paste.value)?.[1] ?? paste.value.trim();
        const raw = decodeScenario(encoded);
        const parsed = parsePlaygroundScenario(raw);
        if (!parsed.ok) { store.error = parsed.error; store.changed(); return; }
        const at = (raw as { at?: unknown }).at;
        store.load(parsed.value, typeof at === 'number' ? at : undefined);
      })),
      store.error === null ? null : h('p', { class: 'bad' }, store.error));
    fill(list,
      h('h3', {}, `Actions (${t.length})`),
      h('ol', { class: 'action-list', attrs: { start: '0' } },
        h('li', { class: t.cursor === 0 ? 'current' : '' }, button('the start', () => { t.jump(0); store.changed(); }, { class: 'link-button' })),
        t.actions.map((action, i) => h('li', { class: i + 1 === t.cursor ? 'current' : i + 1 > t.cursor ? 'future' : '', dataset: { step: String(i + 1) } },
          button(describeAction(action), () => { t.jump(i + 1); store.changed(); }, { class: 'link-button' })))));
  }

  let visible = false;
  store.subscribe(() => {
    if (!visible) return;
    render();
    stateChanged();
  });

  return {
    id: 'scenarios',
    title: 'Time travel & sharing',
    element,
    show() {
      visible = true;
      render();
    },
    hide() {
      visible = false;
    },
    state: () => null,
    key(action) {
      const t = store.timeline;
      switch (action) {
        case 'back': if (t.back()) store.changed(); return true;
        case 'forward': if (t.forward()) store.changed(); return true;
        case 'branch': t.branch(); store.changed(); return true;
        default: return false;
      }
    },
  };
}
