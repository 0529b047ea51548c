/**
 * The proposer of single-decree Paxos ("Paxos Made Simple", §2.2 and §2.5).
 *
 * Public shape as in the literature: `propose(value)` starts an attempt to get a
 * value chosen, and `query()` says which value was chosen once a learner has told
 * this proposer. A proposer whose own value lost still learns the winner.
 *
 * An attempt is preempted when an acceptor refuses it with a higher promise. The
 * proposer does not retry by itself: retrying is a policy (a timer, a leader
 * election, a visitor clicking in the lab), and two proposers that both retry at
 * once can preempt each other forever. `retry()` starts a new, higher ballot.
 */
import { assert, assertNever } from '../assert.js';
import { ballotsEqual, compareBallots, maxBallot, nextBallot, ZERO_BALLOT, type Ballot } from '../ballot.js';
import type { NodeId } from '../ids.js';
import type { QuorumSystem } from '../quorum.js';
import type {
  AcceptedValue,
  DecisionMessage,
  DurableEffects,
  NackMessage,
  PaxosMessage,
  PromiseMessage,
  ProposerMessage,
} from './messages.js';

/**
 * The one thing a proposer must remember across a crash (§2.5: "each proposer
 * remembers, in stable storage, the highest-numbered proposal it has tried to
 * issue"). Without it a restarted proposer could reuse a ballot with a different
 * value, and an old accept still in flight would then put two values in one ballot.
 */
export interface ProposerDurableState {
  readonly highestIssued: Ballot;
}

export type ProposerEffects<V> = DurableEffects<ProposerDurableState, V>;

export type ProposerPhase<V> =
  /** Nothing asked yet, or restarted (a restart forgets the client's value). */
  | { readonly phase: 'idle' }
  /** Phase 1: prepare(ballot) sent; gathering promises keyed by acceptor. */
  | {
      readonly phase: 'preparing';
      readonly ballot: Ballot;
      readonly ownValue: V;
      readonly promises: ReadonlyMap<NodeId, AcceptedValue<V> | null>;
    }
  /** Phase 2: accept(ballot, value) sent; `value` may be another proposer's. */
  | { readonly phase: 'accepting'; readonly ballot: Ballot; readonly ownValue: V; readonly value: V }
  /** An acceptor refused `ballot` because it had promised `by`. */
  | { readonly phase: 'preempted'; readonly ballot: Ballot; readonly ownValue: V; readonly by: Ballot }
  /** A learner told us the chosen value. Final. */
  | { readonly phase: 'decided'; readonly value: V };

const NO_EFFECTS: ProposerEffects<never> = Object.freeze({ persist: null, afterDurable: { send: [] } });

export class Proposer<V> {
  private current: ProposerPhase<V> = { phase: 'idle' };
  private durable: ProposerDurableState;
  /** The highest ballot any refusal reported; volatile, a retry just has to beat it. */
  private highestSeen: Ballot = ZERO_BALLOT;

  constructor(
    readonly id: NodeId,
    private readonly acceptors: QuorumSystem,
    persisted: ProposerDurableState = { highestIssued: ZERO_BALLOT },
  ) {
    this.durable = persisted;
  }

  /** A proposer coming back after a crash: it keeps only its highest issued ballot. */
  static restore<V>(id: NodeId, acceptors: QuorumSystem, persisted: ProposerDurableState): Proposer<V> {
    return new Proposer<V>(id, acceptors, persisted);
  }

  get phase(): ProposerPhase<V> {
    return this.current;
  }

  get durableState(): ProposerDurableState {
    return this.durable;
  }

  /** The chosen value once a learner has told us, else undefined ("unknown"). */
  query(): V | undefined {
    return this.current.phase === 'decided' ? this.current.value : undefined;
  }

  /**
   * Starts a new attempt, in a ballot above every ballot this proposer has issued
   * or seen, to get `value` chosen. Does nothing once a value is known to be
   * chosen: the decision is final and `query()` already answers.
   */
  propose(value: V): ProposerEffects<V> {
    if (this.current.phase === 'decided') return NO_EFFECTS;
    return this.startAttempt(value);
  }

