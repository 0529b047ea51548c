/**
 * One round of single-decree Paxos, step by step, over the real roles of
 * src/core/paxos: proposers P1 and P2, acceptors A1..A3, learners L1 and L2.
 * As in the classic course example, A3 starts crashed, so every quorum is
 * {A1, A2} until it comes back.
 *
 * The session is the list of PaxosCluster actions; replaying them rebuilds the
 * cluster exactly. What the lab adds is policy, never protocol:
 * - clicking a process takes its next step: deliver its oldest message; an idle
 *   proposer proposes its colour; a preempted proposer retries higher;
 * - the duel scheduler is an adversary that delivers every new prepare before
 *   any older accept, and lets preempted proposers retry at once, so two
 *   proposers can preempt each other for ever (a livelock FLP allows);
 * - with a stable leader, only P1 retries; P2 gives up when preempted, and the
 *   next ballot of P1 meets no competition.
 */
import { nodeId, type NodeId } from '../../core/ids.js';
import { PaxosCluster, type ClusterAction, type InFlight } from '../../core/paxos/index.js';

export type PaxosRoundAction = ClusterAction<string>;

export const PROPOSERS = ['P1', 'P2'] as const;
export const ACCEPTORS = ['A1', 'A2', 'A3'] as const;
export const LEARNERS = ['L1', 'L2'] as const;
/** What each proposer proposes when clicked while idle. */
export const PROPOSER_VALUES: Readonly<Record<string, string>> = { P1: 'blue', P2: 'red' };
/** The leader a stable-leader policy keeps. */
export const STABLE_LEADER = 'P1';

export function newPaxosCluster(): PaxosCluster<string> {
  return new PaxosCluster<string>({
    proposers: PROPOSERS.map(nodeId),
    acceptors: ACCEPTORS.map(nodeId),
    learners: LEARNERS.map(nodeId),
  });
}

/** The classic starting point: A3 is down. */
export function initialPaxosActions(): PaxosRoundAction[] {
  return [{ type: 'crash', node: nodeId('A3') }];
}

export function replayPaxosRound(actions: readonly PaxosRoundAction[]): PaxosCluster<string> {
  const cluster = newPaxosCluster();
  for (const action of actions) cluster.apply(action);
  return cluster;
}

export interface PaxosPolicy {
  /** Only the stable leader may retry after being preempted. */
  readonly stableLeader: boolean;
}

function mayRetry(node: string, policy: PaxosPolicy): boolean {
  return !policy.stableLeader || node === STABLE_LEADER;
}

/** What clicking `node` does now, or null if it has nothing to do. */
export function nextStepAction(cluster: PaxosCluster<string>, node: string, policy: PaxosPolicy): PaxosRoundAction | null {
  const id = nodeId(node);
  if (cluster.isCrashed(id)) return null;
  const pending = cluster.pendingFor(id)[0];
  if (pending !== undefined) return { type: 'deliver', id: pending.id };
  if (cluster.roleOf(id) !== 'proposer') return null;
  const phase = cluster.proposer(id)?.phase.phase;
  if (phase === 'idle') return { type: 'propose', node: id, value: PROPOSER_VALUES[node] ?? node };
  if (phase === 'preempted' && mayRetry(node, policy)) return { type: 'retry', node: id };
  return null;
}

const DUEL_PRIORITY: Readonly<Record<InFlight<string>['message']['type'], number>> = {
  prepare: 0,
  promise: 1,
  nack: 2,
  accept: 3,
  accepted: 4,
  decision: 5,
};

/**
 * The adversary's next move: clear messages to crashed processes, let a
 * preempted proposer retry, then deliver prepares before promises before
 * refusals before accepts, oldest first within a kind.
 */
