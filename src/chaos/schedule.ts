/**
 * The nemesis schedule: which fault, when, for how long, against whom. It is a
 * pure function of the seed and the run's shape, computed before the run, so
 * a seed names the same schedule on every machine even though the processes'
 * timing differs. Targets that depend on the cluster's state ("the leader")
 * are named as roles here and resolved when the fault starts.
 *
 * Faults come in rounds: each round is every enabled kind once, in a shuffled
 * order, so a run of a few rounds' length injects every kind. Faults never
 * overlap: each is healed before a calm gap and the next one.
 */
import { Random } from '../core/random.js';

export const FAULT_KINDS = [
  'kill',
  'pause',
  'partition-majority',
  'partition-leader',
  'partition-one-way',
  'partition-bridge',
  'flapping',
  'slow-network',
  'lossy-network',
  'disk-full',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export function isFaultKind(text: string): text is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(text);
}

export const FAULT_DESCRIPTIONS: Readonly<Record<FaultKind, string>> = Object.freeze({
  kill: 'kill -9 a node (often the leader), restart it later',
  pause: 'SIGSTOP a node (often the leader), SIGCONT it later',
  'partition-majority': 'split the nodes into a majority and a minority, both directions cut',
  'partition-leader': 'cut the leader off from every other node, both directions',
  'partition-one-way': 'a node (often the leader) can no longer send, or no longer receive',
  'partition-bridge': 'two halves that cannot see each other, and one node that sees both',
  flapping: 'a majority/minority partition that comes and goes every few hundred ms',
  'slow-network': 'every peer message delayed by tens to hundreds of ms',
  'lossy-network': 'a fraction of every peer message lost',
  'disk-full': 'restart a node allowed to grow its files only a little (RLIMIT_FSIZE): its writes fail',
});

/** Who a fault is aimed at, resolved when it starts. */
export type Target = { role: 'leader' } | { role: 'node'; index: number };

/** How a cut link fails: silently (blackhole) or loudly (connections reset). */
export type CutStyle = 'blackhole' | 'reset';

export type FaultPlan =
  | { kind: 'kill'; target: Target; downMs: number }
  | { kind: 'pause'; target: Target; pausedMs: number }
  | { kind: 'partition-majority'; order: readonly number[]; style: CutStyle; durationMs: number }
  | { kind: 'partition-leader'; style: CutStyle; durationMs: number }
  | { kind: 'partition-one-way'; target: Target; direction: 'outbound' | 'inbound'; style: CutStyle; durationMs: number }
  | { kind: 'partition-bridge'; order: readonly number[]; style: CutStyle; durationMs: number }
  | { kind: 'flapping'; order: readonly number[]; style: CutStyle; periodMs: number; durationMs: number }
  | { kind: 'slow-network'; delayMs: number; jitterMs: number; durationMs: number }
  | { kind: 'lossy-network'; dropProbability: number; durationMs: number }
  /**
   * 'fills-up': files may grow `headroomBytes` past the newest log segment, so
   * writes fail a little later (unless a log rewrite starts a small segment
   * first); 'already-full': no file may grow past `headroomBytes`, so the
   * first append fails.
   */
  | { kind: 'disk-full'; target: Target; mode: 'fills-up' | 'already-full'; headroomBytes: number; durationMs: number };

export interface ScheduledFault {
  /** Milliseconds after the workload starts. */
  readonly atMs: number;
  readonly plan: FaultPlan;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly nodes: number;
  readonly kinds: readonly FaultKind[];
  /** Calm before the first fault, so the workload is running when faults begin. */
  readonly warmupMs?: number;
  /** No fault starts later than this before the end of the run. */
  readonly cooldownMs?: number;
}

/** How long a fault lasts, from start to heal, by plan. */
export function faultDurationMs(plan: FaultPlan): number {
  switch (plan.kind) {
    case 'kill':
      return plan.downMs;
    case 'pause':
      return plan.pausedMs;
    default:
      return plan.durationMs;
  }
}

export function planSchedule(options: ScheduleOptions): ScheduledFault[] {
  const random = new Random(options.seed ^ 0x6e656d65); // "neme": keeps this stream apart from the workload's
  const warmupMs = options.warmupMs ?? 2_000;
  const cooldownMs = options.cooldownMs ?? 1_500;
  const schedule: ScheduledFault[] = [];
  if (options.kinds.length === 0) return schedule;
  let at = warmupMs;
  // Bounded: every fault advances `at` by at least its gap (>= 300 ms).
  while (true) {
    const round = shuffle([...options.kinds], random);
    for (const kind of round) {
      const plan = planFault(kind, options.nodes, random);
      const endMs = at + faultDurationMs(plan);
      if (endMs > options.durationMs - cooldownMs) return schedule;
      schedule.push({ atMs: at, plan });
      at = endMs + random.intBetween(300, 1_500);
    }
  }
}

