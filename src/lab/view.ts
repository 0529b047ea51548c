/** What every tab of the lab provides to the shell (main.ts). */
export interface View {
  readonly id: string;
  readonly title: string;
  readonly element: HTMLElement;
  /** Called when the tab is shown or its URL changes; `state` is the encoded session from the link, if any. */
  show(state: string | null): void;
  hide?(): void;
  /** The session encoded for the link, or null if the view has none. */
  state(): string | null;
  /** Keyboard: back, forward, step and branch. Return true if handled. */
  key?(action: KeyAction): boolean;
}

export type KeyAction = 'back' | 'forward' | 'step' | 'branch';

type Listener = () => void;
const listeners = new Set<Listener>();

/** Views call this after every change so the address bar holds a link to what is shown. */
export function stateChanged(): void {
  for (const listener of listeners) listener();
}

export function onStateChanged(listener: Listener): void {
  listeners.add(listener);
}
