/** A few lines of DOM building instead of a framework. */

export type Child = Node | string | number | null | undefined | false | readonly Child[];

export interface Props {
  readonly class?: string;
  readonly id?: string;
  readonly title?: string;
  readonly type?: string;
  readonly value?: string;
  readonly disabled?: boolean;
  readonly checked?: boolean;
  readonly dataset?: Readonly<Record<string, string>>;
  readonly attrs?: Readonly<Record<string, string>>;
  readonly onclick?: (event: MouseEvent) => void;
  readonly onchange?: (event: Event) => void;
  readonly oninput?: (event: Event) => void;
}

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class !== undefined) el.className = props.class;
  if (props.id !== undefined) el.id = props.id;
  if (props.title !== undefined) el.title = props.title;
  if (props.type !== undefined) el.setAttribute('type', props.type);
  if (props.value !== undefined) (el as HTMLInputElement).value = props.value;
  if (props.disabled !== undefined) (el as HTMLButtonElement).disabled = props.disabled;
  if (props.checked !== undefined) (el as HTMLInputElement).checked = props.checked;
  for (const [k, v] of Object.entries(props.dataset ?? {})) el.dataset[k] = v;
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v);
  const onclick = props.onclick;
  if (onclick !== undefined) el.addEventListener('click', (event) => onclick(event as MouseEvent));
  if (props.onchange !== undefined) el.addEventListener('change', props.onchange);
  if (props.oninput !== undefined) el.addEventListener('input', props.oninput);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Readonly<Record<string, string | number>> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

/** Replaces all children of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function button(label: Child, onclick: () => void, props: Omit<Props, 'onclick'> = {}): HTMLButtonElement {
  return h('button', { type: 'button', ...props, onclick: () => onclick() }, label);
}

export function select<T extends string | number>(
  options: readonly (readonly [T, string])[],
  current: T,
  onchange: (value: T) => void,
  props: Omit<Props, 'onchange'> = {},
): HTMLSelectElement {
  const el = h('select', props, ...options.map(([value, label]) => h('option', { value: String(value) }, label)));
  el.value = String(current);
  el.addEventListener('change', () => {
    const found = options.find(([value]) => String(value) === el.value);
    if (found !== undefined) onchange(found[0]);
  });
  return el;
}

/** Offers `text` as a file download. */
export function download(fileName: string, text: string, type = 'text/plain'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { attrs: { href: url, download: fileName } });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
