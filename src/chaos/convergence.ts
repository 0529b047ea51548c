/**
 * After the faults are healed: does the cluster serve again, and do the
 * replicas hold the same state?
 *
 * Recovery (liveness): every node is running, names a leader, and accepts a
 * write through its own client port, within a bound.
 *
 * Convergence (safety): once every node reports the same applied slot, before
 * and after asking each for its state machine's hash (etcd's HashKV), the
 * hashes must be equal. Equal applied slots with different hashes mean the
 * replicas applied different commands to the same prefix of the log.
 */
import type { ChaosCluster } from './cluster.js';
import { type ClientPool, putValue } from './client.js';
import { poll, sleep } from './wait.js';

export interface RecoveryResult {
  readonly recovered: boolean;
  readonly tookMs: number;
  /** What was still wrong at the deadline, when not recovered. */
  readonly problems: string[];
}

export async function awaitRecovery(cluster: ChaosCluster, pool: ClientPool, timeoutMs: number): Promise<RecoveryResult> {
  const start = performance.now();
  let problems: string[] = [];
  const done = await poll(
    async () => {
      problems = [];
      for (const name of cluster.names) {
        if (!cluster.isRunning(name)) {
          problems.push(`${name} is not running`);
          continue;
        }
        const status = await cluster.status(name);
        if (status === null) problems.push(`${name} does not answer /status`);
        else if (status.leader === null) problems.push(`${name} knows no leader`);
      }
      if (problems.length > 0) return undefined;
      const writes = await Promise.all(
        cluster.names.map((name) =>
          putValue(pool.get(name), `chaos/health/${name}`, String(Date.now()), 3_000).then(
            () => null,
            (error: unknown) => `${name} refuses a write: ${error instanceof Error ? error.message : String(error)}`,
          ),
        ),
      );
      problems = writes.filter((w): w is string => w !== null);
      return problems.length === 0 ? true : undefined;
    },
    timeoutMs,
    250,
  );
  return { recovered: done === true, tookMs: performance.now() - start, problems };
}

export type ConvergenceResult =
  | { kind: 'converged'; appliedThrough: number; hash: number }
  | { kind: 'diverged'; appliedThrough: number; hashes: Record<string, number> }
  | { kind: 'unsettled'; reason: string };

export async function checkConvergence(cluster: ChaosCluster, pool: ClientPool, timeoutMs: number): Promise<ConvergenceResult> {
  const deadline = performance.now() + timeoutMs;
  let reason = 'no attempt finished';
  // Bounded by the deadline; each attempt is bounded by its calls' timeouts.
  while (performance.now() < deadline) {
    const before = await appliedSlots(cluster);
    const same = sameValue(before);
    if (same === null) {
      reason = `applied slots differ: ${JSON.stringify(before)}`;
      await sleep(250);
      continue;
    }
    let hashes: Record<string, number>;
    try {
      const answers = await Promise.all(
        cluster.names.map(async (name) => [name, (await pool.get(name).call<{ hash: number }>('Maintenance', 'HashKV', { revision: 0 }, 3_000)).hash] as const),
      );
      hashes = Object.fromEntries(answers);
    } catch (error) {
      reason = `HashKV failed: ${error instanceof Error ? error.message : String(error)}`;
      await sleep(250);
      continue;
    }
    const after = await appliedSlots(cluster);
    if (sameValue(after) !== same) {
      reason = 'a command was applied while the hashes were read';
      await sleep(250);
      continue;
    }
    const distinct = new Set(Object.values(hashes));
    if (distinct.size === 1) return { kind: 'converged', appliedThrough: same, hash: [...distinct][0] as number };
    return { kind: 'diverged', appliedThrough: same, hashes };
  }
  return { kind: 'unsettled', reason };
}

async function appliedSlots(cluster: ChaosCluster): Promise<Record<string, number | null>> {
  const entries = await Promise.all(cluster.names.map(async (name) => [name, (await cluster.status(name))?.appliedThrough ?? null] as const));
  return Object.fromEntries(entries);
}

function sameValue(slots: Record<string, number | null>): number | null {
  const values = new Set(Object.values(slots));
  if (values.size !== 1) return null;
  const [value] = values;
  return value === undefined ? null : value;
}
