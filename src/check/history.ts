/**
 * The history format shared by everything that records client operations against
 * the key-value service: the simulator produces it from virtual time and the chaos
 * tester from wall-clock time. The linearizability checker consumes it.
 *
 * A history is the client's view only: when each operation was invoked, when (if
 * ever) it returned, and what it returned. Nothing here says when an operation
 * took effect inside the cluster; finding such points is the checker's job.
 */

export type KvInput =
  | { kind: 'get'; key: string }
  | { kind: 'put'; key: string; value: string }
  /** `expected: null` means "only if the key is absent". */
  | { kind: 'cas'; key: string; expected: string | null; value: string };

export type KvOutput =
  | { kind: 'get'; value: string | null }
  | { kind: 'put' }
  | { kind: 'cas'; ok: boolean };

export interface Operation {
  /** Unique within the history. */
  id: number;
  /** The process that issued it; a client has at most one operation outstanding. */
  client: string;
  input: KvInput;
  /** Invocation time (virtual or real), inclusive. */
  call: number;
  /**
   * Return time. Absent or `Infinity` means the operation never completed (a
   * timeout or a crash): it may or may not have taken effect, at any point after
   * `call`. These are Knossos' and Porcupine's "info" operations.
   */
  return?: number;
  /** Absent exactly when the operation is incomplete. */
  output?: KvOutput;
}

/** An operation whose return was observed, so its output is known. */
export type CompletedOperation = Operation & { return: number; output: KvOutput };

export function isComplete(operation: Operation): operation is CompletedOperation {
  return operation.return !== undefined && operation.return !== Infinity && operation.output !== undefined;
}

/** The return time with "never returned" as `Infinity`, which orders after every call. */
export function returnTime(operation: Operation): number {
  return operation.return ?? Infinity;
}

/**
 * Real-time order: `a` precedes `b` when `a` returned strictly before `b` was
 * invoked. Operations whose intervals touch (`a.return === b.call`) are
 * concurrent, since equal timestamps cannot say which came first.
 */
export function precedes(a: Operation, b: Operation): boolean {
  return returnTime(a) < b.call;
}
