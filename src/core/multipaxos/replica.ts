/**
 * A Multi-Paxos replica: acceptor, leader (proposer) and learner for every slot
 * of the log, as one pure state machine. `step(input)` returns the records to make
 * durable and the effects to release after that (see `Ready`).
 *
 * Roles (Paxos Made Moderately Complex, with a stable leader):
 * - follower: votes as an acceptor, learns decisions, forwards client commands.
 * - candidate: has sent Prepare(b) for every slot from its first undecided one
 *   and waits for a phase-1 quorum of promises.
 * - leader: has a phase-1 quorum for b; re-proposes what the quorum reported,
 *   fills gaps with no-ops, then runs only phase 2 per slot (pipelined, batched).
 *
 * Decisions reach followers without a message per slot: every accept and
 * heartbeat carries `commitThrough`, and a follower that voted for slot s in the
 * same ballot b knows its vote is the decided value (see `learnCommitted`).
 */
import { assert, assertNever } from '../assert.js';
import { ZERO_BALLOT, compareBallots, maxBallot, nextBallot, type Ballot } from '../ballot.js';
import { NO_SLOT, nextSlot, type NodeId, type Slot } from '../ids.js';
import { MajorityQuorum, type QuorumSystem } from '../quorum.js';
import { Random } from '../random.js';
import { applyRecord, emptyDurableState, type DurableState } from './durable.js';
import { buildPromise, highestBallotValue, mergePromises, promiseShowsCandidateBehind } from './phase1.js';
import { ReadTracker } from './reads.js';
import {
  NOOP,
  type AcceptMessage,
  type AcceptedEntry,
  type AcceptedMessage,
  type CatchupReplyMessage,
  type CatchupRequestMessage,
  type DurableRecord,
  type Effect,
  type HeartbeatAckMessage,
  type HeartbeatMessage,
  type Input,
  type Message,
  type PrepareMessage,
  type PromiseMessage,
  type Ready,
  type RejectMessage,
  type ReplicaConfig,
  type ReplicaStatus,
  type SlotValue,
  type SnapshotMessage,
} from './types.js';

interface Proposal<C> {
  readonly value: SlotValue<C>;
  readonly votes: Set<NodeId>;
  sentAtTick: number;
}

type RoleState<C> =
  | { readonly role: 'follower'; leader: NodeId | null }
  | {
      readonly role: 'candidate';
      readonly ballot: Ballot;
      readonly fromSlot: Slot;
      readonly promises: Map<NodeId, PromiseMessage<C>>;
      lastSentTick: number;
    }
  | {
      readonly role: 'leader';
      readonly ballot: Ballot;
      nextSlot: Slot;
      readonly inflight: Map<Slot, Proposal<C>>;
      pending: C[];
      lastHeartbeatTick: number;
      lastQuorumCheckTick: number;
      readonly lastHeard: Map<NodeId, number>;
      readonly reads: ReadTracker;
      commitSentThrough: Slot;
    };

export class Replica<C> {
  readonly config: ReplicaConfig;
  protected readonly quorum: QuorumSystem;
  protected readonly durable: DurableState<C>;
  protected state: RoleState<C> = { role: 'follower', leader: null };
  /** Every slot <= decidedThrough is decided (or compacted). */
  protected decidedThrough: Slot;
  /** Every slot <= appliedThrough has been handed to the state machine. */
  protected appliedThrough: Slot;
  /** The highest ballot seen in any message: a new candidacy must exceed it. */
  private highestSeen: Ballot = ZERO_BALLOT;
  /** The highest commit point a leader told us about. */
  private knownCommit: Slot = NO_SLOT;
  private now = 0;
  private electionDeadline = 0;
  private lastLeaderContact = Number.NEGATIVE_INFINITY;
  private catchupRetryTick = 0;
  private readonly random: Random;
  private persist: DurableRecord<C>[] = [];
  private effects: Effect<C>[] = [];
  private startPending = true;

