/**
 * The lock workload and its check.
 *
 * Workers contend for one etcd lock (v3lockpb.Lock) with leases of their own.
 * A holder's fencing token is its lock key's create revision (read right after
 * Lock returns). The holder keeps the lock briefly, then releases it with a
 * Txn "if the key's create revision is still my token, delete it": a success
 * proves the key existed without a break from its creation to that moment
 * (no one else ever creates a key under this worker's lease), so the lock was
 * held throughout [acquired, release invoked]. A failure means the lease ran
 * out first and the hold's end is unknown.
 *
 * The check (checkLockHolders): tokens are unique, and for holders a < b in
 * token order where a provably held the lock until its release, b cannot have
 * acquired before a began releasing. The lock service orders waiters by key
 * creation, so b's turn comes only after a's key is gone, which is no earlier
 * than a's release (a's key survived until then).
 */
import * as grpc from '@grpc/grpc-js';
import type { Random } from '../core/random.js';
import { bytes, CallFailure, getValue, type ClientPool } from './client.js';
import { sleep } from './wait.js';

export interface LockHold {
  readonly client: string;
  readonly token: number;
  readonly key: string;
  /** When Lock returned: the lock was held from at latest this moment. */
  readonly acquiredMs: number;
  readonly releaseCalledMs: number;
  readonly releaseReturnedMs: number | null;
  /** 'held': the release proved the key was still ours; 'lost': it was gone; 'unknown': the release failed. */
  readonly release: 'held' | 'lost' | 'unknown';
}

export type LockAnomaly = { kind: 'duplicate-token'; token: number; holders: [string, string] } | { kind: 'overlap'; first: LockHold; second: LockHold };

export function describeLockAnomaly(anomaly: LockAnomaly): string {
  switch (anomaly.kind) {
    case 'duplicate-token':
      return `token ${anomaly.token} was handed to both ${anomaly.holders[0]} and ${anomaly.holders[1]}`;
    case 'overlap': {
      const { first: a, second: b } = anomaly;
      return (
        `${b.client} acquired the lock with token ${b.token} at ${b.acquiredMs.toFixed(1)} ms, while ${a.client} ` +
        `(token ${a.token}, acquired ${a.acquiredMs.toFixed(1)} ms) still held it until it released at ${a.releaseCalledMs.toFixed(1)} ms`
      );
    }
    default: {
      const never: never = anomaly;
      return String(never);
    }
  }
}

export function checkLockHolders(holds: readonly LockHold[]): LockAnomaly[] {
  const anomalies: LockAnomaly[] = [];
  const sorted = [...holds].sort((a, b) => a.token - b.token || a.acquiredMs - b.acquiredMs);
  for (let i = 1; i < sorted.length; i += 1) {
    const previous = sorted[i - 1] as LockHold;
    const next = sorted[i] as LockHold;
    if (previous.token === next.token) anomalies.push({ kind: 'duplicate-token', token: next.token, holders: [previous.client, next.client] });
  }
  // O(n^2) over holds, which are few (each takes several round trips).
  for (const [i, a] of sorted.entries()) {
    if (a.release !== 'held') continue;
    for (const b of sorted.slice(i + 1)) {
      if (b.token > a.token && b.acquiredMs < a.releaseCalledMs) anomalies.push({ kind: 'overlap', first: a, second: b });
    }
  }
  return anomalies;
}

export interface LockWorkloadOptions {
  readonly lockName: string;
  readonly leaseTtlSeconds: number;
  readonly lockTimeoutMs: number;
  readonly opTimeoutMs: number;
  readonly holdMsMax: number;
}

export const DEFAULT_LOCK_WORKLOAD: LockWorkloadOptions = Object.freeze({
  lockName: 'chaos/lock',
  // Short, so a key left behind by a failed attempt blocks the others only briefly.
  leaseTtlSeconds: 3,
  lockTimeoutMs: 6_000,
  opTimeoutMs: 3_000,
  holdMsMax: 50,
});

export interface LockCounts {
  attempts: number;
  acquired: number;
  /** Lock calls that failed or timed out. */
  failed: number;
  /** Holds whose release found the key already gone (the lease ran out first). */
  lost: number;
}

