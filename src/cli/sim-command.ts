/**
 * `synod sim`: runs the deterministic simulator over a range of seeds (or one
 * seed, to replay a failure) and reports every violation with the command that
 * replays it. Exit status 1 if any seed found a violation.
 */
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import { isMutantName, listMutants, type MutantName } from '../sim/mutants.js';
import { DEFAULT_FAULTS, DEFAULT_SIM, defaultNodes, type FaultOptions } from '../sim/options.js';
import { SweepTally, formatViolation, runFlags } from '../sim/report.js';
import type { SimResult } from '../sim/simulator.js';
import { runSeeds, type SimJob, type SimOverrides } from './pool.js';
import type { CliIo } from './io.js';
import { ProgressBar } from './progress.js';

/** The fault flags are the fault options, one flag each. */
interface SimFlags extends FaultOptions {
  readonly seeds: number;
  readonly seed?: number;
  readonly firstSeed: number;
  readonly nodes?: '3' | '5';
  readonly mutant?: string;
  readonly listMutants?: boolean;
  readonly clients: number;
  readonly safetyMs: number;
  readonly livenessTicks: number;
  readonly jobs: number;
  readonly verbose?: boolean;
}

/** Longest violation message in a multi-seed listing; a replay prints it whole. */
const MESSAGE_CHARS_MAX = 300;

export function simCommand(io: CliIo): Command {
  return new Command('sim')
    .description('run the deterministic simulator: real replicas, simulated network, disks and clients, faults from a seed')
    .option('--seeds <n>', 'how many seeds to run', integer('--seeds', 1), 100)
    .option('--seed <s>', 'replay one seed (prints its trace tail on failure)', seedNumber('--seed'))
    .option('--first-seed <s>', 'the first seed of the range', seedNumber('--first-seed'), 1)
    .addOption(new Option('--nodes <n>', 'replicas per run (default: 3 for even seeds, 5 for odd)').choices(['3', '5']))
    .addOption(new Option('--mutant <name>', 'run a planted bug instead of the real replica').choices(listMutants()))
    .option('--list-mutants', 'print the planted bugs, one a line, and exit')
    .option('--loss <p>', 'probability that a message is lost', probability('--loss'), DEFAULT_FAULTS.loss)
    .option('--duplicate <p>', 'probability that a message is delivered twice', probability('--duplicate'), DEFAULT_FAULTS.duplicate)
    .option('--long-delay <p>', 'probability that a message takes the long tail of delays', probability('--long-delay'), DEFAULT_FAULTS.longDelay)
    .option('--no-crashes', 'do not crash replicas')
    .option('--no-partitions', 'do not cut network links')
    .option('--no-pauses', 'do not pause replicas')
    .option('--no-torn-writes', 'a crash loses every unsynced record, never keeps a prefix')
    .option('--no-compaction', 'never snapshot and compact logs')
    .option('--no-reconfiguration', 'never change the configuration (no spare nodes, no grow, shrink or replace)')
    .option('--clients <n>', 'concurrent clients', integer('--clients', 1, 64), DEFAULT_SIM.clients)
    .option('--safety-ms <ms>', 'virtual duration of the faulty phase', integer('--safety-ms', 0), DEFAULT_SIM.safetyMs)
    .option('--liveness-ticks <n>', 'ticks allowed to converge once faults are healed', integer('--liveness-ticks', 1), DEFAULT_SIM.livenessTicks)
    .option('--jobs <n>', 'worker threads (default: the CPUs available, at most 8)', integer('--jobs', 1, 64), Math.min(8, availableParallelism()))
    .option('--verbose', 'print every trace line as it happens')
    .action(async (flags: SimFlags, command: Command) => {
      if (flags.listMutants === true) {
        for (const name of listMutants()) io.out(name);
        return;
      }
      if (flags.seed !== undefined && (command.getOptionValueSource('seeds') === 'cli' || command.getOptionValueSource('firstSeed') === 'cli')) {
        command.error('error: --seed replays one seed and cannot be combined with --seeds or --first-seed', { exitCode: 2 });
      }
      if (flags.seed === undefined && flags.firstSeed + flags.seeds - 1 > 0xffff_ffff) {
        command.error('error: --first-seed plus --seeds runs past the largest seed (2^32 - 1)', { exitCode: 2 });
      }
      io.setExitCode(await runSim(flags, io));
    });
}

