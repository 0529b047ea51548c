/**
 * A deterministic, in-memory Paxos cluster for tests and for the browser lab:
 * processes (proposers, acceptors, learners) keyed by node id, and a bag of
 * in-flight messages each with an id. Nothing happens unless a caller says so:
 * deliver, drop or duplicate one message, crash or restart one process, or let one
 * process take its next step. The network may lose, duplicate and reorder messages
 * at will, which is the asynchronous model Paxos is safe in (frankenpaxos-style).
 *
 * Persisting and sending happen in the same atomic step, so a crash always comes
 * after the durable write; a restarted acceptor resumes from exactly its promise
 * and acceptance, a restarted proposer keeps only its highest issued ballot, and a
 * restarted learner starts empty.
 *
 * The cluster also watches every acceptance as it happens (a "ghost" observer no
 * real node could be) to know which values are chosen, and checks after every
 * step that at most one value is chosen and that nobody decided anything else.
 */
import { assert, assertNever } from '../assert.js';
import { ballotsEqual, compareBallots, formatBallot, ZERO_BALLOT, type Ballot } from '../ballot.js';
import type { NodeId } from '../ids.js';
import { MajorityQuorum, type QuorumSystem } from '../quorum.js';
import type { Random } from '../random.js';
import { Acceptor, initialAcceptorState, type AcceptorState } from './acceptor.js';
import { Learner, type BallotTally } from './learner.js';
import type { AcceptedValue, AcceptorMessage, LearnerMessage, PaxosMessage, ProposerMessage } from './messages.js';
import { Proposer, type ProposerDurableState, type ProposerEffects } from './proposer.js';

export interface PaxosClusterConfig<V> {
  readonly proposers: readonly NodeId[];
  readonly acceptors: readonly NodeId[];
  readonly learners: readonly NodeId[];
  /** Defaults to majorities of `acceptors`; its members must be the acceptors. */
  readonly quorum?: QuorumSystem;
  /** Value equality for the agreement checks; defaults to `Object.is`. */
  readonly equals?: (a: V, b: V) => boolean;
}

export interface InFlight<V> {
  readonly id: number;
  readonly message: PaxosMessage<V>;
}

export type Delivery<V> =
  /** The recipient handled the message, persisted if it had to, then sent `sent`. */
  | { readonly outcome: 'handled'; readonly delivered: InFlight<V>; readonly persisted: boolean; readonly sent: readonly InFlight<V>[] }
  /** The recipient was crashed, so the message is gone. */
  | { readonly outcome: 'lost'; readonly delivered: InFlight<V> };

/** Everything a caller can do to the cluster; the history replays a run exactly. */
export type ClusterAction<V> =
  | { readonly type: 'propose'; readonly node: NodeId; readonly value: V }
  | { readonly type: 'retry'; readonly node: NodeId }
  | { readonly type: 'deliver'; readonly id: number }
  | { readonly type: 'drop'; readonly id: number }
  | { readonly type: 'duplicate'; readonly id: number }
  | { readonly type: 'crash'; readonly node: NodeId }
  | { readonly type: 'restart'; readonly node: NodeId };

export type Role = 'proposer' | 'acceptor' | 'learner';

/** A process and, for roles with durable state, what its stable storage holds. `live` is null while crashed. */
type Process<V> =
  | { readonly role: 'proposer'; durable: ProposerDurableState; live: Proposer<V> | null }
  | { readonly role: 'acceptor'; durable: AcceptorState<V>; live: Acceptor<V> | null }
  | { readonly role: 'learner'; live: Learner<V> | null };

export class PaxosCluster<V> {
  readonly quorum: QuorumSystem;
  private readonly equals: (a: V, b: V) => boolean;
  private readonly processes = new Map<NodeId, Process<V>>();
  /** In-flight messages in id order (ids only grow, and a Map keeps insertion order). */
  private readonly bag = new Map<number, PaxosMessage<V>>();
  private nextId = 1;
  private readonly log: ClusterAction<V>[] = [];
  /** Ghost: every acceptance ever made, per ballot, and the ballots that reached a quorum. */
  private readonly acceptances = new Map<string, BallotTally<V>>();
  private readonly chosenIn: AcceptedValue<V>[] = [];

  constructor(private readonly config: PaxosClusterConfig<V>) {
    this.quorum = config.quorum ?? new MajorityQuorum(config.acceptors);
    this.equals = config.equals ?? Object.is;
    assert(
      this.quorum.members.length === config.acceptors.length && config.acceptors.every((a) => this.quorum.members.includes(a)),
      'the quorum system must be over exactly the acceptors',
    );
    for (const id of config.proposers) this.add(id, { role: 'proposer', durable: { highestIssued: ZERO_BALLOT }, live: null });
    for (const id of config.acceptors) this.add(id, { role: 'acceptor', durable: initialAcceptorState<V>(), live: null });
    for (const id of config.learners) this.add(id, { role: 'learner', live: null });
    for (const id of this.processes.keys()) this.start(id);
  }

  /** All node ids, proposers first, then acceptors, then learners. */
  get nodes(): readonly NodeId[] {
    return [...this.processes.keys()];
  }

