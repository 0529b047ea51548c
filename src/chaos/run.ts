/**
 * One chaos run, start to verdict:
 *
 *   1. start N real nodes behind a mesh of fault proxies, wait for a leader;
 *   2. safety phase: clients (register, cas, lock) run for `durationMs` while
 *      the nemesis injects the seeded schedule of faults;
 *   3. liveness phase: heal everything, wait (bounded) until every node
 *      serves writes again, read every key once more, compare the replicas'
 *      state hashes;
 *   4. stop the nodes and check: linearizability per key (final reads
 *      included), lost acknowledged writes, lock holders, unexpected node exits.
 *
 * The result is a report (report.ts formats it); any anomaly makes the CLI
 * exit non-zero and print the seed with the command that replays the schedule.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Operation } from '../check/history.js';
import { Random } from '../core/random.js';
import { checkHistory, findLostWrites, type LinearizabilityVerdict, type LostWrite } from './checks.js';
import { getValue, ClientPool } from './client.js';
import { ChaosCluster, type NodeExit } from './cluster.js';
import { awaitRecovery, checkConvergence, type ConvergenceResult, type RecoveryResult } from './convergence.js';
import { checkLockHolders, DEFAULT_LOCK_WORKLOAD, describeLockAnomaly, LockWorker, probeLockService, type LockCounts, type LockHold } from './locks.js';
import { Nemesis, type DiskFullOutcome } from './nemesis.js';
import { HistoryRecorder } from './recorder.js';
import { FAULT_KINDS, planSchedule, type FaultKind, type ScheduledFault } from './schedule.js';
import { poll } from './wait.js';
import { DEFAULT_WORKLOAD, emptyCounts, KvWorker, type OpCounts, type WorkloadOptions } from './workloads.js';

export interface ChaosOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly nodes: number;
  /** Key-value clients, split between the register and cas workloads. */
  readonly clients: number;
  /** Lock clients (0: no lock workload). */
  readonly lockClients: number;
  readonly faults: readonly FaultKind[];
  readonly heartbeatMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  readonly workload: WorkloadOptions;
  /** Parent of the run's directory; the system temp dir by default. */
  readonly baseDir?: string;
  /** When to keep the data, logs and history: always, only when the run found anomalies (the default), or never. */
  readonly keepData: 'always' | 'on-anomaly' | 'never';
  /** Print each nemesis action as it happens. */
  readonly verbose: boolean;
}

export const DEFAULT_CHAOS: Omit<ChaosOptions, 'seed'> = Object.freeze({
  durationMs: 120_000,
  nodes: 3,
  clients: 6,
  lockClients: 2,
  faults: FAULT_KINDS,
  heartbeatMs: 50,
  electionTimeoutMs: 500,
  snapshotCount: 500,
  workload: DEFAULT_WORKLOAD,
  keepData: 'on-anomaly',
  verbose: false,
});

export type Anomaly =
  | { kind: 'startup'; message: string }
  | { kind: 'not-linearizable'; message: string; excerpt: string | null }
  | { kind: 'check-inconclusive'; message: string }
  | { kind: 'lost-write'; message: string }
  | { kind: 'lock'; message: string }
  | { kind: 'node-exit'; message: string }
  | { kind: 'no-recovery'; message: string }
  | { kind: 'final-read'; message: string }
  | { kind: 'divergence'; message: string };

export interface ChaosReport {
  readonly options: ChaosOptions;
  readonly dir: string;
  readonly kept: boolean;
  readonly schedule: readonly ScheduledFault[];
  readonly events: readonly string[];
  readonly ops: { register: OpCounts; cas: OpCounts; final: OpCounts };
  readonly failureReasons: ReadonlyMap<string, number>;
  readonly locks: { available: boolean; note: string; counts: LockCounts; holds: number };
  readonly faults: ReadonlyMap<FaultKind, number>;
  readonly skippedFaults: readonly string[];
  readonly diskFull: readonly DiskFullOutcome[];
  readonly linearizability: LinearizabilityVerdict | null;
  readonly recovery: RecoveryResult | null;
  readonly convergence: ConvergenceResult | null;
  readonly exits: readonly NodeExit[];
  readonly proxy: ReturnType<ChaosCluster['mesh']['counters']> | null;
  readonly anomalies: readonly Anomaly[];
  readonly warnings: readonly string[];
  readonly elapsedMs: number;
}

const STARTUP_TIMEOUT_MS = 30_000;
const RECOVERY_TIMEOUT_MS = 60_000;
const CONVERGENCE_TIMEOUT_MS = 20_000;
const FINAL_READ_ATTEMPTS = 10;

