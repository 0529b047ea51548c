/**
 * `synod bench`: Synod and etcd side by side, on this machine, in one run.
 *
 * Both clusters are started first and stay up for the whole run; the points
 * are interleaved (for each workload and concurrency, one system then the
 * other, alternating which goes first), so that load from other processes on
 * a shared machine falls on both systems alike and every ratio compares two
 * measurements taken seconds apart.
 *
 * Where clients connect (`target`): by default every client talks to the
 * leader of the system under test. Both systems are leader-based: a request
 * sent to a follower costs an extra hop to the leader (and in Synod a
 * linearizable read at a follower is ordered through the log like a write),
 * so spreading clients would measure the forwarding path, not consensus. An
 * etcd client given one endpoint behaves the same way. `--target all` spreads
 * clients round-robin over every member instead.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CliIo } from '../cli/io.js';
import { ChannelPool, EtcdChannel } from './client.js';
import type { BenchCluster, SystemName } from './cluster.js';
import { summarizeProfile, formatProfileSummary, type CpuProfile, type ProfileSummary } from './cpuprofile.js';
import { etcdVersion, startEtcdCluster } from './etcd-cluster.js';
import { measureFloors, type FloorOptions, type FloorResults } from './floors.js';
import { compare, formatBounds, formatFloors, formatSynodCounters, formatTable, type BenchReport } from './report.js';
import { runPoint, type PointResult } from './runner.js';
import { renderChart } from './svg.js';
import { startSynodCluster } from './synod-cluster.js';
import { workload, WORKLOAD_DESCRIPTIONS, type WorkloadName } from './workloads.js';

export type Target = 'leader' | 'all';

export interface BenchOptions {
  readonly systems: readonly SystemName[];
  readonly workloads: readonly WorkloadName[];
  readonly concurrency: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Members per cluster (1 or 3). */
  readonly nodes: number;
  readonly target: Target;
  /** gRPC channels (HTTP/2 connections) per endpoint; null picks by concurrency. */
  readonly channels: number | null;
  /** null skips the floors. */
  readonly floors: FloorOptions | null;
  /** A directory for CPU profiles of the Synod nodes (node --cpu-prof); the leader's is summarized. */
  readonly profileDir: string | null;
  readonly keepData: boolean;
  /** Synod's read leases (false runs its nodes with --no-read-lease). */
  readonly readLease: boolean;
  readonly out: string | null;
  readonly svg: string | null;
  /** The command line, recorded in the report so the figures can be reproduced. */
  readonly command: string;
}

export interface BenchOutcome {
  readonly report: BenchReport & { readonly profile: ProfileSummary | null };
  /** 0, or 1 when a server died or a point could not be measured for a reason other than UNIMPLEMENTED. */
  readonly exitCode: number;
}

/** Workloads that write: after their points the system is compacted, so history does not pile up across points. */
const WRITING: ReadonlySet<WorkloadName> = new Set(['put', 'mix', 'txn-cas']);

/** Channels per endpoint: about one HTTP/2 connection per 8 clients, 1..16. */
export function channelsFor(concurrency: number, endpoints: number, override: number | null): number {
  if (override !== null) return override;
  return Math.max(1, Math.ceil(Math.min(16, Math.max(1, Math.ceil(concurrency / 8))) / endpoints));
}

class Progress {
  private drawn = false;

  constructor(private readonly io: CliIo) {}

  show(text: string): void {
    if (!this.io.isTTY) return;
    this.io.write(`\r\u001b[K${text}`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) this.io.write('\r\u001b[K');
    this.drawn = false;
  }
}

