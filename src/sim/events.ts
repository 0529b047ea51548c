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
export const ACTIVITY_KINDS = ['compaction', 'state-transfer', 'catchup', 'election', 'client-retry', 'client-gave-up'] as const;
export type ActivityKind = (typeof ACTIVITY_KINDS)[number];

export type Counts<K extends string> = Record<K, number>;

export function zeroCounts<K extends string>(kinds: readonly K[]): Counts<K> {
  const counts = {} as Counts<K>;
  for (const kind of kinds) counts[kind] = 0;
  return counts;
}

export function addCounts<K extends string>(into: Counts<K>, from: Counts<K>): void {
  for (const kind of Object.keys(from) as K[]) into[kind] = (into[kind] ?? 0) + from[kind];
}
