/**
 * What a benchmark run produced, as JSON (the file --out writes) and as the
 * table printed at the end. Ratios are always Synod / etcd from the same run:
 * above 1 is better for throughput, below 1 is better for latency and CPU.
 */
import type { SystemName } from './cluster.js';
import type { FloorResults } from './floors.js';
import type { PointResult } from './runner.js';
import { ratio } from './stats.js';

export interface Comparison {
  readonly workload: string;
  readonly concurrency: number;
  readonly opsPerSecond: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly p999: number | null;
  readonly serverCpuPerOp: number | null;
  /**
   * Cores used by other processes on the machine during the Synod point minus
   * during the etcd point. Far from 0, the two ran under different outside
   * load and the ratio is less trustworthy (the table marks it).
   */
  readonly otherCoresDifference: number | null;
}

/** Outside load difference (cores) above which a comparison is marked as noisy. */
export const NOISY_OTHER_CORES = 0.3;

export interface BenchReport {
  readonly tool: 'synod bench';
  readonly command: string;
  readonly startedAt: string;
  readonly elapsedSeconds: number;
  readonly machine: {
    readonly cpus: number;
    readonly loadAverageAtStart: readonly number[];
    readonly node: string;
    readonly platform: string;
  };
  readonly systems: Readonly<Partial<Record<SystemName, { readonly version: string; readonly nodes: number }>>>;
  readonly settings: {
    readonly workloads: readonly string[];
    readonly concurrency: readonly number[];
    readonly warmupSeconds: number;
    readonly durationSeconds: number;
    readonly target: 'leader' | 'all';
    readonly channelsPerEndpoint: string;
    readonly order: string;
  };
  readonly floors: FloorResults | null;
  readonly points: readonly PointResult[];
  readonly comparisons: readonly Comparison[];
  readonly notes: readonly string[];
}

export function compare(points: readonly PointResult[]): Comparison[] {
  const comparisons: Comparison[] = [];
  const measured = points.filter((p) => p.skipped === null && p.ops > 0);
  for (const synod of measured.filter((p) => p.system === 'synod')) {
    const etcd = measured.find((p) => p.system === 'etcd' && p.workload === synod.workload && p.concurrency === synod.concurrency);
    if (etcd === undefined) continue;
    comparisons.push({
      workload: synod.workload,
      concurrency: synod.concurrency,
      opsPerSecond: ratio(synod.opsPerSecond, etcd.opsPerSecond),
      p50: ratio(synod.latency.p50Ms, etcd.latency.p50Ms),
      p99: ratio(synod.latency.p99Ms, etcd.latency.p99Ms),
      p999: ratio(synod.latency.p999Ms, etcd.latency.p999Ms),
      serverCpuPerOp: ratio(synod.cpu.serverMsPerOp, etcd.cpu.serverMsPerOp),
      otherCoresDifference: synod.cpu.otherCores === null || etcd.cpu.otherCores === null ? null : synod.cpu.otherCores - etcd.cpu.otherCores,
    });
  }
  return comparisons;
}

// ---------------------------------------------------------------- text

function pad(text: string, width: number, left = false): string {
  return left ? text.padEnd(width) : text.padStart(width);
}