  roleOf(node: NodeId): Role {
    return this.process(node).role;
  }

  isCrashed(node: NodeId): boolean {
    return this.process(node).live === null;
  }

  /** The live proposer, or null while it is crashed. */
  proposer(node: NodeId): Proposer<V> | null {
    const p = this.process(node);
    assert(p.role === 'proposer', () => `${node} is not a proposer`);
    return p.live;
  }

  acceptor(node: NodeId): Acceptor<V> | null {
    const p = this.process(node);
    assert(p.role === 'acceptor', () => `${node} is not an acceptor`);
    return p.live;
  }

  /** What the acceptor's stable storage holds, also while it is crashed. */
  persistedAcceptorState(node: NodeId): AcceptorState<V> {
    const p = this.process(node);
    assert(p.role === 'acceptor', () => `${node} is not an acceptor`);
    return p.durable;
  }

  learner(node: NodeId): Learner<V> | null {
    const p = this.process(node);
    assert(p.role === 'learner', () => `${node} is not a learner`);
    return p.live;
  }

  inFlight(): readonly InFlight<V>[] {
    return [...this.bag].map(([id, message]) => ({ id, message }));
  }

  /** Messages waiting for `node`, oldest first. */
  pendingFor(node: NodeId): readonly InFlight<V>[] {
    return this.inFlight().filter((m) => m.message.to === node);
  }

  history(): readonly ClusterAction<V>[] {
    return [...this.log];
  }

  /** The chosen value as the ghost observer saw it, or undefined if none yet. */
  chosen(): V | undefined {
    return this.chosenIn[0]?.value;
  }

  apply(action: ClusterAction<V>): void {
    switch (action.type) {
      case 'propose': this.propose(action.node, action.value); return;
      case 'retry': this.retry(action.node); return;
      case 'deliver': this.deliver(action.id); return;
      case 'drop': this.drop(action.id); return;
      case 'duplicate': this.duplicate(action.id); return;
      case 'crash': this.crash(action.node); return;
      case 'restart': this.restart(action.node); return;
      default: assertNever(action, 'cluster action');
    }
  }

  /** A client asks a (live) proposer to propose `value`. */
  propose(node: NodeId, value: V): readonly InFlight<V>[] {
    const proposer = this.liveProposer(node);
    this.log.push({ type: 'propose', node, value });
    return this.afterStep(this.performProposer(node, proposer.propose(value)));
  }

  retry(node: NodeId): readonly InFlight<V>[] {
    const proposer = this.liveProposer(node);
    this.log.push({ type: 'retry', node });
    return this.afterStep(this.performProposer(node, proposer.retry()));
  }

  deliver(id: number): Delivery<V> {
    const message = this.bag.get(id);
    assert(message !== undefined, () => `no message ${id} in flight`);
    this.log.push({ type: 'deliver', id });
    this.bag.delete(id);
    const delivered: InFlight<V> = { id, message };
    const process = this.process(message.to);
    if (process.live === null) return this.afterStep({ outcome: 'lost', delivered });
    let persisted = false;
    let sent: readonly InFlight<V>[];
    switch (process.role) {
      case 'proposer': {
        assert(isProposerMessage(message), () => `proposer ${message.to} cannot handle ${message.type}`);
        const effects = process.live.receive(message);
        persisted = effects.persist !== null;
        sent = this.performProposer(message.to, effects);
        break;
      }
      case 'acceptor': {
        assert(isAcceptorMessage(message), () => `acceptor ${message.to} cannot handle ${message.type}`);
        const effects = process.live.receive(message);
        if (effects.persist !== null) {
          process.durable = effects.persist;
          persisted = true;
        }
        if (message.type === 'accept') this.observeAcceptance(message.to, message.ballot, process.live.state);
        sent = this.enqueue(effects.afterDurable.send);
        break;
      }
      case 'learner': {
        assert(isLearnerMessage(message), () => `learner ${message.to} cannot handle ${message.type}`);
        sent = this.enqueue(process.live.receive(message).send);
        break;
      }
      default:
        return assertNever(process, 'process');
    }
    return this.afterStep({ outcome: 'handled', delivered, persisted, sent });
  }

  /** Delivers the oldest message waiting for `node`; null if it has none or is crashed. */
  stepProcess(node: NodeId): Delivery<V> | null {
    if (this.isCrashed(node)) return null;
    const next = this.pendingFor(node)[0];
    return next === undefined ? null : this.deliver(next.id);
  }

  /** Delivers one in-flight message picked by `random`; null if none is in flight. */
  deliverAny(random: Random): Delivery<V> | null {
    const ids = [...this.bag.keys()];
    return ids.length === 0 ? null : this.deliver(random.pick(ids));
  }

  drop(id: number): void {
    assert(this.bag.has(id), () => `no message ${id} in flight`);
    this.log.push({ type: 'drop', id });
    this.bag.delete(id);
    this.afterStep(undefined);
  }

