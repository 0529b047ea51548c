/**
 * Records client operations into the history format of src/check/history.ts,
 * on the monotonic clock. The rules the checker relies on are kept here:
 * an operation that might have taken effect but never returned stays in the
 * history without a return (incomplete), and its client never issues another
 * operation (the worker continues under a new client id); an operation that
 * certainly had no effect is removed, as if never issued.
 */
import type { KvInput, KvOutput, Operation } from '../check/history.js';

export interface PendingOperation {
  readonly operation: Operation;
}

export class HistoryRecorder {
  private nextId = 1;
  private readonly operations = new Map<number, Operation>();
  private readonly keys = new Set<string>();

  /** @param clock milliseconds since the run began, monotonic */
  constructor(private readonly clock: () => number) {}

  invoke(client: string, input: KvInput): PendingOperation {
    const operation: Operation = { id: this.nextId, client, input, call: this.now() };
    this.nextId += 1;
    this.operations.set(operation.id, operation);
    this.keys.add(input.key);
    return { operation };
  }

  complete(pending: PendingOperation, output: KvOutput): void {
    const now = this.now();
    pending.operation.return = Math.max(now, pending.operation.call);
    pending.operation.output = output;
  }

  /** The operation certainly had no effect (a failed read, a request never sent): drop it. */
  discard(pending: PendingOperation): void {
    this.operations.delete(pending.operation.id);
  }

  /** Leaves the operation incomplete: it may take effect at any time after its call. */
  abandon(_pending: PendingOperation): void {
    // Nothing to record: an operation without a return is incomplete by definition.
  }

  history(): Operation[] {
    return [...this.operations.values()];
  }

  /** Every key an operation touched, in first-use order. */
  touchedKeys(): string[] {
    return [...this.keys];
  }

  private now(): number {
    // Hundredths of a millisecond: finer than any operation, short in reports.
    return Math.round(this.clock() * 100) / 100;
  }
}
