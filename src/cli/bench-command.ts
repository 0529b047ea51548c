/**
 * `synod bench`: starts a Synod cluster and an etcd cluster on loopback and
 * drives both with the same gRPC client, one after the other in one run; see
 * src/bench/bench.ts for what is measured and docs/PERFORMANCE.md for results.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runBench, type BenchOptions, type Target } from '../bench/bench.js';
import { SYSTEM_NAMES, type SystemName } from '../bench/cluster.js';
import type { FloorOptions } from '../bench/floors.js';
import { WORKLOAD_NAMES, type WorkloadName } from '../bench/workloads.js';
import type { CliIo } from './io.js';

const DEFAULT_WORKLOADS: readonly WorkloadName[] = WORKLOAD_NAMES;
const DEFAULT_CONCURRENCY = [1, 16, 64, 256];
const CONCURRENCY_MAX = 4096;
const SECONDS_MAX = 600;

const FULL_FLOORS: FloorOptions = { coreMs: 4_000, fsyncs: 1_000, roundTrips: 5_000, grpcWarmupMs: 1_000, grpcMs: 4_000 };
const QUICK_FLOORS: FloorOptions = { coreMs: 1_000, fsyncs: 200, roundTrips: 1_000, grpcWarmupMs: 300, grpcMs: 1_000 };

function listOf<T extends string>(allowed: readonly T[], what: string): (text: string) => T[] {
  return (text) => {
    const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0) throw new InvalidArgumentError(`name at least one ${what}`);
    for (const item of items) {
      if (!(allowed as readonly string[]).includes(item)) throw new InvalidArgumentError(`unknown ${what} "${item}"; choose from ${allowed.join(', ')}`);
    }
    return [...new Set(items)] as T[];
  };
}

function parseConcurrency(text: string): number[] {
  const levels = text.split(',').map((s) => Number(s.trim()));
  for (const level of levels) {
    if (!Number.isSafeInteger(level) || level < 1 || level > CONCURRENCY_MAX) throw new InvalidArgumentError(`each level must be an integer in 1..${CONCURRENCY_MAX}`);
  }
  return [...new Set(levels)];
}

function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > SECONDS_MAX) throw new InvalidArgumentError(`must be a number of seconds in 0..${SECONDS_MAX}`);
  return seconds;
}

function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be an integer in 1..64');
  return n;
}

function parseNodes(text: string): number {
  const n = Number(text);
  if (n !== 1 && n !== 3 && n !== 5) throw new InvalidArgumentError('must be 1, 3 or 5');
  return n;
}

interface RawBenchOptions {
  systems: SystemName[];
  workloads?: WorkloadName[];
  concurrency?: number[];
  duration?: number;
  warmup?: number;
  quick?: boolean;
  nodes: number;
  target: Target;
  channels?: number;
  floors: boolean;
  profile?: string;
  keepData?: boolean;
  readLease: boolean;
  out?: string;
  svg?: string;
}

export function benchCommand(io: CliIo): Command {
  return new Command('bench')
    .description('benchmark a local Synod cluster against a local etcd cluster with the same client (see docs/PERFORMANCE.md)')
    .option('--systems <list>', `systems to run: ${SYSTEM_NAMES.join(',')}`, listOf(SYSTEM_NAMES, 'system'), [...SYSTEM_NAMES])
    .option('--workloads <list>', `workloads: ${WORKLOAD_NAMES.join(',')} (default: all)`, listOf(WORKLOAD_NAMES, 'workload'))
    .option('--concurrency <levels>', 'closed-loop clients per point, e.g. 1,16,64 (default: 1,16,64,256)', parseConcurrency)
    .option('--duration <seconds>', 'measured seconds per point (default: 5)', parseSeconds)
    .option('--warmup <seconds>', 'unmeasured seconds before each point (default: 1)', parseSeconds)
    .option('--quick', 'a short smoke run: put and get at 1 and 16 clients, 1 s per point, short floors')
    .option('--nodes <count>', 'members per cluster (1, 3 or 5)', parseNodes, 3)
    .option('--target <where>', 'leader: every client talks to the leader; all: clients spread round-robin over every member', (text: string): Target => {
      if (text !== 'leader' && text !== 'all') throw new InvalidArgumentError('must be leader or all');
      return text;
    }, 'leader' as Target)
    .option('--channels <count>', 'gRPC channels (HTTP/2 connections) per endpoint (default: one per 8 clients, at most 16)', parsePositive)
    .option('--no-floors', 'skip the floors and ceilings (core microbenchmark, fsync, loopback, grpc-js no-op)')
    .option('--profile <dir>', 'run the Synod nodes under node --cpu-prof into <dir> and summarize the leader\'s profile')
    .option('--keep-data', 'keep the clusters\' temp data directories and logs')
    .option('--no-read-lease', 'run Synod with --no-read-lease: every linearizable read waits for a quorum round, as in etcd')
    .option('--out <file>', 'write the results as JSON')
    .option('--svg <file>', 'write a chart of throughput vs p99 latency (default: beside --out, with .svg)')
    .action(async (raw: RawBenchOptions) => {
      const quick = raw.quick === true;
      const out = raw.out ?? null;
      const options: BenchOptions = {
        systems: raw.systems,
        workloads: raw.workloads ?? (quick ? ['put', 'get'] : DEFAULT_WORKLOADS),
        concurrency: raw.concurrency ?? (quick ? [1, 16] : DEFAULT_CONCURRENCY),
        durationMs: (raw.duration ?? (quick ? 1 : 5)) * 1000,
        warmupMs: (raw.warmup ?? (quick ? 0.3 : 1)) * 1000,
        nodes: raw.nodes,
        target: raw.target,
        channels: raw.channels ?? null,
        floors: raw.floors ? (quick ? QUICK_FLOORS : FULL_FLOORS) : null,
        profileDir: raw.profile ?? null,
        keepData: raw.keepData === true,
        readLease: raw.readLease,
        out,
        svg: raw.svg ?? (out === null ? null : out.replace(/(\.json)?$/, '.svg')),
        command: ['synod', ...process.argv.slice(2)].join(' '),
      };
      if (options.durationMs <= 0) {
        io.err('synod bench: --duration must be more than 0 seconds');
        io.setExitCode(2);
        return;
      }
      const { exitCode } = await runBench(options, io);
      io.setExitCode(exitCode);
    });
}