  /** A replica rebuilt from `durable` (an empty state for a brand-new replica). */
  constructor(config: ReplicaConfig, durable: DurableState<C> = emptyDurableState<C>(), quorum?: QuorumSystem) {
    assert(config.members.includes(config.self), () => `${config.self} is not among the members ${config.members.join(',')}`);
    assert(config.electionTimeoutTicks > config.heartbeatTicks, 'the election timeout must exceed the heartbeat interval');
    assert(config.pipelineSlotsMax >= 1 && config.batchCommandsMax >= 1, 'pipeline and batch bounds must be positive');
    this.config = config;
    this.quorum = quorum ?? new MajorityQuorum(config.members);
    this.durable = durable;
    this.durable.promised = this.recoveredPromise(durable);
    this.random = new Random(config.seed);
    this.decidedThrough = durable.compactedThrough;
    this.appliedThrough = durable.compactedThrough;
    this.highestSeen = durable.promised;
    this.resetElectionTimer();
  }

  // ---------------------------------------------------------------- driving

  step(input: Input<C>): Ready<C> {
    this.start();
    switch (input.type) {
      case 'message':
        this.onMessage(input.message);
        break;
      case 'tick':
        this.onTick();
        break;
      case 'propose':
        this.onPropose(input.commands);
        break;
      case 'read':
        this.onRead(input.id);
        break;
      case 'compact':
        this.onCompact(input.throughSlot, input.data);
        break;
      case 'campaign':
        if (this.state.role !== 'leader') this.startElection();
        break;
      default:
        assertNever(input, 'input');
    }
    this.finishStep();
    this.checkInvariants();
    return this.drain();
  }

  tick(): Ready<C> {
    return this.step({ type: 'tick' });
  }

  /**
   * The first output of a (re)started replica: restores a received snapshot and
   * re-applies the decided log. Called by `step` if the driver does not call it.
   */
  start(): Ready<C> {
    if (!this.startPending) return this.drain();
    this.startPending = false;
    const snapshot = this.durable.snapshot;
    if (snapshot !== null) this.effects.push({ type: 'restore', throughSlot: snapshot.throughSlot, data: snapshot.data });
    this.advanceDecided();
    return this.drain();
  }

  status(): ReplicaStatus {
    const s = this.state;
    return {
      self: this.config.self,
      role: s.role,
      ballot: s.role === 'follower' ? this.durable.promised : s.ballot,
      promised: this.durable.promised,
      leader: s.role === 'leader' ? this.config.self : s.role === 'follower' ? s.leader : null,
      decidedThrough: this.decidedThrough,
      appliedThrough: this.appliedThrough,
      compactedThrough: this.durable.compactedThrough,
      highestSlot: this.highestSlot(),
      inflightSlots: s.role === 'leader' ? s.inflight.size : 0,
      pendingCommands: s.role === 'leader' ? s.pending.length : 0,
    };
  }

  /** The decided value of `slot` if this replica still holds it in its log. */
  decidedValue(slot: Slot): SlotValue<C> | undefined {
    return this.durable.decided.get(slot);
  }

  /** This acceptor's vote for `slot`, if any (for checkers and the lab). */
  acceptedVote(slot: Slot): { ballot: Ballot; value: SlotValue<C> } | undefined {
    return this.durable.accepted.get(slot);
  }

  get promised(): Ballot {
    return this.durable.promised;
  }

  // ---------------------------------------------------------------- messages

  private onMessage(message: Message<C>): void {
    assert(message.to === this.config.self, () => `message for ${message.to} delivered to ${this.config.self}`);
    if (!this.config.members.includes(message.from)) return;
    switch (message.type) {
      case 'prepare':
        return this.onPrepare(message);
      case 'promise':
        return this.onPromise(message);
      case 'accept':
        return this.onAccept(message);
      case 'accepted':
        return this.onAccepted(message);
      case 'reject':
        return this.onReject(message);
      case 'heartbeat':
        return this.onHeartbeat(message);
      case 'heartbeat-ack':
        return this.onHeartbeatAck(message);
      case 'catchup-request':
        return this.onCatchupRequest(message);
      case 'catchup-reply':
        return this.onCatchupReply(message);
      case 'snapshot':
        return this.onSnapshot(message);
      case 'forward':
        if (this.state.role === 'leader') this.enqueue(message.commands);
        return;
      default:
        assertNever(message, 'message');
    }
  }

