/**
 * The simulator's vocabulary: the events on its agenda, the scheduler the parts
 * use to put events there, and the counters of injected faults.
 */
import type { NodeId } from '../core/ids.js';
import type { SessionCommand, SessionOutput } from '../smr/sessions.js';
import type { KvInput, KvOutput } from '../check/history.js';
import type { Cluster, ClusterEvent } from './cluster.js';

/** What the replicas order: a client's key-value operation with its session number. */
export type Command = SessionCommand<KvInput>;
export type Output = SessionOutput<KvOutput>;
export type SimCluster = Cluster<Command, Output>;
export type SimClusterEvent = ClusterEvent<Command, Output>;

export type SimEvent =
  /** A message in flight (by its cluster id) reaches its destination, unless a link is cut. */
  | { readonly kind: 'deliver'; readonly messageId: number }
  | { readonly kind: 'tick'; readonly node: NodeId }
  /**
   * The node's fsync completes, making durable the `records` written before it
   * was issued; `generation` ignores syncs issued before a crash.
   */
  | { readonly kind: 'sync'; readonly node: NodeId; readonly generation: number; readonly records: number }
  | { readonly kind: 'compact'; readonly node: NodeId }
  /** Time for the fault injector to strike again. */
  | { readonly kind: 'nemesis' }
  | { readonly kind: 'restart'; readonly node: NodeId }
  | { readonly kind: 'resume'; readonly node: NodeId }
  | { readonly kind: 'heal-partition'; readonly partition: number }
  /** A client is done thinking and issues its next operation. */
  | { readonly kind: 'client-wake'; readonly client: number }
  /** A client's request (attempt `attempt` of its current operation) reaches the node. */
  | { readonly kind: 'client-arrive'; readonly client: number; readonly attempt: number }
  | { readonly kind: 'client-timeout'; readonly client: number; readonly attempt: number }
  /** Time for the reconfiguration driver to start or retry a configuration change. */
  | { readonly kind: 'reconfigure' }
  /** Request `id` of a configuration change has had no answer for a while. */
  | { readonly kind: 'reconfigure-timeout'; readonly id: string }
  /** The end of the safety phase: every fault is healed. */
  | { readonly kind: 'heal-all' }
  | { readonly kind: 'liveness-check' };

export interface Scheduler {
  /** The current virtual time in milliseconds. */
  readonly now: number;
  /** Schedules `event` at `now + delayMs`. */
  after(delayMs: number, event: SimEvent): void;
}

export const FAULT_KINDS = [
  'message-lost',
  'message-duplicated',
  'message-delayed-long',
  'message-cut',
  'partition-symmetric',
  'partition-one-way',
  'crash',
  'crash-leader',
  'power-loss',
  'torn-write',
  'unsynced-records-lost',
  'pause',
  'timer-stall',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Not faults, but what the faults are meant to exercise; counted to show they happen. */
export const ACTIVITY_KINDS = [
  'compaction',
  'state-transfer',
  'catchup',
  'election',
  'client-retry',
  'client-gave-up',
  /** Configuration changes applied (each counted once); by kind in RECONFIGURATION_COUNTS. */
  'reconfiguration',
  /** Partitions cutting the leader and the new voters' majority off from the old voters' majority as a change starts. */
  'reconfiguration-cut',
  /** Leaders that handed over (a timeout-now) because a change removed them. */
  'hand-over',
  /** Reads a leader served under its read lease, with no round of its own. */
  'lease-read',
] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

/**
 * The configuration changes the simulator makes (src/sim/reconfiguration.ts):
 * grow adds two learners (then promote makes them voters), shrink removes voters
 * down to three, replace puts a new node in a down voter's place at once,
 * replace-as-learner adds it as a learner first (then swap-in promotes it and
 * removes the down voter).
 */
export const CHANGE_KINDS = ['grow', 'promote', 'shrink', 'replace', 'replace-as-learner', 'swap-in'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** Changes applied, by kind, and requests refused or given up. */
export const RECONFIGURATION_COUNTS = [...CHANGE_KINDS, 'rejected', 'given-up'] as const;
export type ReconfigurationCount = (typeof RECONFIGURATION_COUNTS)[number];

export type Counts<K extends string> = Record<K, number>;

export function zeroCounts<K extends string>(kinds: readonly K[]): Counts<K> {
  const counts = {} as Counts<K>;
  for (const kind of kinds) counts[kind] = 0;
  return counts;
}

export function addCounts<K extends string>(into: Counts<K>, from: Counts<K>): void {
  for (const kind of Object.keys(from) as K[]) into[kind] = (into[kind] ?? 0) + from[kind];
}
