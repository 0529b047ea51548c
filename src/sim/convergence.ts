/**
 * The liveness phase's goal and the end-of-run checks over the whole history.
 * Kept apart from the event loop so each reads on its own.
 */
import { formatBallot } from '../core/ballot.js';
import type { NodeId } from '../core/ids.js';
import { checkLinearizable, formatHistory } from '../check/linearizability.js';
import type { SimCluster } from './events.js';
import type { InvariantChecker } from './invariants.js';
import type { KvRegister } from './kv-register.js';
import type { Workload } from './workload.js';

/**
 * One leader followed by every live member, nothing in flight, one applied
 * prefix, one state, everything synced. `members` are the voters and learners
 * of the newest configuration: removed members and spares never added need not
 * follow anyone (the invariants still hold them to every safety property).
 * Every member is live by then unless a test kept some down.
 */
export function converged(cluster: SimCluster, members: readonly NodeId[], registerOf: (node: NodeId) => KvRegister): boolean {
  const views = members.map((id) => cluster.node(id)).filter((view) => view.up);
  if (views.some((view) => view.unsyncedRecords > 0)) return false;
  const statuses = views.map((view) => view.replica.status());
  const leaders = statuses.filter((s) => s.role === 'leader');
  const leader = leaders[0];
  if (leaders.length !== 1 || leader === undefined || leader.inflightSlots > 0 || leader.pendingCommands > 0) return false;
  const applied = leader.appliedThrough;
  if (!statuses.every((s) => s.appliedThrough === applied && s.decidedThrough === applied && s.leader === leader.self)) return false;
  const digest = registerOf(leader.self).digest();
  return views.every((view) => registerOf(view.id).digest() === digest);
}

/** Each replica's role, standing and progress, for the liveness report. */
export function describeReplicas(cluster: SimCluster): string {
  return cluster.nodeIds
    .map((id) => {
      const node = cluster.node(id);
      if (!node.up) return `${id} down`;
      const s = node.replica.status();
      return `${id} ${s.role} ${s.standing} ${formatBallot(s.ballot)} leader ${s.leader ?? '-'} decided ${s.decidedThrough} applied ${s.appliedThrough}`;
    })
    .join('; ');
}

export interface HistoryVerdict {
  readonly linearizability: 'ok' | 'unknown' | 'violation' | 'not-checked';
  /** The failing key's sub-history, formatted, when linearizability failed. */
  readonly history?: string;
}

/**
 * Nothing acknowledged was lost (every write a client saw complete executed in
 * the state machine), then the whole history goes to the linearizability checker.
 * Breaches are reported to `checker`.
 */
export function checkHistory(workload: Workload, checker: InvariantChecker, budgetStatesPerKey: number): HistoryVerdict {
  for (const command of workload.acknowledgedWrites()) {
    if (!checker.executed(command)) {
      checker.report('exactly-once', `${command.client}#${command.seq} was acknowledged but never executed: an acknowledged write was lost`);
      return { linearizability: 'not-checked' };
    }
  }
  const result = checkLinearizable(workload.history, { budgetStatesPerKey });
  switch (result.kind) {
    case 'ok':
      return { linearizability: 'ok' };
    case 'unknown':
      return { linearizability: 'unknown' };
    case 'violation':
      checker.report('linearizability', `key ${result.key}: ${result.explanation}`);
      return { linearizability: 'violation', history: formatHistory(result.operations) };
    default: {
      const never: never = result;
      throw new Error(`unknown checker result ${JSON.stringify(never)}`);
    }
  }
}
