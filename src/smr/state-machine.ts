/**
 * The port every replicated state machine implements. Replicas apply the same
 * commands in the same order, so `apply` must be deterministic: no clock, no
 * randomness, no I/O, no iteration over anything whose order can differ.
 */
import type { Slot } from '../core/ids.js';

export interface StateMachine<Command, Output> {
  /** Applies one decided command; `slot` is where the log ordered it. */
  apply(command: Command, slot: Slot): Output;
  /** The whole state as bytes, enough for `restore` on another replica. */
  snapshot(): Uint8Array;
  /**
   * Optional: the bytes `snapshot()` would return now, made over several turns
   * (awaiting `yieldTurn` between pieces) so a large state does not stall the
   * node. It must capture the state before it returns; commands applied while
   * it runs must not show in the result.
   */
  snapshotInSlices?(yieldTurn: () => Promise<void>): Promise<Uint8Array>;
  /** Replaces the whole state with one produced by `snapshot`. */
  restore(snapshot: Uint8Array): void;
}
