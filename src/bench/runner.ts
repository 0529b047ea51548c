/**
 * One benchmark point: `concurrency` closed-loop workers against one system
 * for a warm-up and then a fixed measuring window, both bounded.
 *
 * Only operations that start after the warm-up and complete inside the window
 * are counted and recorded; throughput is those operations over the window's
 * length. CPU is read at the window's edges: the servers' utime+stime from
 * /proc, this process's own (the client), and the machine's.
 */
import { performance } from 'node:perf_hooks';
import type { BenchCluster, ServerKind } from './cluster.js';
import { grpcCode, isUnimplemented, type ChannelPool } from './client.js';
import { machineCpu, processesCpuSeconds, processesCpuTimes, type CpuTimes, type MachineCpu } from './proc-cpu.js';
import { LatencyRecorder, type LatencySummary } from './stats.js';
import { readCounters, windowStats, type SynodCounters, type SynodWindowStats } from './synod-status.js';
import { sleep, withTimeout } from './waiting.js';
import type { Operation, Workload, WorkloadName } from './workloads.js';

export interface PointSpec {
  readonly workload: Workload;
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface CpuFigures {
  /** CPU seconds of the measured system's server processes in the window. */
  readonly serverSeconds: number | null;
  /** Server CPU milliseconds per operation = CPU seconds per 1,000 operations. */
  readonly serverMsPerOp: number | null;
  /** Cores the servers kept busy on average. */
  readonly serverCores: number | null;
  /** Cores the leader process alone kept busy (null when clients are spread or the leader is unknown). */
  readonly leaderCores: number | null;
  /** The part of the servers' CPU spent in the kernel (system calls: sockets, file writes, syncs). */
  readonly serverKernelShare: number | null;
  readonly clientMsPerOp: number;
  readonly clientCores: number;
  /** Cores busy on the whole machine, and the part neither the servers, the idle other system nor this client used. */
  readonly machineBusyCores: number | null;
  readonly otherCores: number | null;
}

export interface PointResult {
  readonly system: ServerKind;
  readonly workload: WorkloadName;
  readonly concurrency: number;
  readonly endpoints: readonly string[];
  readonly windowSeconds: number;
  readonly ops: number;
  readonly opsPerSecond: number;
  readonly errors: number;
  /** The first few distinct error messages. */
  readonly errorSamples: readonly string[];
  readonly latency: LatencySummary;
  readonly cpu: CpuFigures;
  /** Synod's leader counters over the window (batching, syncs, bytes); null for etcd. */
  readonly synod: SynodWindowStats | null;
  /** Set when the point was not measured (the system does not implement the workload). */
  readonly skipped: string | null;
}

/** Pause after a failed operation, so a failing server is not hammered by a busy loop. */
const ERROR_BACKOFF_MS = 20;
/** After the window, workers finish their last operation; a request's own deadline bounds this too. */
const DRAIN_TIMEOUT_MS = 15_000;

export interface PointContext {
  readonly cluster: BenchCluster;
  /** Pids of servers of the other systems that are up during this point (idle). */
  readonly idlePids: readonly number[];
  readonly pool: ChannelPool;
  readonly endpoints: readonly string[];
  /** The leader's pid when every client talks to it, for its own CPU figure. */
  readonly leaderPid?: number | null;
  /** Synod's leader admin URL, to read its counters at the window's edges. */
  readonly statusUrl?: string | null;
  /** Called about every 250 ms while the point runs: elapsed fraction and completed ops so far. */
  readonly onProgress?: (fraction: number, opsSoFar: number) => void;
}

interface CpuSample {
  readonly server: number | null;
  readonly serverTimes: CpuTimes | null;
  readonly leader: number | null;
  readonly idle: number | null;
  readonly client: number;
  readonly machine: MachineCpu | null;
  readonly atMs: number;
}

function sampleCpu(cluster: BenchCluster, idlePids: readonly number[], leaderPid: number | null): CpuSample {
  const usage = process.cpuUsage();
  const serverTimes = processesCpuTimes(cluster.pids());
  return {
    server: serverTimes?.totalSeconds ?? null,
    serverTimes,
    leader: leaderPid === null ? null : processesCpuSeconds([leaderPid]),
    idle: processesCpuSeconds(idlePids),
    client: (usage.user + usage.system) / 1e6,
    machine: machineCpu(),
    atMs: performance.now(),
  };
}

function cpuFigures(before: CpuSample, after: CpuSample, ops: number): CpuFigures {
  const seconds = (after.atMs - before.atMs) / 1000;
  const server = before.server === null || after.server === null ? null : after.server - before.server;
  const idle = before.idle === null || after.idle === null ? 0 : after.idle - before.idle;
  const client = after.client - before.client;
  const machine = before.machine === null || after.machine === null ? null : after.machine.busySeconds - before.machine.busySeconds;
  return {
    serverSeconds: server,
    serverMsPerOp: server === null || ops === 0 ? null : (server * 1000) / ops,
    serverCores: server === null ? null : server / seconds,
    leaderCores: before.leader === null || after.leader === null ? null : (after.leader - before.leader) / seconds,
    serverKernelShare:
      before.serverTimes === null || after.serverTimes === null || server === null || server <= 0
        ? null
        : (after.serverTimes.systemSeconds - before.serverTimes.systemSeconds) / server,
    clientMsPerOp: ops === 0 ? 0 : (client * 1000) / ops,
    clientCores: client / seconds,
    machineBusyCores: machine === null ? null : machine / seconds,
    otherCores: machine === null || server === null ? null : Math.max(0, (machine - server - idle - client) / seconds),
  };
}

function describeError(error: unknown): string {
  const code = grpcCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return code === null ? message : `grpc ${code}: ${message.replace(/^\d+ [A-Z_]+: /, '')}`;
}

export async function runPoint(spec: PointSpec, context: PointContext): Promise<PointResult> {
  const { cluster, pool } = context;
  const recorder = new LatencyRecorder();
  const errorSamples = new Set<string>();
  let errors = 0;
  let ops = 0;
  let stop = false;
  const startMs = performance.now();
  const windowStartMs = startMs + spec.warmupMs;
  const windowEndMs = windowStartMs + spec.durationMs;
  // Written by the clock below; a holder object, since TypeScript does not follow assignments made in closures.
  const edges: {
    before: CpuSample | null;
    after: CpuSample | null;
    countersBefore: SynodCounters | null;
    countersAfter: SynodCounters | null;
    unimplemented: string | null;
  } = { before: null, after: null, countersBefore: null, countersAfter: null, unimplemented: null };
  const statusUrl = context.statusUrl ?? null;

  const loop = async (operation: Operation): Promise<void> => {
    while (!stop) {
      const began = performance.now();
      try {
        await operation();
      } catch (error) {
        if (isUnimplemented(error)) {
          edges.unimplemented = describeError(error);
          stop = true;
          return;
        }
        errors += 1;
        if (errorSamples.size < 5) errorSamples.add(describeError(error));
        await sleep(ERROR_BACKOFF_MS);
        continue;
      }
      const ended = performance.now();
      if (began >= windowStartMs && ended <= windowEndMs) {
        ops += 1;
        recorder.recordMs(ended - began);
      }
    }
  };

  const workers = Array.from({ length: spec.concurrency }, (_, i) => loop(spec.workload.worker(pool.forWorker(i), i)));
  // The clock: CPU at the window's edges, progress in between, then stop.
  const clock = (async (): Promise<void> => {
    await sleep(Math.max(0, windowStartMs - performance.now()));
    if (stop) return;
    edges.before = sampleCpu(cluster, context.idlePids, context.leaderPid ?? null);
    if (statusUrl !== null) edges.countersBefore = await readCounters(statusUrl);
    while (!stop && performance.now() < windowEndMs) {
      context.onProgress?.((performance.now() - startMs) / (windowEndMs - startMs), ops);
      await sleep(Math.min(250, Math.max(1, windowEndMs - performance.now())));
    }
    edges.after = sampleCpu(cluster, context.idlePids, context.leaderPid ?? null);
    stop = true;
    if (statusUrl !== null) edges.countersAfter = await readCounters(statusUrl);
  })();
  await clock;
  await withTimeout('the workers\' last operations', Promise.all(workers), DRAIN_TIMEOUT_MS).catch(() => undefined);
  stop = true;

  const latency = recorder.summary();
  recorder.destroy();
  const base = { system: cluster.system, workload: spec.workload.name, concurrency: spec.concurrency, endpoints: context.endpoints };
  const { before, after, unimplemented } = edges;
  if (unimplemented !== null || before === null || after === null) {
    return {
      ...base,
      windowSeconds: 0,
      ops: 0,
      opsPerSecond: 0,
      errors,
      errorSamples: [...errorSamples],
      latency,
      cpu: { serverSeconds: null, serverMsPerOp: null, serverCores: null, leaderCores: null, serverKernelShare: null, clientMsPerOp: 0, clientCores: 0, machineBusyCores: null, otherCores: null },
      synod: null,
      skipped: unimplemented ?? 'stopped before the measuring window',
    };
  }
  const windowSeconds = (after.atMs - before.atMs) / 1000;
  return {
    ...base,
    windowSeconds,
    ops,
    opsPerSecond: ops / (spec.durationMs / 1000),
    errors,
    errorSamples: [...errorSamples],
    latency,
    cpu: cpuFigures(before, after, ops),
    synod: edges.countersBefore === null || edges.countersAfter === null ? null : windowStats(edges.countersBefore, edges.countersAfter, windowSeconds, ops),
    skipped: null,
  };
}