  private onPrepare(m: PrepareMessage): void {
    this.noteBallot(m.ballot);
    // A replica in touch with a live leader ignores other candidates, so a node
    // that was cut off cannot depose a working leader when it comes back.
    if (compareBallots(m.ballot, this.durable.promised) > 0 && this.leaderIsFresh(m.from)) return;
    if (compareBallots(m.ballot, this.durable.promised) < 0) {
      this.send({ type: 'reject', from: this.config.self, to: m.from, ballot: m.ballot, promised: this.durable.promised });
      return;
    }
    if (compareBallots(m.ballot, this.durable.promised) > 0) {
      this.record({ kind: 'promise', ballot: m.ballot });
      this.becomeFollower(null);
    }
    this.send(buildPromise(this.durable, this.config.self, m.from, m.ballot, m.fromSlot, this.config.catchupSlotsMax));
  }

  private onPromise(m: PromiseMessage<C>): void {
    const s = this.state;
    if (s.role !== 'candidate' || compareBallots(m.ballot, s.ballot) !== 0) return;
    if (promiseShowsCandidateBehind(m)) {
      // Values this candidate would need are decided but out of its reach; a
      // replica that is behind must catch up before it can lead.
      this.becomeFollower(null);
      this.requestCatchup(m.from, m.fromSlot, nextSlot(this.highestSlotOf(m)));
      return;
    }
    s.promises.set(m.from, m);
    if (this.quorum.isPhase1Quorum(new Set(s.promises.keys()))) this.becomeLeader();
  }

  private onAccept(m: AcceptMessage<C>): void {
    this.noteBallot(m.ballot);
    if (!this.acceptorMayAccept(m.ballot)) {
      this.send({ type: 'reject', from: this.config.self, to: m.from, ballot: m.ballot, promised: this.durable.promised });
      return;
    }
    this.followLeader(m.from, m.ballot);
    const known = m.slot <= this.durable.compactedThrough || this.durable.decided.has(m.slot);
    const vote = this.durable.accepted.get(m.slot);
    const duplicate = vote !== undefined && compareBallots(vote.ballot, m.ballot) === 0;
    // Voting for a slot already known decided needs no record: by Paxos's
    // invariant (P2c) a proposal in a ballot this acceptor may still vote in
    // carries the decided value, and recovery reports the decision itself.
    if (!known && !duplicate) this.record({ kind: 'accept', slot: m.slot, ballot: m.ballot, value: m.value });
    else if (compareBallots(m.ballot, this.durable.promised) > 0) this.record({ kind: 'promise', ballot: m.ballot });
    this.send({ type: 'accepted', from: this.config.self, to: m.from, ballot: m.ballot, slot: m.slot });
    this.learnCommitted(m.from, m.ballot, m.commitThrough);
  }

  private onAccepted(m: AcceptedMessage): void {
    const s = this.state;
    if (s.role !== 'leader' || compareBallots(m.ballot, s.ballot) !== 0) return;
    s.lastHeard.set(m.from, this.now);
    const proposal = s.inflight.get(m.slot);
    if (proposal === undefined) return;
    proposal.votes.add(m.from);
    if (this.isChosenBy(proposal.votes)) {
      s.inflight.delete(m.slot);
      this.decide(m.slot, proposal.value);
    }
  }

  private onReject(m: RejectMessage): void {
    this.noteBallot(m.promised);
    const s = this.state;
    if (s.role === 'follower' || compareBallots(m.ballot, s.ballot) !== 0) return;
    if (compareBallots(m.promised, s.ballot) <= 0) return;
    if (s.role === 'leader') {
      // One member promised a higher ballot (say it was cut off and campaigned
      // alone). Rather than hand the cluster to an election, the working leader
      // runs phase 1 again with a ballot above it; followers in touch with this
      // leader accept its prepare (stickiness exempts the current leader).
      this.startElection();
      return;
    }
    this.becomeFollower(null);
  }