function ms(value: number): string {
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function x(value: number | null): string {
  return value === null ? '-' : `${value.toFixed(2)}x`;
}

const SYSTEM_COLUMNS = ['ops/s', 'p50', 'p99', 'p99.9', 'cpu', 'err'];
const SYSTEM_WIDTHS = [9, 7, 7, 7, 6, 4];

function systemCells(point: PointResult | undefined): string {
  if (point === undefined) return SYSTEM_WIDTHS.map((w) => pad('', w)).join(' ');
  if (point.skipped !== null) return pad('skipped', SYSTEM_WIDTHS.reduce((a, b) => a + b + 1, -1));
  const cells = [
    count(point.opsPerSecond),
    ms(point.latency.p50Ms),
    ms(point.latency.p99Ms),
    ms(point.latency.p999Ms),
    point.cpu.serverMsPerOp === null ? '-' : point.cpu.serverMsPerOp.toFixed(3),
    String(point.errors),
  ];
  return cells.map((c, i) => pad(c, SYSTEM_WIDTHS[i] as number)).join(' ');
}

/**
 * The results table: one row per workload and concurrency, each system's
 * figures side by side, then the Synod/etcd ratios. Latencies in ms; cpu is
 * server CPU ms per op (= CPU seconds per 1,000 ops, all server processes).
 */
export function formatTable(report: BenchReport): string[] {
  const systems = (['synod', 'etcd'] as const).filter((s) => report.points.some((p) => p.system === s));
  const both = systems.length === 2;
  const systemHeader = SYSTEM_COLUMNS.map((c, i) => pad(c, SYSTEM_WIDTHS[i] as number)).join(' ');
  const groupWidth = systemHeader.length;
  const lines: string[] = [];
  let title = `${pad('', 22)}`;
  for (const s of systems) title += ` | ${pad(s, groupWidth, true)}`;
  if (both) title += ' | synod/etcd';
  lines.push(title);
  let header = `${pad('workload', 16, true)} ${pad('conc', 5)}`;
  for (let i = 0; i < systems.length; i += 1) header += ` | ${systemHeader}`;
  if (both) header += ` | ${pad('ops/s', 6)} ${pad('p50', 6)} ${pad('p99', 6)} ${pad('cpu', 6)}`;
  lines.push(header);
  lines.push('-'.repeat(header.length));
  const keys: [string, number][] = [];
  for (const p of report.points) if (!keys.some(([w, c]) => w === p.workload && c === p.concurrency)) keys.push([p.workload, p.concurrency]);
  let previous = '';
  for (const [workload, concurrency] of keys) {
    if (previous !== '' && previous !== workload) lines.push('');
    previous = workload;
    let row = `${pad(workload, 16, true)} ${pad(String(concurrency), 5)}`;
    for (const s of systems) row += ` | ${systemCells(report.points.find((p) => p.system === s && p.workload === workload && p.concurrency === concurrency))}`;
    if (both) {
      const c = report.comparisons.find((r) => r.workload === workload && r.concurrency === concurrency);
      row += ` | ${pad(x(c?.opsPerSecond ?? null), 6)} ${pad(x(c?.p50 ?? null), 6)} ${pad(x(c?.p99 ?? null), 6)} ${pad(x(c?.serverCpuPerOp ?? null), 6)}`;
      const difference = c?.otherCoresDifference ?? null;
      if (difference !== null && Math.abs(difference) > NOISY_OTHER_CORES) row += ` * other load ${difference > 0 ? '+' : ''}${difference.toFixed(1)} cores on synod`;
    }
    lines.push(row);
  }
  lines.push('');
  lines.push('latencies in ms; cpu = server CPU ms per op (= CPU s per 1,000 ops, all server processes); err = failed requests');
  if (both) {
    lines.push('ratios are synod/etcd from this run: ops/s above 1x and latency/cpu below 1x favour synod');
    lines.push(`* = other processes used more than ${NOISY_OTHER_CORES} cores more (or less) during the synod point than during the etcd point: a noisier ratio`);
  }
  return lines;
}

/** The CPU and client columns that say what bounds each point. */
export function formatBounds(report: BenchReport): string[] {
  const lines = [
    `${pad('system', 7, true)} ${pad('workload', 16, true)} ${pad('conc', 5)} ${pad('server cores', 12)} ${pad('leader', 6)} ${pad('kernel', 6)} ${pad('client cores', 12)} ${pad('client cpu/op', 13)} ${pad('machine busy', 12)} ${pad('other', 6)}`,
  ];
  for (const p of report.points) {
    if (p.skipped !== null) continue;
    const c = p.cpu;
    lines.push(
      `${pad(p.system, 7, true)} ${pad(p.workload, 16, true)} ${pad(String(p.concurrency), 5)} ${pad(c.serverCores === null ? '-' : c.serverCores.toFixed(2), 12)} ` +
        `${pad(c.leaderCores === null ? '-' : c.leaderCores.toFixed(2), 6)} ${pad(c.serverKernelShare === null ? '-' : `${Math.round(c.serverKernelShare * 100)}%`, 6)} ` +
        `${pad(c.clientCores.toFixed(2), 12)} ${pad(c.clientMsPerOp.toFixed(3), 13)} ${pad(c.machineBusyCores === null ? '-' : c.machineBusyCores.toFixed(2), 12)} ${pad(c.otherCores === null ? '-' : c.otherCores.toFixed(2), 6)}`,
    );
  }
  lines.push(
    `cores = CPU seconds per second of the window (the machine has ${report.machine.cpus}); leader = the leader process alone; kernel = share of server CPU in system calls; ` +
      '"other" = busy time of processes that are neither the servers nor this client',
  );
  return lines;
}

/** Synod's leader counters per point: how much it batched, synced and sent. */
export function formatSynodCounters(report: BenchReport): string[] {
  const rows = report.points.filter((p) => p.system === 'synod' && p.synod !== null && p.skipped === null);
  if (rows.length === 0) return [];
  const f = (value: number | null, digits = 1): string => (value === null ? '-' : value.toFixed(digits));
  const lines = [
    `${pad('synod leader', 16, true)} ${pad('conc', 5)} ${pad('slots/s', 8)} ${pad('cmds/slot', 9)} ${pad('syncs/s', 8)} ${pad('recs/sync', 9)} ${pad('sync ms', 7)} ${pad('steps/op', 8)} ${pad('wal B/op', 8)} ${pad('peer frames/op', 14)} ${pad('peer B/op', 9)}`,
  ];
  for (const p of rows) {
    const s = p.synod;
    if (s === null) continue;
    lines.push(
      `${pad(p.workload, 16, true)} ${pad(String(p.concurrency), 5)} ${pad(count(s.slotsPerSecond), 8)} ${pad(f(s.commandsPerSlot), 9)} ${pad(count(s.syncsPerSecond), 8)} ` +
        `${pad(f(s.recordsPerSync), 9)} ${pad(f(s.meanSyncMs, 2), 7)} ${pad(f(s.stepsPerOp), 8)} ${pad(f(s.walBytesPerOp, 0), 8)} ${pad(f(s.peerFramesPerOp, 2), 14)} ${pad(f(s.peerBytesPerOp, 0), 9)}`,
    );
  }
  return lines;
}

export function formatFloors(floors: FloorResults): string[] {
  const lines: string[] = [];
  const core = (label: string, r: FloorResults['core64']): string =>
    `  core (${label}): ${count(r.commandsPerSecond)} decided commands/s, ${count(r.slotsPerSecond)} slots/s, ${r.commandsPerSlot.toFixed(1)} commands/slot, ${r.messagesPerCommand.toFixed(2)} messages/command`;
  lines.push('floors and ceilings (same run):');
  lines.push(core('3 replicas in one thread, no disk, 64 outstanding', floors.core64));
  lines.push(core(`${floors.coreFull.outstanding} outstanding = pipeline ${floors.coreFull.pipelineSlotsMax} x batch ${floors.coreFull.batchCommandsMax}`, floors.coreFull));
  const f = floors.fsync;
  lines.push(`  fsync: median ${f.medianMs.toFixed(3)} ms, p99 ${f.p99Ms.toFixed(3)} ms (${count(f.syncsPerSecond)} sequential syncs/s) over ${f.syncs} writes of ${f.writeBytes} B in ${f.dir}`);
  const l = floors.loopback;
  lines.push(`  loopback TCP round trip: median ${(l.medianMs * 1000).toFixed(0)} us, p99 ${(l.p99Ms * 1000).toFixed(0)} us (${l.roundTrips} ping-pongs of ${l.messageBytes} B)`);
  const g = floors.grpcNoop;
  if (g !== null && g.skipped === null) {
    lines.push(
      `  grpc-js no-op server, put at 64 clients: ${count(g.opsPerSecond)} ops/s, p50 ${ms(g.latency.p50Ms)} ms, p99 ${ms(g.latency.p99Ms)} ms, ` +
        `server ${g.cpu.serverMsPerOp?.toFixed(3) ?? '-'} ms CPU/op, client ${g.cpu.clientMsPerOp.toFixed(3)} ms CPU/op`,
    );
  } else {
    lines.push('  grpc-js no-op server: not measured');
  }
  return lines;
}