export async function runChaos(options: ChaosOptions, print: (line: string) => void = () => undefined): Promise<ChaosReport> {
  const began = performance.now();
  const dir = mkdtempSync(join(options.baseDir ?? tmpdir(), 'synod-chaos-'));
  const random = new Random(options.seed);
  const schedule = planSchedule({ seed: options.seed, durationMs: options.durationMs, nodes: options.nodes, kinds: options.faults });
  let workloadStart = performance.now();
  const clock = (): number => performance.now() - workloadStart;
  const anomalies: Anomaly[] = [];
  const warnings: string[] = [];
  const cluster = await ChaosCluster.create({
    nodes: options.nodes,
    dir,
    heartbeatMs: options.heartbeatMs,
    electionTimeoutMs: options.electionTimeoutMs,
    snapshotCount: options.snapshotCount,
    random: random.fork(),
    clock,
  });
  const pool = new ClientPool((name) => cluster.endpoint(name));
  const recorder = new HistoryRecorder(clock);
  const nemesis = new Nemesis(cluster, schedule, clock, options.durationMs, options.verbose ? print : () => undefined);
  const registerWorkers: KvWorker[] = [];
  const casWorkers: KvWorker[] = [];
  const lockWorkers: LockWorker[] = [];
  let lockNote = options.lockClients === 0 ? 'lock workload off (--lock-clients 0)' : '';
  let lockAvailable = false;
  let recovery: RecoveryResult | null = null;
  let convergence: ConvergenceResult | null = null;
  const finalCounts = emptyCounts();
  const finalReads = new Map<string, Operation>();
  let proxyCounters: ChaosReport['proxy'];

  try {
    for (const name of cluster.names) cluster.start(name);
    const ready = await awaitRecovery(cluster, pool, STARTUP_TIMEOUT_MS);
    if (!ready.recovered) {
      anomalies.push({ kind: 'startup', message: `the cluster did not start serving within ${STARTUP_TIMEOUT_MS} ms: ${ready.problems.join('; ')}` });
    } else {
      if (options.lockClients > 0) {
        const probe = await probeLockService(pool, cluster.names[0] as string, 3_000);
        lockAvailable = probe.available;
        lockNote = probe.available ? '' : `lock workload skipped: ${probe.reason}`;
        if (!probe.available) warnings.push(lockNote);
      }
      // Safety phase.
      const stop = new AbortController();
      workloadStart = performance.now();
      const context = { pool, nodes: cluster.names, recorder, clock, signal: stop.signal };
      for (let i = 0; i < options.clients; i += 1) {
        const kind = i % 2 === 0 ? 'register' : 'cas';
        const worker = new KvWorker(i, kind, context, random.fork(), options.workload);
        (kind === 'register' ? registerWorkers : casWorkers).push(worker);
      }
      if (lockAvailable) {
        for (let i = 0; i < options.lockClients; i += 1) {
          lockWorkers.push(new LockWorker(i, pool, cluster.names, clock, stop.signal, random.fork(), DEFAULT_LOCK_WORKLOAD));
        }
      }
      const workers = [...registerWorkers, ...casWorkers, ...lockWorkers].map((worker) => worker.run());
      const nemesisDone = nemesis.run();
      const timer = setTimeout(() => stop.abort(), options.durationMs);
      await Promise.all(workers);
      clearTimeout(timer);
      await nemesisDone;

      // Liveness phase.
      await nemesis.healAll();
      recovery = await awaitRecovery(cluster, pool, RECOVERY_TIMEOUT_MS);
      if (!recovery.recovered) {
        anomalies.push({ kind: 'no-recovery', message: `after healing, the cluster did not serve writes on every node within ${RECOVERY_TIMEOUT_MS} ms: ${recovery.problems.join('; ')}` });
      }
      await readFinalValues(cluster.names, pool, recorder, finalReads, finalCounts, anomalies);
      convergence = await checkConvergence(cluster, pool, CONVERGENCE_TIMEOUT_MS);
      if (convergence.kind === 'diverged') {
        anomalies.push({ kind: 'divergence', message: `replicas applied through slot ${convergence.appliedThrough} hold different states: HashKV ${JSON.stringify(convergence.hashes)}` });
      } else if (convergence.kind === 'unsettled') {
        warnings.push(`could not compare replica states: ${convergence.reason}`);
      }
    }
  } finally {
    pool.close();
    proxyCounters = cluster.mesh.counters();
    await cluster.shutdown();
  }

  for (const exit of cluster.unexpectedExits()) {
    anomalies.push({ kind: 'node-exit', message: `${exit.name} exited unexpectedly at ${(exit.atMs / 1000).toFixed(1)} s (${exit.signal ?? `code ${exit.code}`}); last output:\n${indent(exit.tail.trim())}` });
  }

  // Checks.
  const history = recorder.history();
  let linearizability: LinearizabilityVerdict | null = null;
  if (history.length > 0) {
    linearizability = checkHistory(history);
    const result = linearizability.result;
    if (result.kind === 'violation') {
      anomalies.push({ kind: 'not-linearizable', message: `key ${result.key}: ${result.explanation}`, excerpt: linearizability.excerpt });
    } else if (result.kind === 'unknown') {
      anomalies.push({ kind: 'check-inconclusive', message: `key ${result.key}: the linearizability search gave up: ${result.reason}` });
    }
    for (const lost of findLostWrites(history, finalReads)) anomalies.push({ kind: 'lost-write', message: describeLostWrite(lost) });
  }
  const holds: LockHold[] = lockWorkers.flatMap((worker) => worker.holds);
  for (const anomaly of checkLockHolders(holds)) anomalies.push({ kind: 'lock', message: describeLockAnomaly(anomaly) });

  const failureReasons = new Map<string, number>();
  for (const worker of [...registerWorkers, ...casWorkers]) {
    for (const [reason, count] of worker.failures) failureReasons.set(reason, (failureReasons.get(reason) ?? 0) + count);
  }
  const lockCounts: LockCounts = { attempts: 0, acquired: 0, failed: 0, lost: 0 };
  for (const worker of lockWorkers) for (const name of Object.keys(lockCounts) as (keyof LockCounts)[]) lockCounts[name] += worker.counts[name];

  const keep = options.keepData === 'always' || (options.keepData === 'on-anomaly' && anomalies.length > 0);
  writeFileSync(join(dir, 'history.json'), JSON.stringify(history));
  writeFileSync(join(dir, 'locks.json'), JSON.stringify(holds));
  writeFileSync(join(dir, 'nemesis.log'), `${nemesis.events.join('\n')}\n`);
  if (!keep) rmSync(dir, { recursive: true, force: true });

  return {
    options,
    dir,
    kept: keep,
    schedule,
    events: nemesis.events,
    ops: { register: sumCounts(registerWorkers), cas: sumCounts(casWorkers), final: finalCounts },
    failureReasons,
    locks: { available: lockAvailable, note: lockNote, counts: lockCounts, holds: holds.length },
    faults: nemesis.injected,
    skippedFaults: nemesis.skipped,
    diskFull: nemesis.diskFull,
    linearizability,
    recovery,
    convergence,
    exits: cluster.exits,
    proxy: proxyCounters,
    anomalies,
    warnings,
    elapsedMs: performance.now() - began,
  };
}

