/**
 * The learner of single-decree Paxos ("Paxos Made Simple", §2.3). A value is
 * chosen when a phase-2 quorum of acceptors has accepted it in the same ballot.
 * Counting acceptances of one value across different ballots is wrong: three
 * acceptors may accept v in ballots 1, 2 and 3 while no quorum ever holds v in
 * one ballot, and a later ballot may then legitimately choose another value.
 */
import { assert } from '../assert.js';
import { formatBallot, type Ballot } from '../ballot.js';
import type { NodeId } from '../ids.js';
import type { QuorumSystem } from '../quorum.js';
import type { DecisionMessage, LearnerMessage } from './messages.js';

/** Acceptances seen in one ballot. One proposer owns a ballot, so it has one value. */
export interface BallotTally<V> {
  readonly ballot: Ballot;
  readonly value: V;
  readonly acceptors: ReadonlySet<NodeId>;
}

export type LearnerPhase<V> =
  | { readonly phase: 'learning'; readonly tallies: ReadonlyMap<string, BallotTally<V>> }
  /** `answered` holds the later ballots whose proposer we already told the decision. */
  | { readonly phase: 'decided'; readonly ballot: Ballot; readonly value: V; readonly answered: ReadonlySet<string> };

export interface LearnerEffects<V> {
  /** Decisions to tell proposers (and through them, clients). A learner keeps nothing durable. */
  readonly send: readonly DecisionMessage<V>[];
}

export class Learner<V> {
  private current: LearnerPhase<V> = { phase: 'learning', tallies: new Map() };

  /**
   * @param notify who to tell the decision (proposers, clients).
   * @param equals value equality, used to assert that a ballot never carries two values.
   */
  constructor(
    readonly id: NodeId,
    private readonly acceptors: QuorumSystem,
    private readonly notify: readonly NodeId[],
    private readonly equals: (a: V, b: V) => boolean = Object.is,
  ) {}

  get phase(): LearnerPhase<V> {
    return this.current;
  }

  /** The decided value, or undefined while unknown. */
  decision(): V | undefined {
    return this.current.phase === 'decided' ? this.current.value : undefined;
  }

  receive(message: LearnerMessage<V>): LearnerEffects<V> {
    assert(message.to === this.id, () => `learner ${this.id} got a message addressed to ${message.to}`);
    const key = formatBallot(message.ballot);
    if (this.current.phase === 'decided') return this.answerLateAcceptance(key, message);
    const tallies = new Map(this.current.tallies);
    const previous = tallies.get(key);
    assert(
      previous === undefined || this.equals(previous.value, message.value),
      () => `learner ${this.id} saw two values accepted in ballot ${key}`,
    );
    const acceptors = new Set(previous?.acceptors ?? []);
    acceptors.add(message.from);
    tallies.set(key, { ballot: message.ballot, value: message.value, acceptors });
    if (!this.acceptors.isPhase2Quorum(acceptors)) {
      this.current = { phase: 'learning', tallies };
      return { send: [] };
    }
    this.current = { phase: 'decided', ballot: message.ballot, value: message.value, answered: new Set([key]) };
    return {
      send: this.notify.map((to) => ({ type: 'decision', from: this.id, to, value: message.value })),
    };
  }

  /**
   * A decision is final, so a later acceptance teaches us nothing. But it shows
   * that the ballot's owner (a ballot names the proposer that issued it) is still
   * trying, perhaps because it restarted or our decision to it was lost; telling
   * it once per ballot lets it stop, and costs one message per late attempt.
   */
  private answerLateAcceptance(key: string, message: LearnerMessage<V>): LearnerEffects<V> {
    const current = this.current;
    assert(current.phase === 'decided', 'only a decided learner answers late acceptances');
    if (current.answered.has(key)) return { send: [] };
    this.current = { ...current, answered: new Set(current.answered).add(key) };
    return { send: [{ type: 'decision', from: this.id, to: message.ballot.node, value: current.value }] };
  }
}
