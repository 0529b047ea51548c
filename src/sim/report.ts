/**
 * Turning results into text for people: the command that replays a run, a
 * violation report, and a summary over many seeds. Every failure the simulator
 * prints carries its seed and the exact command that reproduces it.
 */
import {
  ACTIVITY_KINDS,
  FAULT_KINDS,
  RECONFIGURATION_COUNTS,
  addCounts,
  zeroCounts,
  type ActivityKind,
  type Counts,
  type FaultKind,
  type ReconfigurationCount,
} from './events.js';
import { DEFAULT_FAULTS, DEFAULT_SIM, type FaultOptions, type SimOptions } from './options.js';
import type { SimResult, Violation } from './simulator.js';

/** The `synod sim` command line that replays exactly the run `options` describe. */
export function replayCommand(options: SimOptions): string {
  const parts = ['synod sim', `--seed ${options.seed}`, `--nodes ${options.nodes}`];
  if (options.mutant !== null) parts.push(`--mutant ${options.mutant}`);
  return [...parts, ...runFlags(options)].join(' ');
}

/** The flags for everything but seed, nodes and mutant, naming only what differs from the defaults. */
export function runFlags(options: Pick<SimOptions, 'clients' | 'safetyMs' | 'livenessTicks' | 'faults'>): string[] {
  const flags: string[] = [];
  if (options.clients !== DEFAULT_SIM.clients) flags.push(`--clients ${options.clients}`);
  if (options.safetyMs !== DEFAULT_SIM.safetyMs) flags.push(`--safety-ms ${options.safetyMs}`);
  if (options.livenessTicks !== DEFAULT_SIM.livenessTicks) flags.push(`--liveness-ticks ${options.livenessTicks}`);
  return [...flags, ...faultFlags(options.faults)];
}

/** The flags that set `faults`, naming only what differs from the defaults. */
export function faultFlags(faults: FaultOptions): string[] {
  const flags: string[] = [];
  if (faults.loss !== DEFAULT_FAULTS.loss) flags.push(`--loss ${faults.loss}`);
  if (faults.duplicate !== DEFAULT_FAULTS.duplicate) flags.push(`--duplicate ${faults.duplicate}`);
  if (faults.longDelay !== DEFAULT_FAULTS.longDelay) flags.push(`--long-delay ${faults.longDelay}`);
  if (!faults.crashes) flags.push('--no-crashes');
  if (!faults.partitions) flags.push('--no-partitions');
  if (!faults.pauses) flags.push('--no-pauses');
  if (!faults.tornWrites) flags.push('--no-torn-writes');
  if (!faults.compaction) flags.push('--no-compaction');
  if (!faults.reconfiguration) flags.push('--no-reconfiguration');
  return flags;
}

/** One line: what broke, where and when. */
export function violationHeadline(result: SimResult, violation: Violation): string {
  return (
    `seed ${result.options.seed} (${result.options.nodes} replicas${result.options.mutant !== null ? `, mutant ${result.options.mutant}` : ''}): ` +
    `${violation.invariant} at ${violation.timeMs}ms, step ${violation.step} (${violation.phase} phase)`
  );
}

/** The full report: headline, message, replay command, and optionally the trace tail and history. */
export function formatViolation(result: SimResult, violation: Violation, detail: boolean): string {
  const lines = [`FAIL ${violationHeadline(result, violation)}`, ...indent(violation.message.split('\n'), '  '), `  replay: ${replayCommand(result.options)}`];
  if (detail) {
    if (violation.history !== undefined) lines.push('  failing key history:', ...indent(violation.history.split('\n')));
    lines.push(`  last ${violation.traceTail.length} trace lines:`, ...indent(violation.traceTail));
  }
  return lines.join('\n');
}

function indent(lines: readonly string[], by = '    '): string[] {
  return lines.map((line) => `${by}${line}`);
}

/** Totals over a sweep of seeds; results may be added in any order. */
export class SweepTally {
  seeds = 0;
  events = 0;
  opsCompleted = 0;
  opsIncomplete = 0;
  linearizabilityUnknown = 0;
  readonly faults: Counts<FaultKind> = zeroCounts(FAULT_KINDS);
  readonly activity: Counts<ActivityKind> = zeroCounts(ACTIVITY_KINDS);
  readonly reconfigurations: Counts<ReconfigurationCount> = zeroCounts(RECONFIGURATION_COUNTS);
  private readonly failed: SimResult[] = [];

  add(result: SimResult): void {
    this.seeds += 1;
    this.events += result.figures.events;
    this.opsCompleted += result.figures.opsCompleted;
    this.opsIncomplete += result.figures.opsIncomplete;
    if (result.figures.linearizability === 'unknown') this.linearizabilityUnknown += 1;
    addCounts(this.faults, result.figures.faults);
    addCounts(this.activity, result.figures.activity);
    addCounts(this.reconfigurations, result.figures.reconfigurations);
    if (result.outcome.kind === 'violation') this.failed.push(result);
  }

  /** Failed runs, by seed. */
  failures(): SimResult[] {
    return [...this.failed].sort((a, b) => a.options.seed - b.options.seed);
  }

  summaryLine(): string {
    return `seeds: ${this.seeds}, violations: ${this.failed.length}`;
  }

  /** The figures block; `elapsedMs` is wall-clock time measured by the caller. */
  figures(elapsedMs: number): string {
    const seconds = elapsedMs / 1000;
    const rate = seconds > 0 ? this.seeds / seconds : 0;
    return [
      `figures: ${rate.toFixed(1)} seeds/s (${seconds.toFixed(1)} s), ${this.opsCompleted} client ops completed, ` +
        `${this.opsIncomplete} left incomplete, ${this.events} events` +
        (this.linearizabilityUnknown > 0 ? `, ${this.linearizabilityUnknown} histories too large to decide` : ''),
      `faults: ${formatCounts(this.faults)}`,
      `exercised: ${formatCounts(this.activity)}`,
      `reconfigurations: ${formatCounts(this.reconfigurations)}`,
    ].join('\n');
  }
}

function formatCounts<K extends string>(counts: Counts<K>): string {
  return (Object.entries(counts) as [K, number][]).map(([kind, count]) => `${kind} ${count}`).join(', ');
}