/** One linearizable read of every key the run touched, each retried on other nodes (bounded). */
async function readFinalValues(
  nodes: readonly string[],
  pool: ClientPool,
  recorder: HistoryRecorder,
  finalReads: Map<string, Operation>,
  counts: OpCounts,
  anomalies: Anomaly[],
): Promise<void> {
  let attempt = 0;
  for (const key of recorder.touchedKeys()) {
    if (key.startsWith('chaos/')) continue;
    const read = await poll(
      async () => {
        const node = nodes[attempt % nodes.length] as string;
        attempt += 1;
        const pending = recorder.invoke('final', { kind: 'get', key });
        try {
          const { value } = await getValue(pool.get(node), key, 3_000);
          recorder.complete(pending, { kind: 'get', value });
          counts.ok += 1;
          return pending.operation;
        } catch (error) {
          recorder.discard(pending);
          counts.failed += 1;
          throw error;
        }
      },
      FINAL_READ_ATTEMPTS * 3_500,
      100,
    );
    if (read === undefined) anomalies.push({ kind: 'final-read', message: `no node answered a read of ${key} after healing` });
    else finalReads.set(key, read);
  }
}

function sumCounts(workers: readonly KvWorker[]): OpCounts {
  const total = emptyCounts();
  for (const worker of workers) {
    total.ok += worker.counts.ok;
    total.failed += worker.counts.failed;
    total.incomplete += worker.counts.incomplete;
  }
  return total;
}

function describeLostWrite(lost: LostWrite): string {
  const op = lost.lost;
  const what = op.input.kind === 'get' ? 'get' : `${op.input.kind} of ${JSON.stringify(op.input.value)}`;
  return `key ${lost.key}: the acknowledged ${what} (#${op.id} by ${op.client}, ${op.call}..${op.return} ms) is gone: the final read returned ${lost.finalValue === null ? 'nothing' : JSON.stringify(lost.finalValue)}, written before it`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