export type LockProbe = { available: true } | { available: false; reason: string };

/** Whether the node serves v3lock at all: Synod may answer UNIMPLEMENTED. */
export async function probeLockService(pool: ClientPool, node: string, timeoutMs: number): Promise<LockProbe> {
  try {
    await pool.get(node).call('Lock', 'Unlock', { key: bytes('chaos/lock-probe/none') }, timeoutMs);
    return { available: true };
  } catch (error) {
    if (error instanceof CallFailure && error.code === grpc.status.UNIMPLEMENTED) {
      return { available: false, reason: `the Lock service answered UNIMPLEMENTED (${error.details})` };
    }
    // Any other answer means the service is there (the probe key does not exist).
    return { available: true };
  }
}

export class LockWorker {
  private generation = 0;
  readonly holds: LockHold[] = [];
  readonly counts: LockCounts = { attempts: 0, acquired: 0, failed: 0, lost: 0 };

  constructor(
    readonly index: number,
    private readonly pool: ClientPool,
    private readonly nodes: readonly string[],
    private readonly clock: () => number,
    private readonly signal: AbortSignal,
    private readonly random: Random,
    private readonly options: LockWorkloadOptions,
  ) {}

  async run(): Promise<void> {
    let nodeIndex = this.index % this.nodes.length;
    // Bounded by the signal; each attempt is bounded by its calls' deadlines.
    while (!this.signal.aborted) {
      const node = this.nodes[nodeIndex] as string;
      const ok = await this.attempt(node);
      if (!ok) {
        nodeIndex = (nodeIndex + 1) % this.nodes.length;
        this.generation += 1;
        await sleep(200 + this.random.intBetween(0, 300), this.signal);
      }
      await sleep(this.random.intBetween(0, 30), this.signal);
    }
  }

  private get clientId(): string {
    return `l${this.index}.${this.generation}`;
  }

  /** One grant-lock-hold-release-revoke cycle; false if a step failed. */
  private async attempt(node: string): Promise<boolean> {
    const client = this.pool.get(node);
    const { opTimeoutMs } = this.options;
    this.counts.attempts += 1;
    let lease: string;
    try {
      const granted = await client.call<{ ID: string }>('Lease', 'LeaseGrant', { TTL: this.options.leaseTtlSeconds, ID: 0 }, opTimeoutMs);
      lease = granted.ID;
    } catch {
      this.counts.failed += 1;
      return false;
    }
    const revoke = (): void => {
      client.call('Lease', 'LeaseRevoke', { ID: lease }, opTimeoutMs).catch(() => undefined);
    };
    let key: string;
    try {
      const locked = await client.call<{ key: Buffer }>('Lock', 'Lock', { name: bytes(this.options.lockName), lease }, this.options.lockTimeoutMs);
      key = locked.key.toString('utf8');
    } catch {
      this.counts.failed += 1;
      revoke();
      return false;
    }
    const acquiredMs = this.clock();
    this.counts.acquired += 1;
    // The fencing token: the key's create revision, read after Lock returned.
    const token = await getValue(client, key, opTimeoutMs).then(
      (read) => read.createRevision,
      () => null,
    );
    await sleep(this.random.intBetween(0, this.options.holdMsMax));
    const releaseCalledMs = this.clock();
    let release: LockHold['release'] = 'unknown';
    let releaseReturnedMs: number | null = null;
    if (token !== null) {
      try {
        const response = await client.call<{ succeeded: boolean }>(
          'KV',
          'Txn',
          {
            compare: [{ result: 'EQUAL', target: 'CREATE', key: bytes(key), create_revision: String(token) }],
            success: [{ request_delete_range: { key: bytes(key) } }],
            failure: [],
          },
          opTimeoutMs,
        );
        release = response.succeeded ? 'held' : 'lost';
        releaseReturnedMs = this.clock();
      } catch {
        release = 'unknown';
      }
      this.holds.push({ client: this.clientId, token, key, acquiredMs, releaseCalledMs, releaseReturnedMs, release });
      if (release === 'lost') this.counts.lost += 1;
    }
    revoke();
    return release === 'held';
  }
}