async function runSim(flags: SimFlags, io: CliIo): Promise<number> {
  const mutant: MutantName | null = flags.mutant !== undefined && isMutantName(flags.mutant) ? flags.mutant : null;
  const faults: FaultOptions = {
    loss: flags.loss,
    duplicate: flags.duplicate,
    longDelay: flags.longDelay,
    crashes: flags.crashes,
    partitions: flags.partitions,
    pauses: flags.pauses,
    tornWrites: flags.tornWrites,
    compaction: flags.compaction,
    reconfiguration: flags.reconfiguration,
  };
  const seeds = flags.seed !== undefined ? [flags.seed] : Array.from({ length: flags.seeds }, (_, i) => flags.firstSeed + i);
  const jobs: SimJob[] = seeds.map((seed) => {
    const overrides: SimOverrides = {
      nodes: flags.nodes !== undefined ? (Number(flags.nodes) as 3 | 5) : defaultNodes(seed),
      mutant,
      faults,
      clients: flags.clients,
      safetyMs: flags.safetyMs,
      livenessTicks: flags.livenessTicks,
    };
    return { seed, overrides };
  });

  const first = seeds[0] ?? flags.firstSeed;
  const nodesText = flags.nodes !== undefined ? `${flags.nodes} replicas` : seeds.length === 1 ? `${defaultNodes(first)} replicas` : 'alternating 3 and 5 replicas';
  const range = seeds.length === 1 ? `seed ${first}` : `${seeds.length} seeds from ${first}`;
  const extra = runFlags({ clients: flags.clients, safetyMs: flags.safetyMs, livenessTicks: flags.livenessTicks, faults });
  io.out(`synod sim: ${range}, ${nodesText}, ${mutant !== null ? `mutant ${mutant}` : 'the real replica'}${extra.length > 0 ? `, ${extra.join(' ')}` : ''}`);

  const tally = new SweepTally();
  const progress = new ProgressBar(io, seeds.length);
  const started = io.now();
  // A trace callback cannot cross into a worker thread, so --verbose runs here.
  if (flags.verbose === true) {
    for (const job of jobs) {
      if (seeds.length > 1) io.out(`--- seed ${job.seed}`);
      await runSeeds([{ seed: job.seed, overrides: { ...job.overrides, onTrace: (line: string) => io.out(line) } }], 1, (result) => tally.add(result));
    }
  } else {
    await runSeeds(jobs, flags.jobs, (result: SimResult) => {
      tally.add(result);
      progress.update(tally.seeds, tally.failures().length);
    });
  }
  const elapsedMs = io.now() - started;
  progress.clear();

  io.out(tally.summaryLine());
  const detail = seeds.length === 1 || flags.verbose === true;
  for (const result of tally.failures()) {
    if (result.outcome.kind !== 'violation') continue;
    const violation = detail ? result.outcome.violation : { ...result.outcome.violation, message: truncate(result.outcome.violation.message) };
    io.out(formatViolation(result, violation, detail));
  }
  io.out(tally.figures(elapsedMs));
  return tally.failures().length > 0 ? 1 : 0;
}

/** The first line of a message, cut to a readable length: the replay shows it whole. */
function truncate(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length <= MESSAGE_CHARS_MAX && line.length === text.length ? line : `${line.slice(0, MESSAGE_CHARS_MAX)}...`;
}

function integer(flag: string, min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag} must be an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ' up'}, got "${value}".`);
    }
    return n;
  };
}

function seedNumber(flag: string): (value: string) => number {
  return integer(flag, 0, 0xffff_ffff);
}

function probability(flag: string): (value: string) => number {
  return (value) => {
    const p = Number(value);
    if (value.trim() === '' || !(p >= 0 && p <= 1)) throw new InvalidArgumentError(`${flag} must be a probability from 0 to 1, got "${value}".`);
    return p;
  };
}