export function duelAction(cluster: PaxosCluster<string>, policy: PaxosPolicy): PaxosRoundAction | null {
  const inFlight = cluster.inFlight();
  const lost = inFlight.find((m) => cluster.isCrashed(m.message.to));
  if (lost !== undefined) return { type: 'deliver', id: lost.id };
  for (const node of PROPOSERS) {
    const id = nodeId(node);
    if (cluster.isCrashed(id) || cluster.pendingFor(id).length > 0) continue;
    if (cluster.proposer(id)?.phase.phase === 'preempted' && mayRetry(node, policy)) return { type: 'retry', node: id };
  }
  const next = [...inFlight].sort((a, b) => DUEL_PRIORITY[a.message.type] - DUEL_PRIORITY[b.message.type] || a.id - b.id)[0];
  return next === undefined ? null : { type: 'deliver', id: next.id };
}

/** The highest ballot round any live proposer has issued (how far a duel has climbed). */
export function highestRound(cluster: PaxosCluster<string>): number {
  let round = 0;
  for (const node of PROPOSERS) {
    const proposer = cluster.proposer(nodeId(node));
    if (proposer !== null) round = Math.max(round, proposer.durableState.highestIssued.round);
  }
  return round;
}

/** Learners that know the decision. */
export function learnersDecided(cluster: PaxosCluster<string>): { node: string; value: string }[] {
  const result: { node: string; value: string }[] = [];
  for (const node of LEARNERS) {
    const value = cluster.learner(nodeId(node))?.decision();
    if (value !== undefined) result.push({ node, value });
  }
  return result;
}

/** Acceptors whose current vote is for `value` in the ballot that chose it. */
export function acceptorsHolding(cluster: PaxosCluster<string>, value: string): NodeId[] {
  return ACCEPTORS.map(nodeId).filter((a) => cluster.persistedAcceptorState(a).accepted?.value === value);
}

/** The Paxos view's session as a link carries it. */
export interface PaxosSession {
  readonly stableLeader: boolean;
  readonly actions: readonly PaxosRoundAction[];
  /** How many actions are applied in the state shown (time travel). */
  readonly at: number;
}

export function defaultPaxosSession(): PaxosSession {
  const actions = initialPaxosActions();
  return { stableLeader: false, actions, at: actions.length };
}

const ALL_NODES: readonly string[] = [...PROPOSERS, ...ACCEPTORS, ...LEARNERS];

/** Checks a session from a link; replaying it may still fail (an action that does not fit), which the caller reports. */
export function parsePaxosSession(v: unknown): { ok: true; value: PaxosSession } | { ok: false; error: string } {
  if (typeof v !== 'object' || v === null) return { ok: false, error: 'a session must be an object' };
  const r = v as Record<string, unknown>;
  if (!Array.isArray(r.actions) || r.actions.length > 5000) return { ok: false, error: 'actions must be a list' };
  const actions: PaxosRoundAction[] = [];
  for (const [index, raw] of (r.actions as unknown[]).entries()) {
    const a = raw as Record<string, unknown> | null;
    const bad = { ok: false as const, error: `action ${index} is malformed` };
    if (typeof a !== 'object' || a === null) return bad;
    switch (a.type) {
      case 'deliver':
      case 'drop':
      case 'duplicate':
        if (!Number.isSafeInteger(a.id) || (a.id as number) < 1) return bad;
        actions.push({ type: a.type, id: a.id as number });
        break;
      case 'crash':
      case 'restart':
      case 'retry':
        if (typeof a.node !== 'string' || !ALL_NODES.includes(a.node)) return bad;
        actions.push({ type: a.type, node: nodeId(a.node) });
        break;
      case 'propose':
        if (typeof a.node !== 'string' || !(PROPOSERS as readonly string[]).includes(a.node) || typeof a.value !== 'string' || a.value.length > 32) return bad;
        actions.push({ type: 'propose', node: nodeId(a.node), value: a.value });
        break;
      default:
        return bad;
    }
  }
  const at = Number.isSafeInteger(r.at) ? Math.max(0, Math.min(r.at as number, actions.length)) : actions.length;
  return { ok: true, value: { stableLeader: r.stableLeader === true, actions, at } };
}
