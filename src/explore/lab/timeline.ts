/**
 * Time travel over a deterministic session. A session is its starting point and
 * the list of actions taken; the state at step k is obtained by replaying the
 * first k actions from the start, so stepping back and forward never needs an
 * undo for any action. Acting while looking at the past branches: the actions
 * after the cursor are dropped and the new one is appended.
 */
export class Timeline<A> {
  private all: A[];
  private at: number;

  constructor(actions: readonly A[] = [], cursor = actions.length) {
    this.all = [...actions];
    this.at = Math.max(0, Math.min(cursor, this.all.length));
  }

  /** How many actions are applied in the state being shown. */
  get cursor(): number {
    return this.at;
  }

  get length(): number {
    return this.all.length;
  }

  /** Every recorded action, including those after the cursor. */
  get actions(): readonly A[] {
    return this.all;
  }

  /** The actions that make up the state being shown. */
  get applied(): readonly A[] {
    return this.all.slice(0, this.at);
  }

  get canBack(): boolean {
    return this.at > 0;
  }

  get canForward(): boolean {
    return this.at < this.all.length;
  }

  back(): boolean {
    if (!this.canBack) return false;
    this.at -= 1;
    return true;
  }

  forward(): boolean {
    if (!this.canForward) return false;
    this.at += 1;
    return true;
  }

  jump(cursor: number): void {
    this.at = Math.max(0, Math.min(Math.trunc(cursor), this.all.length));
  }

  /** Appends `action` at the cursor; returns true if that cut off a future (a branch). */
  push(action: A): boolean {
    const branched = this.at < this.all.length;
    this.all = [...this.all.slice(0, this.at), action];
    this.at = this.all.length;
    return branched;
  }

  /** Forgets everything after the cursor. */
  branch(): void {
    this.all = this.all.slice(0, this.at);
  }
}
