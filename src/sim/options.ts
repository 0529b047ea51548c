/**
 * What one simulated run is made of. Everything that varies between runs comes
 * from here and from the seed; the simulator reads no clock and no global random
 * source, so these options plus the seed replay a run bit for bit.
 */
import type { MutantName } from './mutants.js';

/** Virtual milliseconds between two ticks of a replica (its only sense of time). */
export const TICK_MS = 10;

export interface FaultOptions {
  /** Probability that a message is lost in the network. */
  readonly loss: number;
  /** Probability that a message is delivered twice. */
  readonly duplicate: number;
  /** Probability that a message takes the long tail of the delay distribution. */
  readonly longDelay: number;
  /** Crash and restart replicas (the leader often). */
  readonly crashes: boolean;
  /** Cut links, both ways or one way, and heal them later. */
  readonly partitions: boolean;
  /** Stop a replica from processing anything for a while (a GC pause, a stalled VM). */
  readonly pauses: boolean;
  /** A crash may keep a prefix of the records that were written but not synced. */
  readonly tornWrites: boolean;
  /** Snapshot and compact each replica's log now and then, forcing state transfer. */
  readonly compaction: boolean;
  /**
   * Change the configuration now and then (grow, shrink, replace a crashed
   * voter with a new node, promote a learner), with spare nodes to add.
   */
  readonly reconfiguration: boolean;
}

export interface SimOptions {
  readonly seed: number;
  readonly nodes: 3 | 5;
  /** A planted bug (src/sim/mutants.ts) to run instead of the real replica, or null. */
  readonly mutant: MutantName | null;
  readonly clients: number;
  readonly keys: readonly string[];
  /** Virtual duration of the safety phase, in which faults are injected. */
  readonly safetyMs: number;
  /**
   * The liveness bound: once every fault is healed, every client operation must
   * complete and the replicas must converge within this many ticks.
   */
  readonly livenessTicks: number;
  /**
   * Replicas left crashed through the liveness phase, the first voters of the
   * newest configuration. Zero in real runs; a test sets it to a majority to
   * show that the liveness check can fail.
   */
  readonly crashedInLiveness: number;
  readonly faults: FaultOptions;
  /** Hard cap on processed events, so that a runaway run still ends. */
  readonly eventsMax: number;
  /** States the linearizability search may explore per key before answering "unknown". */
  readonly checkBudgetStatesPerKey: number;
  /** Receives every trace line as it happens (the CLI's --verbose). */
  readonly onTrace?: (line: string) => void;
}

export const DEFAULT_FAULTS: FaultOptions = Object.freeze({
  loss: 0.03,
  duplicate: 0.02,
  longDelay: 0.08,
  crashes: true,
  partitions: true,
  pauses: true,
  tornWrites: true,
  compaction: true,
  reconfiguration: true,
});

export const DEFAULT_SIM = Object.freeze({
  clients: 5,
  keys: Object.freeze(['x', 'y', 'z']) as readonly string[],
  safetyMs: 3_000,
  livenessTicks: 300,
  crashedInLiveness: 0,
  checkBudgetStatesPerKey: 200_000,
});

/** 3 replicas for even seeds, 5 for odd ones: the default alternation of sweeps. */
export function defaultNodes(seed: number): 3 | 5 {
  return seed % 2 === 0 ? 3 : 5;
}

/**
 * A cap on events far above what a run of this length needs (a few thousand
 * events per virtual second), so that only a runaway run reaches it.
 */
const EVENTS_PER_VIRTUAL_MS_MAX = 100;

export function simOptions(seed: number, overrides: Partial<Omit<SimOptions, 'seed'>> = {}): SimOptions {
  const safetyMs = overrides.safetyMs ?? DEFAULT_SIM.safetyMs;
  const livenessTicks = overrides.livenessTicks ?? DEFAULT_SIM.livenessTicks;
  const options: SimOptions = {
    seed,
    nodes: defaultNodes(seed),
    mutant: null,
    ...DEFAULT_SIM,
    eventsMax: Math.ceil((safetyMs + livenessTicks * TICK_MS) * EVENTS_PER_VIRTUAL_MS_MAX),
    faults: DEFAULT_FAULTS,
    ...overrides,
  };
  validateOptions(options);
  return options;
}

export class SimOptionsError extends Error {
  override readonly name = 'SimOptionsError';
}

/** Options cross a boundary (the command line): reject nonsense with a clear message. */
export function validateOptions(options: SimOptions): void {
  const problem = optionsProblem(options);
  if (problem !== undefined) throw new SimOptionsError(problem);
}

function optionsProblem(o: SimOptions): string | undefined {
  if (!Number.isSafeInteger(o.seed) || o.seed < 0 || o.seed > 0xffff_ffff) return `seed must be an integer in [0, 2^32), got ${o.seed}`;
  if (o.nodes !== 3 && o.nodes !== 5) return `nodes must be 3 or 5, got ${String(o.nodes)}`;
  if (!Number.isSafeInteger(o.clients) || o.clients < 1 || o.clients > 64) return `clients must be an integer in [1, 64], got ${o.clients}`;
  if (o.keys.length === 0) return 'at least one key is needed';
  if (!Number.isFinite(o.safetyMs) || o.safetyMs < 0) return `safetyMs must be a non-negative number, got ${o.safetyMs}`;
  if (!Number.isSafeInteger(o.livenessTicks) || o.livenessTicks < 1) return `livenessTicks must be a positive integer, got ${o.livenessTicks}`;
  if (!Number.isSafeInteger(o.crashedInLiveness) || o.crashedInLiveness < 0 || o.crashedInLiveness > o.nodes) {
    return `crashedInLiveness must be an integer in [0, ${o.nodes}], got ${o.crashedInLiveness}`;
  }
  if (!Number.isSafeInteger(o.eventsMax) || o.eventsMax < 1) return `eventsMax must be a positive integer, got ${o.eventsMax}`;
  for (const name of ['loss', 'duplicate', 'longDelay'] as const) {
    const p = o.faults[name];
    if (!(p >= 0 && p <= 1)) return `${name} must be a probability in [0, 1], got ${p}`;
  }
  return undefined;
}
