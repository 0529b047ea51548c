/** The time-travel controls shared by the views: back, forward, position, branch. */
import type { Timeline } from '../explore/lab/timeline.js';
import { button, fill, h } from './dom.js';

export interface TimelineBar {
  readonly element: HTMLElement;
  render(): void;
}

export function timelineBar<A>(timeline: () => Timeline<A>, changed: () => void, describe: (action: A) => string): TimelineBar {
  const element = h('div', { class: 'timeline', attrs: { role: 'group', 'aria-label': 'Time travel' } });
  const render = (): void => {
    const t = timeline();
    const last = t.cursor > 0 ? describe(t.actions[t.cursor - 1] as A) : 'the start';
    const slider = h('input', {
      type: 'range',
      class: 'scrub',
      title: 'Scrub through the session',
      attrs: { min: '0', max: String(t.length), value: String(t.cursor), 'aria-label': 'Position in time' },
    });
    slider.addEventListener('input', () => {
      t.jump(Number(slider.value));
      changed();
    });
    fill(
      element,
      button('⟨ back', () => { if (t.back()) changed(); }, { disabled: !t.canBack, title: 'Step back (←)', class: 'tl-back' }),
      slider,
      button('forward ⟩', () => { if (t.forward()) changed(); }, { disabled: !t.canForward, title: 'Step forward (→)', class: 'tl-forward' }),
      h('span', { class: 'tl-pos' }, `${t.cursor} / ${t.length}`),
      button('branch here', () => { t.branch(); changed(); }, { disabled: !t.canForward, title: 'Forget the steps after this point (b)', class: 'tl-branch' }),
      h('span', { class: 'tl-last muted' }, t.canForward ? `viewing the past: after ${last}` : `last: ${last}`),
    );
  };
  return { element, render };
}
