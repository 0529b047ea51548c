/**
 * Exactly-once client sessions (the "client table" of state machine replication).
 *
 * A client numbers its commands 1, 2, 3, ... and has at most one outstanding at
 * a time. A retried command (after a timeout or a leader change) may be decided
 * twice in the log; the table makes the second application a no-op that returns
 * the first one's output, so every command takes effect once.
 *
 * The table lives inside the replicated state (it is applied in log order and
 * is part of the snapshot), so every replica agrees on which commands ran.
 */
import { assert } from '../core/assert.js';
import type { Slot } from '../core/ids.js';
import { base64ToBytes, bytesJsonReplacer, bytesJsonReviver, bytesToBase64 } from './bytes-json.js';
import type { StateMachine } from './state-machine.js';

export interface SessionCommand<Op> {
  readonly client: string;
  readonly seq: number;
  readonly op: Op;
}

export type SessionOutput<Output> =
  | { readonly kind: 'applied'; readonly output: Output }
  /** The client's session was evicted (too many clients) or the seq is older than its last. */
  | { readonly kind: 'session-expired' };

interface SessionEntry<Output> {
  seq: number;
  output: Output;
  lastSlot: number;
}

interface SnapshotShape {
  inner: string;
  sessions: [string, SessionEntry<unknown>][];
}

export class SessionStateMachine<Op, Output> implements StateMachine<SessionCommand<Op>, SessionOutput<Output>> {
  private sessions = new Map<string, SessionEntry<Output>>();

  constructor(
    private readonly inner: StateMachine<Op, Output>,
    /** Most sessions kept; the least recently used is evicted past it. */
    private readonly sessionsMax = 10_000,
  ) {
    assert(sessionsMax >= 1, 'sessionsMax must be positive');
  }

  apply(command: SessionCommand<Op>, slot: Slot): SessionOutput<Output> {
    const entry = this.sessions.get(command.client);
    if (entry !== undefined) {
      if (command.seq === entry.seq) return { kind: 'applied', output: entry.output };
      if (command.seq < entry.seq) return { kind: 'session-expired' };
    } else if (command.seq > 1 && this.sessions.size >= this.sessionsMax) {
      // Unknown client with history: its session may have been evicted, and the
      // command may be a retry of one that already ran. Refuse rather than risk
      // applying it twice.
      return { kind: 'session-expired' };
    }
    const output = this.inner.apply(command.op, slot);
    // Map order is insertion order: delete and re-insert keeps it least-recently-used first.
    this.sessions.delete(command.client);
    this.sessions.set(command.client, { seq: command.seq, output, lastSlot: slot });
    if (this.sessions.size > this.sessionsMax) {
      const oldest = this.sessions.keys().next().value as string;
      this.sessions.delete(oldest);
    }
    return { kind: 'applied', output };
  }

  /** The last sequence number applied for `client`, 0 if none. */
  lastSeq(client: string): number {
    return this.sessions.get(client)?.seq ?? 0;
  }

  snapshot(): Uint8Array {
    const shape: SnapshotShape = {
      inner: bytesToBase64(this.inner.snapshot()),
      sessions: [...this.sessions] as [string, SessionEntry<unknown>][],
    };
    return new TextEncoder().encode(JSON.stringify(shape, bytesJsonReplacer));
  }

  restore(snapshot: Uint8Array): void {
    const shape = JSON.parse(new TextDecoder().decode(snapshot), bytesJsonReviver) as SnapshotShape;
    const inner = base64ToBytes(shape.inner);
    if (inner === null) throw new Error('session snapshot: the inner state is not base64');
    this.inner.restore(inner);
    this.sessions = new Map(shape.sessions as [string, SessionEntry<Output>][]);
  }
}
