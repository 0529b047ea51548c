/**
 * The lab's shell: tabs, the URL (#/view?s=session) and the keyboard. Each view
 * owns its session; the address bar is rewritten after every change so a copied
 * link reproduces exactly what is on screen.
 */
import './style.css';
import { button, fill } from './dom.js';
import { createFlpView } from './flp-view.js';
import { createLiveView } from './live-view.js';
import { createPaxosView } from './paxos-view.js';
import { createPlaygroundView } from './playground-view.js';
import { createScenariosView } from './scenarios-view.js';
import { createSyncView } from './sync-view.js';
import { onStateChanged, type KeyAction, type View } from './view.js';

const views: View[] = [createPaxosView(), createPlaygroundView(), createScenariosView(), createFlpView(), createSyncView(), createLiveView()];
const tabs = document.getElementById('tabs') as HTMLElement;
const main = document.getElementById('view') as HTMLElement;
let current: View | null = null;

function parseHash(): { id: string; state: string | null } {
  const hash = location.hash.replace(/^#\/?/, '');
  const [id = '', query = ''] = hash.split('?', 2);
  return { id, state: new URLSearchParams(query).get('s') };
}

function hashFor(view: View): string {
  const state = view.state();
  return `#/${view.id}${state === null ? '' : `?s=${state}`}`;
}

function renderTabs(): void {
  fill(
    tabs,
    views.map((view, index) => {
      const tab = button([`${index + 1}`, ' ', view.title], () => { location.hash = hashFor(view); }, {
        class: view === current ? 'tab active' : 'tab',
        dataset: { view: view.id },
        attrs: { 'aria-current': view === current ? 'page' : 'false' },
      });
      return tab;
    }),
  );
}

function route(): void {
  const { id, state } = parseHash();
  const view = views.find((v) => v.id === id) ?? views[0];
  if (view === undefined) return;
  if (view !== current) {
    current?.hide?.();
    current = view;
    fill(main, view.element);
    document.title = `${view.title} · Synod lab`;
    renderTabs();
  }
  view.show(state);
  syncHash();
}

function syncHash(): void {
  if (current === null) return;
  const wanted = hashFor(current);
  if (location.hash !== wanted) history.replaceState(null, '', wanted);
}

onStateChanged(syncHash);
window.addEventListener('hashchange', route);

const KEYS: Readonly<Record<string, KeyAction>> = { ArrowLeft: 'back', ArrowRight: 'forward', ' ': 'step', b: 'branch' };
window.addEventListener('keydown', (event) => {
  const target = event.target as HTMLElement | null;
  if (target !== null && ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName) && (target as HTMLInputElement).type !== 'range') return;
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const digit = Number(event.key);
  if (Number.isInteger(digit) && digit >= 1 && digit <= views.length) {
    const view = views[digit - 1];
    if (view !== undefined) location.hash = hashFor(view);
    event.preventDefault();
    return;
  }
  if (event.key === '?') {
    const help = document.getElementById('help') as HTMLDialogElement;
    if (help.open) help.close();
    else help.showModal();
    return;
  }
  const action = KEYS[event.key];
  if (action !== undefined && current?.key?.(action) === true) event.preventDefault();
});
document.getElementById('help-button')?.addEventListener('click', () => (document.getElementById('help') as HTMLDialogElement).showModal());

route();