  /** Starts a new, higher attempt for the value last proposed; nothing if there is none. */
  retry(): ProposerEffects<V> {
    switch (this.current.phase) {
      case 'idle':
      case 'decided':
        return NO_EFFECTS;
      case 'preparing':
      case 'accepting':
      case 'preempted':
        return this.startAttempt(this.current.ownValue);
      default:
        return assertNever(this.current, 'proposer phase');
    }
  }

  receive(message: ProposerMessage<V>): ProposerEffects<V> {
    assert(message.to === this.id, () => `proposer ${this.id} got a message addressed to ${message.to}`);
    switch (message.type) {
      case 'promise':
        return this.onPromise(message);
      case 'nack':
        return this.onNack(message);
      case 'decision':
        return this.onDecision(message);
      default:
        return assertNever(message, 'proposer message');
    }
  }

  private startAttempt(ownValue: V): ProposerEffects<V> {
    const ballot = nextBallot(maxBallot(this.durable.highestIssued, this.highestSeen), this.id);
    this.durable = { highestIssued: ballot };
    this.current = { phase: 'preparing', ballot, ownValue, promises: new Map() };
    const send: PaxosMessage<V>[] = this.acceptors.members.map((acceptor) => ({
      type: 'prepare',
      from: this.id,
      to: acceptor,
      ballot,
    }));
    // The ballot is durable before any prepare leaves, so no restart can reissue it.
    return { persist: this.durable, afterDurable: { send } };
  }

  /**
   * Phase 2a. With a phase-1 quorum of promises, propose the value of the
   * highest-ballot acceptance any of them reported, else our own value. Every
   * phase-2 quorum that could have chosen a value in a lower ballot intersects
   * this phase-1 quorum, so a chosen value is always among those reported and,
   * by induction over ballots, it is the highest-ballot one (§2.2, P2c).
   */
  private onPromise(message: PromiseMessage<V>): ProposerEffects<V> {
    const current = this.current;
    // Promises for an older attempt, or arriving after the quorum, carry nothing we need.
    if (current.phase !== 'preparing' || !ballotsEqual(message.ballot, current.ballot)) return NO_EFFECTS;
    const promises = new Map(current.promises);
    promises.set(message.from, message.accepted);
    if (!this.acceptors.isPhase1Quorum(new Set(promises.keys()))) {
      this.current = { ...current, promises };
      return NO_EFFECTS;
    }
    const value = highestAccepted(promises.values())?.value ?? current.ownValue;
    this.current = { phase: 'accepting', ballot: current.ballot, ownValue: current.ownValue, value };
    const send: PaxosMessage<V>[] = this.acceptors.members.map((acceptor) => ({
      type: 'accept',
      from: this.id,
      to: acceptor,
      ballot: current.ballot,
      value,
    }));
    return { persist: null, afterDurable: { send } };
  }

  private onNack(message: NackMessage): ProposerEffects<V> {
    assert(
      compareBallots(message.promised, message.rejected) > 0,
      () => `nack from ${message.from} reports a promise not above the ballot it refused`,
    );
    this.highestSeen = maxBallot(this.highestSeen, message.promised);
    const current = this.current;
    if ((current.phase === 'preparing' || current.phase === 'accepting') && ballotsEqual(message.rejected, current.ballot)) {
      this.current = { phase: 'preempted', ballot: current.ballot, ownValue: current.ownValue, by: message.promised };
    }
    return NO_EFFECTS;
  }

  private onDecision(message: DecisionMessage<V>): ProposerEffects<V> {
    this.current = { phase: 'decided', value: message.value };
    return NO_EFFECTS;
  }
}

/** The acceptance with the highest ballot, or undefined if none was reported. */
export function highestAccepted<V>(reports: Iterable<AcceptedValue<V> | null>): AcceptedValue<V> | undefined {
  let best: AcceptedValue<V> | undefined;
  for (const report of reports) {
    if (report !== null && (best === undefined || compareBallots(report.ballot, best.ballot) > 0)) best = report;
  }
  return best;
}
