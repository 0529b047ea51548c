/**
 * Group commit, shared by the file log and its in-memory twin. Operations run
 * one at a time in call order. While one batch is being written and synced,
 * later appends wait in the queue; when the sync returns, all waiting appends
 * (up to `batchBytesMax`) go out as one write and one sync. Under load the
 * cost of a sync is shared by every append that arrived during the previous
 * one, which is where a log's throughput comes from.
 *
 * The first batch starts on a microtask, so appends issued in the same
 * synchronous run (one `Ready` of several replicas, a burst of client commands)
 * share it too.
 */
import { assert } from '../core/assert.js';
import { LogFailedError, LogOverloadedError, RecordTooLargeError, StorageClosedError } from './errors.js';
import type { WalLimits } from './ports.js';
import { recordBytes } from './segment.js';

/** Where the queue sends its batches: the file log or the in-memory disk. */
export interface CommitTarget {
  /** Writes the payloads after the log's records and resolves once they are durable. */
  appendDurably(payloads: readonly Uint8Array[]): Promise<void>;
  /** Atomically replaces the log by exactly these payloads, durably. */
  rewriteDurably(payloads: readonly Uint8Array[]): Promise<void>;
}

interface Operation {
  readonly kind: 'append' | 'rewrite';
  readonly payloads: readonly Uint8Array[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

type QueueState =
  | { readonly phase: 'open' }
  | { readonly phase: 'closing' }
  | { readonly phase: 'failed'; readonly error: Error };

export interface CommitCounters {
  appends: number;
  records: number;
  batches: number;
  rewrites: number;
}

export class CommitQueue {
  private readonly queue: Operation[] = [];
  private queuedBytes = 0;
  private draining = false;
  private state: QueueState = { phase: 'open' };
  private idleWaiters: (() => void)[] = [];
  readonly counters: CommitCounters = { appends: 0, records: 0, batches: 0, rewrites: 0 };

  constructor(
    private readonly target: CommitTarget,
    private readonly limits: WalLimits,
    /** Names the log in errors. */
    private readonly what: string,
  ) {}

  append(payloads: readonly Uint8Array[]): Promise<void> {
    return this.enqueue('append', payloads);
  }

  rewrite(payloads: readonly Uint8Array[]): Promise<void> {
    return this.enqueue('rewrite', payloads);
  }

  bytesQueued(): number {
    return this.queuedBytes;
  }

  /** A write or sync failed (or the twin crashed): what is on disk is unknown, so nothing more may be written. */
  failed(): boolean {
    return this.state.phase === 'failed';
  }

  /** Refuses new operations, waits for the queued ones, and resolves when the queue is idle. */
  async close(): Promise<void> {
    if (this.state.phase === 'open') this.state = { phase: 'closing' };
    await this.idle();
  }

  /** Fails every queued and future operation with `error` (a crash of the twin, a failed sync). */
  fail(error: Error): void {
    if (this.state.phase !== 'failed') this.state = { phase: 'failed', error };
    const dropped = this.queue.splice(0);
    this.queuedBytes = 0;
    for (const operation of dropped) operation.reject(error);
  }

  private idle(): Promise<void> {
    if (!this.draining && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private enqueue(kind: Operation['kind'], payloads: readonly Uint8Array[]): Promise<void> {
    switch (this.state.phase) {
      case 'open':
        break;
      case 'closing':
        return Promise.reject(new StorageClosedError(this.what));
      case 'failed':
        return Promise.reject(this.state.error);
    }
    let bytes = 0;
    for (const payload of payloads) {
      if (payload.length > this.limits.recordBytesMax) {
        return Promise.reject(new RecordTooLargeError(payload.length, this.limits.recordBytesMax));
      }
      bytes += recordBytes(payload.length);
    }
    // An operation larger than the whole bound is still taken when nothing else waits, or it could never run.
    if (this.queue.length > 0 && this.queuedBytes + bytes > this.limits.queuedBytesMax) {
      return Promise.reject(new LogOverloadedError(this.queuedBytes + bytes, this.limits.queuedBytesMax));
    }
    return new Promise<void>((resolve, reject) => {
      // The caller may reuse its array; the payload bytes themselves must stay untouched until this resolves.
      this.queue.push({ kind, payloads: [...payloads], bytes, resolve, reject });
      this.queuedBytes += bytes;
      if (!this.draining) {
        this.draining = true;
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      // Each pass takes at least one operation off the queue, so the loop ends once the queue is empty.
      while (this.queue.length > 0 && this.state.phase !== 'failed') {
        const batch = this.takeBatch();
        const first = batch[0];
        assert(first !== undefined, 'a batch holds at least one operation');
        try {
          if (first.kind === 'rewrite') {
            await this.target.rewriteDurably(first.payloads);
            this.counters.rewrites += 1;
          } else {
            const payloads = batch.flatMap((operation) => operation.payloads);
            if (payloads.length > 0) await this.target.appendDurably(payloads);
            this.counters.appends += batch.length;
            this.counters.records += payloads.length;
            this.counters.batches += 1;
          }
        } catch (cause) {
          const error = cause instanceof StorageClosedError || cause instanceof LogFailedError ? cause : new LogFailedError(cause);
          for (const operation of batch) operation.reject(error);
          this.fail(error);
          break;
        }
        for (const operation of batch) operation.resolve();
      }
    } finally {
      this.draining = false;
      const waiters = this.idleWaiters.splice(0);
      for (const wake of waiters) wake();
    }
  }

  /** A rewrite alone, or the longest run of appends at the head of the queue that fits in `batchBytesMax`. */
  private takeBatch(): Operation[] {
    const head = this.queue.shift();
    assert(head !== undefined, 'takeBatch on an empty queue');
    this.queuedBytes -= head.bytes;
    const batch = [head];
    if (head.kind === 'rewrite') return batch;
    let bytes = head.bytes;
    for (let next = this.queue[0]; next !== undefined && next.kind === 'append'; next = this.queue[0]) {
      if (bytes + next.bytes > this.limits.batchBytesMax) break;
      this.queue.shift();
      this.queuedBytes -= next.bytes;
      bytes += next.bytes;
      batch.push(next);
    }
    return batch;
  }
}
