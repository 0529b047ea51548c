/**
 * Phase 1 of Multi-Paxos, as pure functions: what an acceptor reports in its
 * promise, and what a new leader must propose once a quorum has promised.
 */
import { compareBallots, type Ballot } from '../ballot.js';
import type { NodeId, Slot } from '../ids.js';
import type { DurableState } from './durable.js';
import type { AcceptedEntry, DecidedEntry, PromiseMessage, SlotValue } from './types.js';

/** Builds the promise an acceptor with `state` sends for `ballot` from `fromSlot` on. */
export function buildPromise<C>(
  state: DurableState<C>,
  from: NodeId,
  to: NodeId,
  ballot: Ballot,
  fromSlot: Slot,
  decidedMax: number,
): PromiseMessage<C> {
  const accepted: AcceptedEntry<C>[] = [];
  for (const [slot, vote] of state.accepted) {
    if (slot >= fromSlot) accepted.push({ slot, ballot: vote.ballot, value: vote.value });
  }
  const decided: DecidedEntry<C>[] = [];
  let decidedTruncated = false;
  for (const slot of [...state.decided.keys()].sort((a, b) => a - b)) {
    if (slot < fromSlot) continue;
    if (decided.length >= decidedMax) {
      decidedTruncated = true;
      break;
    }
    decided.push({ slot, value: state.decided.get(slot) as SlotValue<C> });
  }
  accepted.sort((a, b) => a.slot - b.slot);
  return {
    type: 'promise',
    from,
    to,
    ballot,
    fromSlot,
    accepted,
    decided,
    decidedTruncated,
    compactedThrough: state.compactedThrough,
  };
}

/** True when the promise shows the candidate lacks decided values it cannot rebuild. */
export function promiseShowsCandidateBehind<C>(promise: PromiseMessage<C>): boolean {
  return promise.decidedTruncated || promise.compactedThrough >= promise.fromSlot;
}

/**
 * The value Paxos obliges a proposer to use: the one accepted in the highest
 * ballot among the votes a phase-1 quorum reported (Paxos Made Simple, P2c), or
 * null when no acceptor in the quorum voted for the slot (the proposer is free).
 */
export function highestBallotValue<C>(votes: readonly AcceptedEntry<C>[]): SlotValue<C> | null {
  let best: AcceptedEntry<C> | null = null;
  for (const vote of votes) {
    if (best === null || compareBallots(vote.ballot, best.ballot) > 0) best = vote;
  }
  return best === null ? null : best.value;
}

export interface Phase1Outcome<C> {
  /** Slots some acceptor in the quorum knew decided. */
  readonly decided: Map<Slot, SlotValue<C>>;
  /** Votes reported per slot not known decided. */
  readonly votes: Map<Slot, AcceptedEntry<C>[]>;
  /** The highest slot any promise mentioned. */
  readonly highestSlot: Slot;
}

export function mergePromises<C>(promises: Iterable<PromiseMessage<C>>, highestKnown: Slot): Phase1Outcome<C> {
  const decided = new Map<Slot, SlotValue<C>>();
  const votes = new Map<Slot, AcceptedEntry<C>[]>();
  let highestSlot = highestKnown;
  for (const promise of promises) {
    for (const entry of promise.decided) {
      decided.set(entry.slot, entry.value);
      if (entry.slot > highestSlot) highestSlot = entry.slot;
    }
    for (const entry of promise.accepted) {
      const list = votes.get(entry.slot);
      if (list === undefined) votes.set(entry.slot, [entry]);
      else list.push(entry);
      if (entry.slot > highestSlot) highestSlot = entry.slot;
    }
  }
  return { decided, votes, highestSlot };
}