  private onHeartbeat(m: HeartbeatMessage): void {
    this.noteBallot(m.ballot);
    if (compareBallots(m.ballot, this.durable.promised) < 0) {
      this.send({ type: 'reject', from: this.config.self, to: m.from, ballot: m.ballot, promised: this.durable.promised });
      // Learning decisions is safe whatever the ballot: a replica that promised
      // higher still catches up from a live leader instead of staying behind.
      if (m.commitThrough > this.decidedThrough && this.now - this.catchupRetryTick >= this.config.heartbeatTicks) {
        this.requestCatchup(m.from, nextSlot(this.decidedThrough), m.commitThrough);
      }
      return;
    }
    this.followLeader(m.from, m.ballot);
    this.send({
      type: 'heartbeat-ack',
      from: this.config.self,
      to: m.from,
      ballot: m.ballot,
      readRound: m.readRound,
      decidedThrough: this.decidedThrough,
    });
    this.learnCommitted(m.from, m.ballot, m.commitThrough);
  }

  private onHeartbeatAck(m: HeartbeatAckMessage): void {
    const s = this.state;
    if (s.role !== 'leader' || compareBallots(m.ballot, s.ballot) !== 0) return;
    s.lastHeard.set(m.from, this.now);
    s.reads.acknowledge(m.from, m.readRound, this.config.self, (voters) => this.quorum.isPhase1Quorum(voters));
  }

  private onCatchupRequest(m: CatchupRequestMessage): void {
    const snapshot = this.durable.snapshot;
    if (m.fromSlot <= this.durable.compactedThrough && snapshot !== null) {
      this.send({ type: 'snapshot', from: this.config.self, to: m.from, throughSlot: snapshot.throughSlot, data: snapshot.data });
      return;
    }
    const decided = [];
    for (let s = m.fromSlot; s <= m.throughSlot && decided.length < this.config.catchupSlotsMax; s = nextSlot(s)) {
      const value = this.durable.decided.get(s);
      if (value === undefined) break;
      decided.push({ slot: s, value });
    }
    if (decided.length > 0) this.send({ type: 'catchup-reply', from: this.config.self, to: m.from, decided });
  }

  private onCatchupReply(m: CatchupReplyMessage<C>): void {
    const s = this.state;
    for (const entry of m.decided) {
      if (s.role === 'leader' && s.inflight.has(entry.slot)) {
        // A decision this leader did not make for a slot it is proposing means a
        // higher ballot chose it: this leadership is over (and its commit notices
        // must stop, see learnCommitted).
        this.becomeFollower(null);
      }
      this.decide(entry.slot, entry.value);
    }
    // Keep pulling while behind: a reply carries at most catchupSlotsMax slots.
    const last = m.decided[m.decided.length - 1];
    if (last !== undefined && this.decidedThrough >= last.slot && this.knownCommit > this.decidedThrough) {
      this.requestCatchup(m.from, nextSlot(this.decidedThrough), this.knownCommit);
    }
  }

  private onSnapshot(m: SnapshotMessage): void {
    if (m.throughSlot <= this.appliedThrough || this.state.role === 'leader') return;
    this.record({ kind: 'snapshot', throughSlot: m.throughSlot, data: m.data });
    this.effects.push({ type: 'restore', throughSlot: m.throughSlot, data: m.data });
    this.decidedThrough = m.throughSlot;
    this.appliedThrough = m.throughSlot;
    this.advanceDecided();
    this.catchupRetryTick = this.now;
  }

  // ---------------------------------------------------------------- client side

  private onPropose(commands: readonly C[]): void {
    if (commands.length === 0) return;
    const s = this.state;
    if (s.role === 'leader') {
      this.enqueue(commands);
    } else if (s.role === 'follower' && s.leader !== null) {
      this.send({ type: 'forward', from: this.config.self, to: s.leader, commands });
    } else {
      this.effects.push({ type: 'proposals-dropped', commands, reason: 'no-leader', leader: null });
    }
  }

  private enqueue(commands: readonly C[]): void {
    const s = this.state;
    assert(s.role === 'leader', 'only a leader queues commands');
    if (s.pending.length + commands.length > this.config.pendingCommandsMax) {
      this.effects.push({ type: 'proposals-dropped', commands, reason: 'overloaded', leader: this.config.self });
      return;
    }
    for (const command of commands) s.pending.push(command);
    this.flushPending();
  }