function planFault(kind: FaultKind, nodes: number, random: Random): FaultPlan {
  const target = (): Target => (random.chance(0.5) ? { role: 'leader' } : { role: 'node', index: random.intBetween(0, nodes - 1) });
  const style = (): CutStyle => (random.chance(0.5) ? 'blackhole' : 'reset');
  const order = (): number[] => shuffle(Array.from({ length: nodes }, (_, i) => i), random);
  const durationMs = (): number => random.intBetween(1_000, 4_000);
  switch (kind) {
    case 'kill':
      return { kind, target: target(), downMs: random.intBetween(300, 3_000) };
    case 'pause':
      return { kind, target: target(), pausedMs: random.intBetween(500, 4_000) };
    case 'partition-majority':
      return { kind, order: order(), style: style(), durationMs: durationMs() };
    case 'partition-leader':
      return { kind, style: style(), durationMs: durationMs() };
    case 'partition-one-way':
      return { kind, target: target(), direction: random.chance(0.5) ? 'outbound' : 'inbound', style: style(), durationMs: durationMs() };
    case 'partition-bridge':
      return { kind, order: order(), style: style(), durationMs: durationMs() };
    case 'flapping':
      return { kind, order: order(), style: style(), periodMs: random.intBetween(100, 600), durationMs: durationMs() };
    case 'slow-network':
      return { kind, delayMs: random.intBetween(10, 150), jitterMs: random.intBetween(0, 100), durationMs: durationMs() };
    case 'lossy-network':
      return { kind, dropProbability: random.intBetween(5, 40) / 100, durationMs: durationMs() };
    case 'disk-full':
      return {
        kind,
        target: target(),
        mode: random.chance(0.5) ? 'fills-up' : 'already-full',
        headroomBytes: random.intBetween(1, 16) * 1024,
        durationMs: random.intBetween(2_000, 4_000),
      };
    default: {
      const never: never = kind;
      throw new Error(`unknown fault kind ${String(never)}`);
    }
  }
}

function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = random.intBetween(0, i);
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Splits node indices (in `order`) into a majority and a minority. */
export function majorityMinority(order: readonly number[]): [number[], number[]] {
  const majority = Math.floor(order.length / 2) + 1;
  return [order.slice(0, majority), order.slice(majority)];
}

/**
 * A bridge: two halves that cannot reach each other, and `order[0]` in the
 * middle reaching both. Returns [bridge, left, right].
 */
export function bridgeSides(order: readonly number[]): [number, number[], number[]] {
  const [bridge, ...rest] = order as [number, ...number[]];
  const half = Math.ceil(rest.length / 2);
  return [bridge, rest.slice(0, half), rest.slice(half)];
}

/** One line per fault, for `--verbose` and for failure reports. */
export function describePlan(plan: FaultPlan): string {
  const who = (target: Target): string => (target.role === 'leader' ? 'the leader' : `node #${target.index + 1}`);
  switch (plan.kind) {
    case 'kill':
      return `kill -9 ${who(plan.target)}, restart after ${plan.downMs} ms`;
    case 'pause':
      return `pause ${who(plan.target)} for ${plan.pausedMs} ms`;
    case 'partition-majority':
      return `majority/minority partition (${plan.style}) for ${plan.durationMs} ms`;
    case 'partition-leader':
      return `isolate the leader (${plan.style}) for ${plan.durationMs} ms`;
    case 'partition-one-way':
      return `${who(plan.target)} cannot ${plan.direction === 'outbound' ? 'send' : 'receive'} (${plan.style}) for ${plan.durationMs} ms`;
    case 'partition-bridge':
      return `bridge partition (${plan.style}) for ${plan.durationMs} ms`;
    case 'flapping':
      return `flapping partition every ${plan.periodMs} ms (${plan.style}) for ${plan.durationMs} ms`;
    case 'slow-network':
      return `peer messages delayed ${plan.delayMs}+${plan.jitterMs} ms for ${plan.durationMs} ms`;
    case 'lossy-network':
      return `${Math.round(plan.dropProbability * 100)}% of peer messages lost for ${plan.durationMs} ms`;
    case 'disk-full':
      return plan.mode === 'fills-up'
        ? `${who(plan.target)} restarted with ${plan.headroomBytes} bytes of file headroom for ${plan.durationMs} ms`
        : `${who(plan.target)} restarted with files limited to ${plan.headroomBytes} bytes for ${plan.durationMs} ms`;
    default: {
      const never: never = plan;
      return String(never);
    }
  }
}
