/**
 * Ballots (proposal numbers) are pairs (round, node), totally ordered by round and
 * then by node id. Because each node only ever issues ballots carrying its own id,
 * two proposers can never issue the same ballot: the uniqueness Paxos needs for
 * "at most one value per ballot".
 */
import { assert } from './assert.js';
import type { NodeId } from './ids.js';

export interface Ballot {
  readonly round: number;
  readonly node: NodeId;
}

/** Below every ballot a proposer can issue; what a fresh acceptor has promised. */
export const ZERO_BALLOT: Ballot = Object.freeze({ round: 0, node: '' as NodeId });

export function ballot(round: number, node: NodeId): Ballot {
  assert(Number.isSafeInteger(round) && round >= 0, () => `a ballot round must be a non-negative integer, got ${round}`);
  return { round, node };
}

/** Negative if a < b, zero if equal, positive if a > b. The one ballot order. */
export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round - b.round;
  if (a.node === b.node) return 0;
  return a.node < b.node ? -1 : 1;
}

export function ballotsEqual(a: Ballot, b: Ballot): boolean {
  return compareBallots(a, b) === 0;
}

export function maxBallot(a: Ballot, b: Ballot): Ballot {
  return compareBallots(a, b) >= 0 ? a : b;
}

/** The smallest ballot owned by `node` that is above `above`. */
export function nextBallot(above: Ballot, node: NodeId): Ballot {
  const sameRound = { round: above.round, node };
  return compareBallots(sameRound, above) > 0 ? sameRound : { round: above.round + 1, node };
}

export function formatBallot(b: Ballot): string {
  return `${b.round}.${b.node}`;
}
