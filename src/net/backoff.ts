/**
 * Reconnect delays: exponential from minMs, capped at maxMs, with "equal
 * jitter" (a random point in the upper half of the current step), so nodes that
 * lost a peer at the same moment do not redial in lockstep, and no delay is
 * ever below minMs or above maxMs.
 */
import { assert } from '../core/assert.js';

export interface BackoffPolicy {
  readonly minMs: number;
  readonly maxMs: number;
}

export class Backoff {
  private attempt = 0;

  constructor(
    readonly policy: BackoffPolicy,
    private readonly random: () => number,
  ) {
    assert(policy.minMs > 0 && policy.maxMs >= policy.minMs, () => `bad backoff policy ${JSON.stringify(policy)}`);
  }

  /** The delay before the next attempt; each call doubles the step until maxMs. */
  next(): number {
    const step = Math.min(this.policy.maxMs, this.policy.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const jittered = step / 2 + this.random() * (step / 2);
    return Math.round(Math.min(this.policy.maxMs, Math.max(this.policy.minMs, jittered)));
  }

  reset(): void {
    this.attempt = 0;
  }
}