  private onRead(id: number): void {
    const s = this.state;
    if (s.role !== 'leader') {
      this.effects.push({ type: 'read-rejected', id, leader: s.role === 'follower' ? s.leader : null });
      return;
    }
    if (s.reads.size >= this.config.readsPendingMax) {
      this.effects.push({ type: 'read-rejected', id, leader: this.config.self });
      return;
    }
    const index = (s.nextSlot - 1) as Slot;
    if (s.reads.add(id, index)) {
      s.reads.confirmAlone(this.config.self, (voters) => this.quorum.isPhase1Quorum(voters));
      this.broadcastHeartbeat();
    }
  }

  private onCompact(throughSlot: Slot, data: Uint8Array): void {
    assert(throughSlot <= this.appliedThrough, () => `cannot compact through ${throughSlot}: applied only through ${this.appliedThrough}`);
    if (throughSlot <= this.durable.compactedThrough) return;
    this.record({ kind: 'snapshot', throughSlot, data });
  }

  // ---------------------------------------------------------------- time

  private onTick(): void {
    this.now += 1;
    const s = this.state;
    switch (s.role) {
      case 'follower':
        if (this.now >= this.electionDeadline) this.startElection();
        else if (this.knownCommit > this.decidedThrough && this.now - this.catchupRetryTick >= this.config.heartbeatTicks * 2 && s.leader !== null) {
          this.requestCatchup(s.leader, nextSlot(this.decidedThrough), this.knownCommit);
        }
        return;
      case 'candidate':
        if (this.now >= this.electionDeadline) this.startElection();
        else if (this.now - s.lastSentTick >= this.config.heartbeatTicks) this.sendPrepares(s, true);
        return;
      case 'leader':
        this.leaderTick(s);
        return;
      default:
        assertNever(s, 'role');
    }
  }

  private leaderTick(s: Extract<RoleState<C>, { role: 'leader' }>): void {
    // Check quorum: a leader that has not heard from a quorum for a whole election
    // timeout is probably cut off; stepping down stops it from holding clients.
    if (this.now - s.lastQuorumCheckTick >= this.config.electionTimeoutTicks) {
      s.lastQuorumCheckTick = this.now;
      const heard = new Set<NodeId>([this.config.self]);
      for (const [node, tick] of s.lastHeard) if (this.now - tick < this.config.electionTimeoutTicks) heard.add(node);
      if (!this.quorum.isPhase1Quorum(heard)) {
        this.becomeFollower(null);
        return;
      }
    }
    if (this.now - s.lastHeartbeatTick >= this.config.heartbeatTicks) {
      if (s.reads.needsNextRound()) s.reads.startNextRound();
      this.broadcastHeartbeat();
      // Re-send accepts that may have been lost, to the voters still missing.
      for (const [slot, proposal] of s.inflight) {
        if (this.now - proposal.sentAtTick < this.config.heartbeatTicks) continue;
        proposal.sentAtTick = this.now;
        for (const member of this.config.members) {
          if (!proposal.votes.has(member)) this.sendAccept(s, member, slot, proposal.value);
        }
      }
    }
  }

  // ---------------------------------------------------------------- elections

  private startElection(): void {
    const ballot = nextBallot(maxBallot(this.highestSeen, this.durable.promised), this.config.self);
    this.record({ kind: 'promise', ballot });
    this.noteBallot(ballot);
    const fromSlot = nextSlot(this.decidedThrough);
    const candidate: Extract<RoleState<C>, { role: 'candidate' }> = {
      role: 'candidate',
      ballot,
      fromSlot,
      promises: new Map(),
      lastSentTick: this.now,
    };
    this.leaveLeadership();
    this.state = candidate;
    this.resetElectionTimer();
    this.announceRole();
    candidate.promises.set(this.config.self, buildPromise(this.durable, this.config.self, this.config.self, ballot, fromSlot, Number.POSITIVE_INFINITY));
    if (this.quorum.isPhase1Quorum(new Set(candidate.promises.keys()))) {
      this.becomeLeader();
      return;
    }
    this.sendPrepares(candidate, false);
  }

