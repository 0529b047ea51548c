/**
 * The acceptor of single-decree Paxos ("Paxos Made Simple", §2.2 and §2.3). It is
 * the only role whose memory Paxos's safety rests on, so its durable state is
 * exactly what the proof needs: the highest ballot it promised and the last value
 * it accepted. Everything it says is sent only after that state is durable.
 */
import { assert, assertNever } from '../assert.js';
import { compareBallots, ballotsEqual, ZERO_BALLOT, type Ballot } from '../ballot.js';
import type { NodeId } from '../ids.js';
import type {
  AcceptMessage,
  AcceptedValue,
  AcceptorMessage,
  DurableEffects,
  NackMessage,
  PaxosMessage,
  PrepareMessage,
} from './messages.js';

/** The acceptor's whole durable state; a restart resumes from exactly this. */
export interface AcceptorState<V> {
  /** No accept below this ballot will ever be honoured. */
  readonly promised: Ballot;
  /** The last value accepted, or null if none yet. Its ballot never exceeds `promised`. */
  readonly accepted: AcceptedValue<V> | null;
}

export type AcceptorEffects<V> = DurableEffects<AcceptorState<V>, V>;

export function initialAcceptorState<V>(): AcceptorState<V> {
  return { promised: ZERO_BALLOT, accepted: null };
}

export class Acceptor<V> {
  private current: AcceptorState<V>;

  /**
   * @param learners where to send `accepted` (phase 2b) messages.
   * @param persisted the state last made durable; the initial state for a new acceptor.
   */
  constructor(
    readonly id: NodeId,
    private readonly learners: readonly NodeId[],
    persisted: AcceptorState<V> = initialAcceptorState<V>(),
  ) {
    this.current = persisted;
    this.checkInvariants();
  }

  /** An acceptor coming back after a crash, from the state it last persisted. */
  static restore<V>(id: NodeId, learners: readonly NodeId[], persisted: AcceptorState<V>): Acceptor<V> {
    return new Acceptor(id, learners, persisted);
  }

  get state(): AcceptorState<V> {
    return this.current;
  }

  receive(message: AcceptorMessage<V>): AcceptorEffects<V> {
    assert(message.to === this.id, () => `acceptor ${this.id} got a message addressed to ${message.to}`);
    let effects: AcceptorEffects<V>;
    switch (message.type) {
      case 'prepare':
        effects = this.onPrepare(message);
        break;
      case 'accept':
        effects = this.onAccept(message);
        break;
      default:
        return assertNever(message, 'acceptor message');
    }
    this.checkInvariants();
    return effects;
  }

  /**
   * Phase 1b. The paper answers a prepare(n) only if n is above every prepare
   * answered so far; we also answer n equal to the promise. Ballots are unique to
   * one proposer, so an equal ballot is a retransmission or a duplicate of the very
   * prepare we already promised: repeating that promise adds no obligation (we
   * already refuse everything below n) and reports our current accepted value,
   * which is what any promise must report. Refusing it instead would make a
   * duplicated prepare preempt its own proposer.
   */
  private onPrepare(message: PrepareMessage): AcceptorEffects<V> {
    const order = compareBallots(message.ballot, this.current.promised);
    if (order < 0) return this.refuse(message, 'prepare');
    const changed = order > 0;
    if (changed) this.current = { promised: message.ballot, accepted: this.current.accepted };
    return {
      persist: changed ? this.current : null,
      afterDurable: {
        send: [
          { type: 'promise', from: this.id, to: message.from, ballot: message.ballot, accepted: this.current.accepted },
        ],
      },
    };
  }

  /**
   * Phase 2b. Accept iff n >= promised: a promise of n forbids only ballots below
   * n, and the proposer of n itself must be able to get its value accepted.
   * Accepting n also raises the promise to n (an accept implies the promise, so
   * later prepares below n are refused even if this acceptor never saw prepare(n)).
   */
  private onAccept(message: AcceptMessage<V>): AcceptorEffects<V> {
    if (compareBallots(message.ballot, this.current.promised) < 0) return this.refuse(message, 'accept');
    const previous = this.current.accepted;
    // One proposer owns a ballot and sends one value in it, so a repeated accept in
    // the same ballot is a duplicate: nothing durable changes, and we announce what
    // we hold rather than what the message says, so that everything we send stays
    // implied by our durable state even if ballot ownership were ever broken.
    const changed = previous === null || !ballotsEqual(previous.ballot, message.ballot);
    if (changed) {
      this.current = { promised: message.ballot, accepted: { ballot: message.ballot, value: message.value } };
    }
    const { ballot, value } = this.current.accepted ?? { ballot: message.ballot, value: message.value };
    const send: PaxosMessage<V>[] = this.learners.map((learner) => ({ type: 'accepted', from: this.id, to: learner, ballot, value }));
    return { persist: changed ? this.current : null, afterDurable: { send } };
  }

  /** A refusal tells the proposer our promise so its retry can go above it. */
  private refuse(message: PrepareMessage | AcceptMessage<V>, refused: NackMessage['refused']): AcceptorEffects<V> {
    const nack: NackMessage = {
      type: 'nack',
      from: this.id,
      to: message.from,
      refused,
      rejected: message.ballot,
      promised: this.current.promised,
    };
    return { persist: null, afterDurable: { send: [nack] } };
  }

  checkInvariants(): void {
    const { promised, accepted } = this.current;
    assert(
      accepted === null || compareBallots(accepted.ballot, promised) <= 0,
      () => `acceptor ${this.id} accepted a ballot above its promise`,
    );
  }
}