  /** Puts a copy of message `id` in flight and returns the copy's id. */
  duplicate(id: number): number {
    const message = this.bag.get(id);
    assert(message !== undefined, () => `no message ${id} in flight`);
    this.log.push({ type: 'duplicate', id });
    const [copy] = this.enqueue([message]);
    assert(copy !== undefined, 'enqueue returned nothing');
    return this.afterStep(copy.id);
  }

  /** Stops a process. Messages it already sent stay in flight; messages to it are lost on delivery. */
  crash(node: NodeId): void {
    const process = this.process(node);
    assert(process.live !== null, () => `${node} is already crashed`);
    this.log.push({ type: 'crash', node });
    process.live = null;
    this.afterStep(undefined);
  }

  restart(node: NodeId): void {
    assert(this.isCrashed(node), () => `${node} is not crashed`);
    this.log.push({ type: 'restart', node });
    this.start(node);
    this.afterStep(undefined);
  }

  /**
   * Agreement and validity as the ghost sees them: every ballot that reached a
   * phase-2 quorum holds the same value, and every learner's decision and every
   * proposer's answer is that value. Acceptors check their own invariants.
   */
  checkInvariants(): void {
    const chosen = this.chosenIn[0];
    for (const other of this.chosenIn) {
      assert(
        chosen !== undefined && this.equals(chosen.value, other.value),
        () => `two values chosen: ${JSON.stringify(chosen)} and ${JSON.stringify(other)}`,
      );
    }
    for (const [node, process] of this.processes) {
      if (process.live === null) continue;
      const decided = process.role === 'learner' ? process.live.decision()
        : process.role === 'proposer' ? process.live.query()
        : undefined;
      if (process.role === 'acceptor') process.live.checkInvariants();
      if (decided === undefined) continue;
      assert(
        chosen !== undefined && this.equals(decided, chosen.value),
        () => `${node} decided ${JSON.stringify(decided)} but the chosen value is ${JSON.stringify(chosen?.value)}`,
      );
    }
  }

  private add(id: NodeId, process: Process<V>): void {
    assert(!this.processes.has(id), () => `node ${id} has two roles`);
    this.processes.set(id, process);
  }

  /** (Re)creates a process from its durable state: the only state that survives a crash. */
  private start(node: NodeId): void {
    const process = this.process(node);
    switch (process.role) {
      case 'proposer':
        process.live = Proposer.restore<V>(node, this.quorum, process.durable);
        return;
      case 'acceptor':
        process.live = Acceptor.restore(node, this.config.learners, process.durable);
        return;
      case 'learner':
        process.live = new Learner<V>(node, this.quorum, this.config.proposers, this.equals);
        return;
      default:
        assertNever(process, 'process');
    }
  }

  private process(node: NodeId): Process<V> {
    const process = this.processes.get(node);
    assert(process !== undefined, () => `no node ${node} in the cluster`);
    return process;
  }

  private liveProposer(node: NodeId): Proposer<V> {
    const proposer = this.proposer(node);
    assert(proposer !== null, () => `proposer ${node} is crashed`);
    return proposer;
  }

  private performProposer(node: NodeId, effects: ProposerEffects<V>): readonly InFlight<V>[] {
    const process = this.process(node);
    assert(process.role === 'proposer', () => `${node} is not a proposer`);
    if (effects.persist !== null) process.durable = effects.persist;
    return this.enqueue(effects.afterDurable.send);
  }

  private enqueue(messages: readonly PaxosMessage<V>[]): readonly InFlight<V>[] {
    return messages.map((message) => {
      const id = this.nextId++;
      this.bag.set(id, message);
      return { id, message };
    });
  }

  /** Records `acceptor`'s acceptance if handling an accept in `ballot` made one (it may have refused). */
  private observeAcceptance(acceptor: NodeId, ballot: Ballot, state: AcceptorState<V>): void {
    const accepted = state.accepted;
    if (accepted === null || !ballotsEqual(accepted.ballot, ballot)) return;
    const key = formatBallot(accepted.ballot);
    const tally = this.acceptances.get(key);
    if (tally !== undefined && tally.acceptors.has(acceptor)) return;
    assert(
      tally === undefined || this.equals(tally.value, accepted.value),
      () => `two values accepted in ballot ${key}`,
    );
    const acceptors = new Set(tally?.acceptors ?? []).add(acceptor);
    this.acceptances.set(key, { ballot: accepted.ballot, value: accepted.value, acceptors });
    if ((tally === undefined || !this.quorum.isPhase2Quorum(tally.acceptors)) && this.quorum.isPhase2Quorum(acceptors)) {
      this.chosenIn.push(accepted);
      this.chosenIn.sort((a, b) => compareBallots(a.ballot, b.ballot));
    }
  }

  private afterStep<T>(result: T): T {
    this.checkInvariants();
    return result;
  }
}

function isAcceptorMessage<V>(message: PaxosMessage<V>): message is AcceptorMessage<V> {
  return message.type === 'prepare' || message.type === 'accept';
}

function isProposerMessage<V>(message: PaxosMessage<V>): message is ProposerMessage<V> {
  return message.type === 'promise' || message.type === 'nack' || message.type === 'decision';
}

function isLearnerMessage<V>(message: PaxosMessage<V>): message is LearnerMessage<V> {
  return message.type === 'accepted';
}