  private sendPrepares(s: Extract<RoleState<C>, { role: 'candidate' }>, missingOnly: boolean): void {
    s.lastSentTick = this.now;
    for (const member of this.config.members) {
      if (member === this.config.self || (missingOnly && s.promises.has(member))) continue;
      this.send({ type: 'prepare', from: this.config.self, to: member, ballot: s.ballot, fromSlot: s.fromSlot });
    }
  }

  private becomeLeader(): void {
    const s = this.state;
    assert(s.role === 'candidate', 'only a candidate becomes leader');
    const outcome = mergePromises(s.promises.values(), this.highestSlot());
    for (const [slot, value] of outcome.decided) this.decide(slot, value);
    const leader: Extract<RoleState<C>, { role: 'leader' }> = {
      role: 'leader',
      ballot: s.ballot,
      nextSlot: nextSlot(outcome.highestSlot),
      inflight: new Map(),
      pending: [],
      lastHeartbeatTick: this.now,
      lastQuorumCheckTick: this.now,
      lastHeard: new Map(),
      reads: new ReadTracker(),
      commitSentThrough: NO_SLOT,
    };
    this.state = leader;
    this.announceRole();
    // Phase 2 for every slot the quorum may have chosen something in: the value
    // of the highest-ballot vote reported, or a no-op where nobody voted.
    for (let slot = s.fromSlot; slot <= outcome.highestSlot; slot = nextSlot(slot)) {
      if (slot <= this.decidedThrough || this.durable.decided.has(slot)) continue;
      const value = this.valueFromVotes(slot, outcome.votes.get(slot) ?? []) ?? NOOP;
      this.propose(leader, slot, value);
    }
    this.broadcastHeartbeat();
  }

  private becomeFollower(leader: NodeId | null): void {
    const changed = this.state.role !== 'follower' || this.state.leader !== leader;
    this.leaveLeadership();
    this.state = { role: 'follower', leader };
    this.resetElectionTimer();
    if (changed) this.announceRole();
  }

