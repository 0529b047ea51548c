/**
 * The key-value workloads: each worker is one logical client process issuing
 * one operation at a time through the etcd gRPC API and recording it.
 *
 * - register: get or put on a few keys, every written value unique;
 * - cas: get or compare-and-set (an etcd Txn: value == expected -> put),
 *   expecting the value this worker last saw, so many of them succeed.
 *
 * Keys are grouped in epochs (Jepsen's "independent" keys): every `epochMs`
 * the workers move on to fresh keys, which bounds the number of operations
 * per key and so the linearizability search, however long the run.
 *
 * Failures: a read that fails is dropped (it had no effect). A write that
 * certainly was not sent or was refused is dropped too. Any other failure of a
 * write leaves it incomplete, and the worker continues as a NEW client, since
 * a client with an operation that never returned can issue nothing more in
 * the history model (src/check/validate.ts).
 */
import type { Random } from '../core/random.js';
import { CallFailure, compareAndSet, getValue, putValue, type ClientPool } from './client.js';
import type { HistoryRecorder } from './recorder.js';
import { sleep } from './wait.js';

export type WorkloadKind = 'register' | 'cas';

export interface WorkloadOptions {
  readonly keysPerEpoch: number;
  readonly epochMs: number;
  readonly opTimeoutMs: number;
  /** Pause between operations, drawn from [0, thinkMsMax]. */
  readonly thinkMsMax: number;
  /** Pause after a failure before the next try, drawn from [min, 2 * min]. */
  readonly backoffMs: number;
  /**
   * Serve the workers' reads from the local replica (etcd's serializable
   * reads), which may be stale: NOT linearizable, so a run with it must find
   * anomalies. It exists to show the checker catching them.
   */
  readonly serializableReads: boolean;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = Object.freeze({
  keysPerEpoch: 3,
  epochMs: 15_000,
  opTimeoutMs: 3_000,
  thinkMsMax: 20,
  backoffMs: 100,
  serializableReads: false,
});

export interface OpCounts {
  ok: number;
  /** Certainly without effect: failed reads, writes never sent or refused. */
  failed: number;
  /** Writes that may or may not have taken effect. */
  incomplete: number;
}

export function emptyCounts(): OpCounts {
  return { ok: 0, failed: 0, incomplete: 0 };
}

export interface WorkerContext {
  readonly pool: ClientPool;
  /** Node names; a worker starts on one and moves to the next after a failure. */
  readonly nodes: readonly string[];
  readonly recorder: HistoryRecorder;
  /** Milliseconds since the run began. */
  readonly clock: () => number;
  readonly signal: AbortSignal;
}

export class KvWorker {
  private generation = 0;
  private sequence = 0;
  private nodeIndex: number;
  /** What this client last saw in each key (for the cas workload's expected value). */
  private readonly lastSeen = new Map<string, string | null>();
  readonly counts = emptyCounts();
  /** Failure messages by text, counted, for the summary. */
  readonly failures = new Map<string, number>();

  constructor(
    readonly index: number,
    readonly kind: WorkloadKind,
    private readonly context: WorkerContext,
    private readonly random: Random,
    private readonly options: WorkloadOptions,
  ) {
    this.nodeIndex = index % context.nodes.length;
  }

  private get clientId(): string {
    return `${this.kind === 'register' ? 'r' : 'c'}${this.index}.${this.generation}`;
  }

  async run(): Promise<void> {
    const { signal } = this.context;
    // Bounded by the signal: the run aborts it at the end of the workload phase.
    while (!signal.aborted) {
      await this.step();
      await sleep(this.random.intBetween(0, this.options.thinkMsMax), signal);
    }
  }

  private key(): string {
    const epoch = Math.floor(this.context.clock() / this.options.epochMs);
    return `${this.kind}/${epoch}/${this.random.intBetween(0, this.options.keysPerEpoch - 1)}`;
  }

  private async step(): Promise<void> {
    const key = this.key();
    const node = this.context.nodes[this.nodeIndex] as string;
    const client = this.context.pool.get(node);
    const { recorder } = this.context;
    const timeout = this.options.opTimeoutMs;
    if (this.random.chance(0.4)) {
      const pending = recorder.invoke(this.clientId, { kind: 'get', key });
      try {
        const { value } = await getValue(client, key, timeout, this.options.serializableReads);
        recorder.complete(pending, { kind: 'get', value });
        this.lastSeen.set(key, value);
        this.counts.ok += 1;
      } catch (error) {
        recorder.discard(pending);
        this.counts.failed += 1;
        await this.failed(error, false);
      }
      return;
    }
    this.sequence += 1;
    const value = `${this.clientId}#${this.sequence}`;
    if (this.kind === 'register') {
      const pending = recorder.invoke(this.clientId, { kind: 'put', key, value });
      try {
        await putValue(client, key, value, timeout);
        recorder.complete(pending, { kind: 'put' });
        this.counts.ok += 1;
      } catch (error) {
        await this.writeFailed(pending, error);
      }
      return;
    }
    const expected = this.lastSeen.get(key) ?? null;
    const pending = recorder.invoke(this.clientId, { kind: 'cas', key, expected, value });
    try {
      const ok = await compareAndSet(client, key, expected, value, timeout);
      recorder.complete(pending, { kind: 'cas', ok });
      if (ok) this.lastSeen.set(key, value);
      else this.lastSeen.delete(key);
      this.counts.ok += 1;
    } catch (error) {
      await this.writeFailed(pending, error);
    }
  }

  private async writeFailed(pending: ReturnType<HistoryRecorder['invoke']>, error: unknown): Promise<void> {
    const { recorder } = this.context;
    if (error instanceof CallFailure && error.kind !== 'indeterminate') {
      recorder.discard(pending);
      this.counts.failed += 1;
      await this.failed(error, false);
      return;
    }
    recorder.abandon(pending);
    this.counts.incomplete += 1;
    await this.failed(error, true);
  }

  private async failed(error: unknown, indeterminate: boolean): Promise<void> {
    if (!(error instanceof CallFailure)) throw error;
    const text = error.message.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR').replace(/\d+(\.\d+)?s\b/g, 'Ns').slice(0, 120);
    this.failures.set(text, (this.failures.get(text) ?? 0) + 1);
    if (indeterminate) this.generation += 1;
    // Another node may be reachable; this one may be down, paused or cut off.
    this.nodeIndex = (this.nodeIndex + 1) % this.context.nodes.length;
    await sleep(this.options.backoffMs + this.random.intBetween(0, this.options.backoffMs), this.context.signal);
  }
}