async function startSystem(system: SystemName, options: BenchOptions): Promise<BenchCluster> {
  if (system === 'synod') {
    if (options.profileDir !== null) mkdirSync(resolve(options.profileDir), { recursive: true });
    const nodeArgs = options.profileDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${resolve(options.profileDir)}`];
    return startSynodCluster({ nodes: options.nodes, nodeArgs, keepData: options.keepData, memberFlags: options.readLease ? [] : ['--no-read-lease'] });
  }
  return startEtcdCluster({ nodes: options.nodes, keepData: options.keepData });
}

/** Compacts away the history a writing point left, so the next point starts from the same small state. */
async function compactAll(endpoint: string): Promise<void> {
  const channel = new EtcdChannel(endpoint);
  try {
    const response = await channel.range({ key: Buffer.from('bench/k000'), serializable: false });
    const revision = response.header?.revision;
    if (revision !== undefined && revision !== '0') await channel.compact(revision);
  } finally {
    channel.close();
  }
}

function findProfile(dir: string, pid: number): string | null {
  if (!existsSync(dir)) return null;
  const name = readdirSync(dir).find((file) => file.endsWith('.cpuprofile') && file.includes(`.${pid}.`));
  return name === undefined ? null : join(dir, name);
}

export async function runBench(options: BenchOptions, io: CliIo): Promise<BenchOutcome> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const notes: string[] = [];
  const progress = new Progress(io);
  let exitCode = 0;

  let systems = [...options.systems];
  if (systems.includes('etcd') && etcdVersion() === null) {
    const note = 'etcd is not installed, so Synod is benchmarked alone (`npm run setup` installs Debian\'s etcd-server)';
    io.err(`synod bench: ${note}`);
    notes.push(note);
    systems = systems.filter((s) => s !== 'etcd');
  }
  io.out(`synod bench: ${systems.join(' vs ')}, ${options.nodes} member(s) each on 127.0.0.1; workloads ${options.workloads.join(',')}; ` +
    `concurrency ${options.concurrency.join(',')}; ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s per point; clients to ${options.target === 'leader' ? 'the leader' : 'every member'}`);
  io.out(`machine: ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

  let floors: FloorResults | null = null;
  if (options.floors !== null) {
    // Before the clusters start, so the floors do not compete with idle servers.
    floors = await measureFloors(options.floors, channelsFor(64, 1, options.channels), (stage) => progress.show(`floors: ${stage}...`));
    progress.clear();
    for (const line of formatFloors(floors)) io.out(line);
  }

  const clusters = new Map<SystemName, BenchCluster>();
  const points: PointResult[] = [];
  let profile: ProfileSummary | null = null;
  let synodLeaderPid: number | null = null;
  const loadAtStart = loadavg();
  try {
    progress.show(`starting ${systems.join(' and ')}...`);
    for (const system of systems) clusters.set(system, await startSystem(system, options));
    for (const cluster of clusters.values()) await cluster.leader();
    progress.clear();
    for (const cluster of clusters.values()) io.out(`${cluster.system}: ${cluster.version}, members ${cluster.endpoints.join(' ')}`);

    const totalPoints = options.workloads.length * options.concurrency.length * systems.length;
    let pointIndex = 0;
    for (const name of options.workloads) {
      const load = workload(name);
      const unsupported = new Set<SystemName>();
      for (const [system, cluster] of clusters) {
        const leader = await cluster.leader();
        const pool = new ChannelPool([leader], 4);
        try {
          progress.show(`${system}: preparing ${name}...`);
          await load.prepare(pool);
        } catch (error) {
          notes.push(`${system} ${name}: preparing failed: ${error instanceof Error ? error.message : String(error)}`);
          unsupported.add(system);
        } finally {
          pool.close();
        }
      }
      for (const [levelIndex, concurrency] of options.concurrency.entries()) {
        // Alternate which system goes first, so neither always runs right after the other's writes.
        const order = levelIndex % 2 === 0 ? systems : [...systems].reverse();
        for (const system of order) {
          pointIndex += 1;
          const cluster = clusters.get(system) as BenchCluster;
          if (unsupported.has(system)) continue;
          const leader = await cluster.leader();
          if (system === 'synod') synodLeaderPid = cluster.serverAt(leader)?.child.pid ?? null;
          const endpoints = options.target === 'leader' ? [leader] : cluster.endpoints;
          const pool = new ChannelPool(endpoints, channelsFor(concurrency, endpoints.length, options.channels));
          const idlePids = [...clusters.values()].filter((c) => c !== cluster).flatMap((c) => c.pids());
          const label = `[${pointIndex}/${totalPoints}] ${system} ${name} c=${concurrency}`;
          let result: PointResult;
          try {
            await pool.ready(10_000);
            result = await runPoint(
              { workload: load, concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs },
              {
                cluster,
                idlePids,
                pool,
                endpoints,
                leaderPid: options.target === 'leader' ? (cluster.serverAt(leader)?.child.pid ?? null) : null,
                statusUrl: options.target === 'leader' ? (cluster.serverAt(leader)?.adminUrl ?? null) : null,
                onProgress: (fraction, ops) => progress.show(`${label}  ${Math.round(fraction * 100)}%  ${ops.toLocaleString('en-US')} ops measured`),
              },
            );
          } finally {
            pool.close();
          }
          progress.clear();
          points.push(result);
          if (result.skipped !== null) {
            unsupported.add(system);
            notes.push(`${system} ${name}: skipped (${result.skipped})`);
            io.out(`${label}: skipped: ${result.skipped}`);
            if (!result.skipped.startsWith('grpc 12')) exitCode = 1;
            continue;
          }
          io.out(
            `${label}: ${Math.round(result.opsPerSecond).toLocaleString('en-US')} ops/s, p50 ${result.latency.p50Ms.toFixed(2)} ms, p99 ${result.latency.p99Ms.toFixed(2)} ms` +
              `${result.errors > 0 ? `, ${result.errors} errors (${result.errorSamples.join('; ')})` : ''}`,
          );
          const exited = cluster.exitedServers();
          if (exited.length > 0) throw new Error(`${system} server exited during ${name} c=${concurrency}: ${exited.join(', ')}`);
          if (WRITING.has(name)) {
            await compactAll(leader).catch((error: unknown) => notes.push(`${system}: compaction after ${name} c=${concurrency} failed: ${String(error)}`));
          }
        }
      }
    }
  } catch (error) {
    progress.clear();
    const message = error instanceof Error ? error.message : String(error);
    io.err(`synod bench: ${message}`);
    notes.push(`run stopped: ${message}`);
    exitCode = 1;
  } finally {
    progress.show('stopping clusters...');
    await Promise.all([...clusters.values()].map((c) => c.stop()));
    progress.clear();
  }

  if (options.profileDir !== null && synodLeaderPid !== null) {
    const file = findProfile(resolve(options.profileDir), synodLeaderPid);
    if (file === null) {
      notes.push(`no CPU profile of the Synod leader (pid ${synodLeaderPid}) in ${options.profileDir}`);
    } else {
      profile = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
      notes.push(`CPU profile of the Synod leader: ${file}`);
    }
  }

  const report = {
    tool: 'synod bench' as const,
    command: options.command,
    startedAt,
    elapsedSeconds: (performance.now() - started) / 1000,
    machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, node: process.version, platform: `${process.platform} ${process.arch}` },
    systems: Object.fromEntries([...clusters].map(([s, c]) => [s, { version: c.version, nodes: options.nodes }])),
    settings: {
      workloads: options.workloads,
      concurrency: options.concurrency,
      warmupSeconds: options.warmupMs / 1000,
      durationSeconds: options.durationMs / 1000,
      target: options.target,
      channelsPerEndpoint: options.channels === null ? 'ceil(min(16, ceil(concurrency / 8)) / endpoints)' : String(options.channels),
      order: 'interleaved: per workload and concurrency, each system in turn, alternating which goes first',
    },
    floors,
    points,
    comparisons: compare(points),
    notes: [...notes, ...options.workloads.map((w) => `${w}: ${WORKLOAD_DESCRIPTIONS[w]}`)],
    profile,
  };

  io.out('');
  for (const line of formatTable(report)) io.out(line);
  io.out('');
  for (const line of formatBounds(report)) io.out(line);
  const counters = formatSynodCounters(report);
  if (counters.length > 0) io.out('');
  for (const line of counters) io.out(line);
  if (floors !== null) {
    io.out('');
    for (const line of formatFloors(floors)) io.out(line);
  }
  if (profile !== null) {
    io.out('');
    for (const line of formatProfileSummary(profile)) io.out(line);
  }
  for (const note of notes) io.out(`note: ${note}`);
  if (options.out !== null) {
    writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
    io.out(`results: ${options.out}`);
  }
  if (options.svg !== null) {
    const chartPoints = points
      .filter((p) => p.skipped === null && p.ops > 0)
      .map((p) => ({ system: p.system, workload: p.workload, concurrency: p.concurrency, opsPerSecond: p.opsPerSecond, p99Ms: p.latency.p99Ms }));
    writeFileSync(options.svg, renderChart(chartPoints, `synod bench ${startedAt.slice(0, 19)}Z: throughput vs p99 latency`));
    io.out(`chart: ${options.svg}`);
  }
  return { report, exitCode };
}