  /** Tells the driver what a stepping-down leader will not finish. */
  private leaveLeadership(): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    if (s.pending.length > 0) {
      this.effects.push({ type: 'proposals-dropped', commands: s.pending, reason: 'stepped-down', leader: null });
      s.pending = [];
    }
    for (const read of s.reads.takeAll()) this.effects.push({ type: 'read-rejected', id: read.id, leader: null });
  }

  /** Accepts `from` as leader of `ballot` if that is news, resetting the election timer. */
  private followLeader(from: NodeId, ballot: Ballot): void {
    const s = this.state;
    if (s.role === 'leader' && compareBallots(ballot, s.ballot) === 0) return;
    if (s.role !== 'follower' || s.leader !== from) this.becomeFollower(from);
    else this.resetElectionTimer();
    this.lastLeaderContact = this.now;
  }

  private leaderIsFresh(candidate: NodeId): boolean {
    const s = this.state;
    if (s.role === 'leader') return true;
    if (s.role !== 'follower' || s.leader === null || s.leader === candidate) return false;
    return this.now - this.lastLeaderContact < this.config.electionTimeoutTicks;
  }

  // ---------------------------------------------------------------- phase 2

  private flushPending(): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    while (s.pending.length > 0 && s.inflight.size < this.config.pipelineSlotsMax) {
      const commands = s.pending.splice(0, this.config.batchCommandsMax);
      this.propose(s, s.nextSlot, { kind: 'batch', commands });
    }
  }

  private propose(s: Extract<RoleState<C>, { role: 'leader' }>, slot: Slot, value: SlotValue<C>): void {
    if (slot >= s.nextSlot) s.nextSlot = nextSlot(slot);
    // The leader's own vote is recorded first; persist-before-send makes it
    // durable before any other acceptor can hear of the proposal.
    this.record({ kind: 'accept', slot, ballot: s.ballot, value });
    const proposal: Proposal<C> = { value, votes: new Set([this.config.self]), sentAtTick: this.now };
    s.inflight.set(slot, proposal);
    if (this.isChosenBy(proposal.votes)) {
      s.inflight.delete(slot);
      this.decide(slot, value);
      return;
    }
    for (const member of this.config.members) if (member !== this.config.self) this.sendAccept(s, member, slot, value);
  }

  private sendAccept(s: Extract<RoleState<C>, { role: 'leader' }>, to: NodeId, slot: Slot, value: SlotValue<C>): void {
    s.commitSentThrough = this.decidedThrough;
    this.send({ type: 'accept', from: this.config.self, to, ballot: s.ballot, slot, value, commitThrough: this.decidedThrough });
  }

  private broadcastHeartbeat(): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    s.lastHeartbeatTick = this.now;
    s.commitSentThrough = this.decidedThrough;
    for (const member of this.config.members) {
      if (member === this.config.self) continue;
      this.send({ type: 'heartbeat', from: this.config.self, to: member, ballot: s.ballot, commitThrough: this.decidedThrough, readRound: s.reads.roundSent });
    }
  }

  // ---------------------------------------------------------------- learning

  /**
   * The leader of `ballot` says every slot <= commitThrough is decided. A vote
   * this replica cast in that same ballot is then the decided value: the leader
   * proposes one value per slot per ballot, and it only announces slots it saw
   * chosen while leading `ballot` (it steps down on learning any other decision
   * for a slot it proposed, see onCatchupReply). Slots voted in other ballots, or
   * not at all, are fetched from the leader.
   */
  private learnCommitted(leader: NodeId, ballot: Ballot, commitThrough: Slot): void {
    if (commitThrough > this.knownCommit) this.knownCommit = commitThrough;
    if (commitThrough <= this.decidedThrough) return;
    for (const [slot, vote] of this.durable.accepted) {
      if (slot <= commitThrough && compareBallots(vote.ballot, ballot) === 0) this.decide(slot, vote.value);
    }
    if (this.decidedThrough < commitThrough && this.now - this.catchupRetryTick >= this.config.heartbeatTicks) {
      this.requestCatchup(leader, nextSlot(this.decidedThrough), commitThrough);
    }
  }

  private requestCatchup(from: NodeId, fromSlot: Slot, throughSlot: Slot): void {
    this.catchupRetryTick = this.now;
    if (from === this.config.self) return;
    this.send({ type: 'catchup-request', from: this.config.self, to: from, fromSlot, throughSlot });
  }

  private decide(slot: Slot, value: SlotValue<C>): void {
    if (slot <= this.durable.compactedThrough || slot <= this.decidedThrough || this.durable.decided.has(slot)) return;
    this.record({ kind: 'decide', slot, value });
    this.advanceDecided();
  }

  private advanceDecided(): void {
    while (this.durable.decided.has(nextSlot(this.decidedThrough))) this.decidedThrough = nextSlot(this.decidedThrough);
    this.applyDecided();
    if (this.state.role === 'leader') this.flushPending();
  }

  // ---------------------------------------------------------------- hooks
  // The decisions below are where Paxos's safety lives. They are methods so that
  // the simulator's planted bugs (src/sim/mutants.ts) can break them one at a time
  // and show that the checks notice.

  /** Phase 2b's rule: vote in `ballot` only if no higher ballot was promised. */
  protected acceptorMayAccept(ballot: Ballot): boolean {
    return compareBallots(ballot, this.durable.promised) >= 0;
  }

  /** P2c: the value a new leader must propose for a slot, given the quorum's votes. */
  protected valueFromVotes(_slot: Slot, votes: readonly AcceptedEntry<C>[]): SlotValue<C> | null {
    return highestBallotValue(votes);
  }

  /** A value is chosen once a phase-2 quorum voted for it in one ballot. */
  protected isChosenBy(votes: ReadonlySet<NodeId>): boolean {
    return this.quorum.isPhase2Quorum(votes);
  }

  /** What a restarted acceptor has promised: exactly what it made durable. */
  protected recoveredPromise(durable: DurableState<C>): Ballot {
    return durable.promised;
  }

  /** Hands decided slots to the state machine, strictly in slot order. */
  protected applyDecided(): void {
    while (this.appliedThrough < this.decidedThrough) {
      const slot = nextSlot(this.appliedThrough);
      const value = this.durable.decided.get(slot);
      assert(value !== undefined, () => `slot ${slot} is decided but its value is missing`);
      this.effects.push({ type: 'apply', slot, value });
      this.appliedThrough = slot;
    }
  }

  /** The decided values this replica knows, for hooks that apply them. */
  protected decidedEntries(): ReadonlyMap<Slot, SlotValue<C>> {
    return this.durable.decided;
  }

  protected emit(effect: Effect<C>): void {
    this.effects.push(effect);
  }

  // ---------------------------------------------------------------- plumbing

  private record(record: DurableRecord<C>): void {
    applyRecord(this.durable, record);
    this.persist.push(record);
  }

  private send(message: Message<C>): void {
    this.effects.push({ type: 'send', message });
  }

  private noteBallot(ballot: Ballot): void {
    if (compareBallots(ballot, this.highestSeen) > 0) this.highestSeen = ballot;
  }

  private announceRole(): void {
    const s = this.state;
    const ballot = s.role === 'follower' ? this.durable.promised : s.ballot;
    const leader = s.role === 'leader' ? this.config.self : s.role === 'follower' ? s.leader : null;
    this.effects.push({ type: 'role', role: s.role, ballot, leader });
  }

  private resetElectionTimer(): void {
    const base = this.config.electionTimeoutTicks;
    this.electionDeadline = this.now + base + this.random.intBetween(0, base - 1);
  }

  private finishStep(): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    // A confirmed round with reads waiting behind it starts the next one at once.
    if (s.reads.needsNextRound()) {
      s.reads.startNextRound();
      s.reads.confirmAlone(this.config.self, (voters) => this.quorum.isPhase1Quorum(voters));
      this.broadcastHeartbeat();
    }
    // Tell followers about new decisions promptly when no accept carried them.
    if (this.decidedThrough > s.commitSentThrough) this.broadcastHeartbeat();
    // Reads go out after this step's applies, so they see every slot <= their index.
    for (const read of s.reads.takeReady(this.appliedThrough)) this.effects.push({ type: 'read-ready', id: read.id });
  }

  private highestSlot(): Slot {
    let highest = this.decidedThrough;
    for (const slot of this.durable.accepted.keys()) if (slot > highest) highest = slot;
    for (const slot of this.durable.decided.keys()) if (slot > highest) highest = slot;
    const s = this.state;
    if (s.role === 'leader' && s.nextSlot - 1 > highest) highest = (s.nextSlot - 1) as Slot;
    return highest;
  }

  private highestSlotOf(promise: PromiseMessage<C>): Slot {
    let highest = promise.compactedThrough;
    for (const entry of promise.decided) if (entry.slot > highest) highest = entry.slot;
    return highest;
  }

  private drain(): Ready<C> {
    const ready: Ready<C> = { persist: this.persist, afterDurable: this.effects };
    this.persist = [];
    this.effects = [];
    return ready;
  }

  /** Local invariants, checked after every step (TigerBeetle style). */
  checkInvariants(): void {
    const d = this.durable;
    assert(d.compactedThrough <= this.appliedThrough, 'compacted beyond what was applied');
    assert(this.appliedThrough <= this.decidedThrough, 'applied beyond the decided prefix');
    // Every slot of the decided prefix must hold its value. Checking all of them
    // after every step would be quadratic; the two ends catch off-by-one mistakes.
    for (const slot of [d.compactedThrough + 1, this.decidedThrough] as Slot[]) {
      if (slot > d.compactedThrough && slot <= this.decidedThrough) {
        assert(d.decided.has(slot), () => `slot ${slot} <= decidedThrough ${this.decidedThrough} has no decision`);
      }
    }
    for (const [slot, vote] of d.accepted) {
      assert(slot > d.compactedThrough && !d.decided.has(slot), () => `slot ${slot} is both voted and decided or compacted`);
      assert(compareBallots(vote.ballot, d.promised) <= 0, () => `vote in ballot above the promise at slot ${slot}`);
    }
    const s = this.state;
    if (s.role === 'leader') {
      assert(compareBallots(s.ballot, d.promised) === 0, 'a leader whose ballot is not its promise');
      assert(s.pending.length <= this.config.pendingCommandsMax, 'pending commands over their bound');
      assert(s.reads.size <= this.config.readsPendingMax, 'pending reads over their bound');
      for (const slot of s.inflight.keys()) assert(!d.decided.has(slot) && slot > this.decidedThrough, () => `in-flight slot ${slot} already decided`);
    }
  }
}
