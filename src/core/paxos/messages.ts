/**
 * The messages of single-decree Paxos ("Paxos Made Simple", §2.2–2.4), declared
 * together so the whole conversation between the roles reads in one place:
 *
 *   proposer --prepare(n)-->        acceptor   phase 1a
 *   acceptor --promise(n, last)-->  proposer   phase 1b
 *   proposer --accept(n, v)-->      acceptor   phase 2a
 *   acceptor --accepted(n, v)-->    learner    phase 2b
 *   acceptor --nack(n, promised)--> proposer   refusal of a 1a or 2a
 *   learner  --decision(v)-->       proposer   the chosen value
 *
 * Every message names its sender and its recipient so a network of messages can
 * be inspected, delivered, dropped and duplicated one at a time (see cluster.ts).
 */
import type { Ballot } from '../ballot.js';
import type { NodeId } from '../ids.js';

/** A value an acceptor accepted, with the ballot it accepted it in. */
export interface AcceptedValue<V> {
  readonly ballot: Ballot;
  readonly value: V;
}

export interface PrepareMessage {
  readonly type: 'prepare';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Ballot;
}

export interface PromiseMessage<V> {
  readonly type: 'promise';
  readonly from: NodeId;
  readonly to: NodeId;
  /** The ballot being promised: the one from the prepare this answers. */
  readonly ballot: Ballot;
  /** The highest-ballot value this acceptor had accepted, or null if none. */
  readonly accepted: AcceptedValue<V> | null;
}

export interface AcceptMessage<V> {
  readonly type: 'accept';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Ballot;
  readonly value: V;
}

export interface AcceptedMessage<V> {
  readonly type: 'accepted';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly ballot: Ballot;
  readonly value: V;
}

export interface NackMessage {
  readonly type: 'nack';
  readonly from: NodeId;
  readonly to: NodeId;
  /** Which request was refused; only for display, the proposer treats both alike. */
  readonly refused: 'prepare' | 'accept';
  /** The ballot of the refused request. */
  readonly rejected: Ballot;
  /** The acceptor's promise, which is above `rejected`: a retry must exceed it. */
  readonly promised: Ballot;
}

export interface DecisionMessage<V> {
  readonly type: 'decision';
  readonly from: NodeId;
  readonly to: NodeId;
  readonly value: V;
}

export type PaxosMessage<V> =
  | PrepareMessage
  | PromiseMessage<V>
  | AcceptMessage<V>
  | AcceptedMessage<V>
  | NackMessage
  | DecisionMessage<V>;

/** What each role receives. */
export type AcceptorMessage<V> = PrepareMessage | AcceptMessage<V>;
export type ProposerMessage<V> = PromiseMessage<V> | NackMessage | DecisionMessage<V>;
export type LearnerMessage<V> = AcceptedMessage<V>;

/**
 * The effects of a role with durable state, in the order the host must perform
 * them (as etcd-io/raft's `Ready` does):
 *   1. if `persist` is not null, write it to stable storage and wait until it is
 *      durable;
 *   2. only then send `afterDurable.send`.
 * Sending first would let a crash erase a promise or an acceptance that another
 * node has already counted on, which is exactly how Paxos loses safety.
 */
export interface DurableEffects<S, V> {
  /** The role's whole durable state after this step, or null if it did not change. */
  readonly persist: S | null;
  readonly afterDurable: { readonly send: readonly PaxosMessage<V>[] };
}
