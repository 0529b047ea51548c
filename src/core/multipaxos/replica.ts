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
import { Random } from '../random.js';
import { applyRecord, emptyDurableState, type DurableState } from './durable.js';
import { Configurations, bootstrapMembership, membershipProblem, phase1Coverage, sameMembership } from './membership.js';
import { buildPromise, highestBallotValue, mergePromises, promiseShowsCandidateBehind } from './phase1.js';
import { ReadTracker } from './reads.js';
import {
  NOOP,
  type AcceptMessage,
  type AcceptedEntry,
  type AcceptedMessage,
  type ConfigEntry,
  type Membership,
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
  type ReconfigureRejection,
  type ReconfigureRequest,
  type RejectMessage,
  type ReplicaConfig,
  type ReplicaStatus,
  type SlotValue,
  type SnapshotMessage,
  type SnapshotRequestMessage,
  type Standing,
  type TimeoutNowMessage,
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
      /** A hand-over: the ballot of the leader that asked for it. */
      readonly transfer: Ballot | null;
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
      /** The decided prefix each member last reported (heartbeat acks). */
      readonly progress: Map<NodeId, Slot>;
      readonly reads: ReadTracker;
      commitSentThrough: Slot;
      /** Phase 1 found votes through this slot: each is re-proposed as the window allows. */
      readonly recoverThrough: Slot;
      /** Every slot through recoverThrough is decided here (see finishStep). */
      recovered: boolean;
      readonly recoverVotes: ReadonlyMap<Slot, AcceptedEntry<C>[]>;
      /** A configuration change waiting for its slot, or proposed at `slot`. */
      change: { readonly request: ReconfigureRequest; readonly origin: NodeId; slot: Slot | null } | null;
      /** No-ops fill the log through this slot, so a proposed change becomes active promptly. */
      fillThrough: Slot;
    };

export class Replica<C> {
  readonly config: ReplicaConfig;
  protected readonly configs: Configurations;
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
  /** The last heartbeat this follower answered: its ballot, read round and tick. */
  private lastAck: { ballot: Ballot; readRound: number; tick: number } | null = null;
  private readonly random: Random;
  private persist: DurableRecord<C>[] = [];
  /** See Ready.ownRecordsFirst. */
  private ownRecordsFirst = false;
  private effects: Effect<C>[] = [];
  private startPending = true;
  private announced: { latest: ConfigEntry | null; standing: Standing } = { latest: null, standing: 'unknown' };
  /** A snapshot arriving chunk by chunk (not durable: a restart starts it over). */
  private incoming: { readonly from: NodeId; readonly throughSlot: Slot; readonly total: number; readonly parts: Uint8Array[]; received: number } | null = null;
  /** Whether this replica has seen itself in a configuration (trimmed entries forget it). */
  private wasMember = false;

  /**
   * A replica rebuilt from `durable` (an empty state for a brand-new replica).
   * A brand-new member of a new cluster records `config.members` as the
   * bootstrap configuration; one with no members is joining a running cluster.
   */
  constructor(config: ReplicaConfig, durable: DurableState<C> = emptyDurableState<C>()) {
    assert(config.electionTimeoutTicks > config.heartbeatTicks, 'the election timeout must exceed the heartbeat interval');
    assert(config.pipelineSlotsMax >= 1 && config.batchCommandsMax >= 1, 'pipeline and batch bounds must be positive');
    assert(config.configWindowSlots >= 1, 'the configuration window must be at least one slot');
    this.config = config;
    this.durable = durable;
    if (durable.configs === null && config.members.length > 0) {
      assert(config.members.includes(config.self), () => `${config.self} is not among the members ${config.members.join(',')}`);
      this.record({ kind: 'genesis', configs: [{ activeFrom: 1 as Slot, membership: bootstrapMembership(config.members) }] });
    }
    this.configs = new Configurations(durable.configs ?? []);
    for (const slot of [...durable.decided.keys()].sort((a, b) => a - b)) this.noteConfigValue(slot, durable.decided.get(slot) as SlotValue<C>);
    this.durable.promised = this.recoveredPromise(durable);
    this.random = new Random(config.seed);
    this.decidedThrough = durable.compactedThrough;
    this.appliedThrough = durable.compactedThrough;
    this.highestSeen = durable.promised;
    this.resetElectionTimer();
  }

  // ---------------------------------------------------------------- driving

  step(input: Input<C>): Ready<C> {
    this.begin();
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
        // A member that may back a leader's read lease does not stand against it.
        if (this.state.role !== 'leader' && this.mayCampaign() && !this.backsLease()) this.startElection(null);
        break;
      case 'reconfigure':
        this.onReconfigure(input.request, this.config.self);
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
    this.begin();
    return this.drain();
  }

  private begin(): void {
    if (!this.startPending) return;
    this.startPending = false;
    const snapshot = this.durable.snapshot;
    if (snapshot !== null) this.effects.push({ type: 'restore', throughSlot: snapshot.throughSlot, data: snapshot.data });
    this.advanceDecided();
    this.announceMembership();
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
      latestConfig: this.configs.latest(),
      standing: this.standing(),
    };
  }

  /** This replica's place in the configuration governing its next undecided slot. */
  standing(): Standing {
    const standing = this.configs.standing(this.config.self, nextSlot(this.decidedThrough));
    // A member still catching up passes configurations from before it was
    // added: it is not removed, it is not there yet.
    if (standing === 'removed' && !this.configs.names(this.config.self) && !this.wasMember) return 'unknown';
    return standing;
  }

  /**
   * Whether this replica may stand for leader: it votes in a configuration
   * governing its next undecided slot or a later one. A learner that a decided
   * change makes a voter qualifies before the change governs: phase 1 still
   * needs a quorum of every configuration from its first undecided slot on
   * (phase1Coverage), so this is as safe as any candidacy. Without it, a change
   * whose new voters all missed its last decisions (the leader that handed over
   * to them went quiet, or crashed) would leave no one to lead.
   */
  private mayCampaign(): boolean {
    return this.configs.votersFrom(nextSlot(this.decidedThrough)).has(this.config.self);
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
    // Messages from nodes no configuration known here names are handled like
    // any other: a member that missed the changes bringing in the current
    // leader must still follow it and catch up, and a removed node whose
    // removal was compacted away must still get the decisions that show it.
    // Safety never rested on the sender: quorums count only voters (isChosenBy,
    // phase1Coverage), and onPrepare gives non-voters decisions, not promises.
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
      case 'snapshot-request':
        return this.onSnapshotRequest(message);
      case 'forward':
        if (this.state.role === 'leader') this.enqueue(message.commands);
        return;
      case 'timeout-now':
        return this.onTimeoutNow(message);
      case 'reconfigure':
        return this.onReconfigure(message.request, message.from);
      case 'reconfigure-rejected':
        this.effects.push({ type: 'reconfigure-rejected', id: message.id, reason: message.reason, leader: this.knownLeader() });
        return;
      default:
        assertNever(message, 'message');
    }
  }

  private onPrepare(m: PrepareMessage): void {
    // A member removed from every configuration still to come cannot disrupt
    // the cluster with its ballots: it gets the decisions it missed instead,
    // which show it that it was removed.
    if (this.configs.known && !this.configs.votersFrom(nextSlot(this.decidedThrough)).has(m.from)) {
      this.onCatchupRequest({ type: 'catchup-request', from: m.from, to: this.config.self, fromSlot: m.fromSlot, throughSlot: this.highestSlot() });
      return;
    }
    this.noteBallot(m.ballot);
    if (compareBallots(m.ballot, this.durable.promised) > 0 && this.ignoresCandidate(m)) return;
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
    this.tryLead(s);
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
    if (!known && !duplicate) {
      this.record({ kind: 'accept', slot: m.slot, ballot: m.ballot, value: m.value });
      this.ownRecordsFirst = true; // the `accepted` reply announces this vote
    }
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
    if (this.isChosenBy(m.slot, proposal.votes)) {
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
      this.startElection(null);
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
    // A heartbeat that only announces decisions (the leader sends one after each
    // decision no accept carried) needs no answer: the leader counts answers
    // only for new read rounds, and for liveness and progress, which one answer
    // per tick covers. So answer a new ballot, a new read round, or the first
    // heartbeat of a tick.
    const last = this.lastAck;
    if (last === null || compareBallots(last.ballot, m.ballot) !== 0 || m.readRound > last.readRound || this.now > last.tick) {
      this.lastAck = { ballot: m.ballot, readRound: m.readRound, tick: this.now };
      this.send({
        type: 'heartbeat-ack',
        from: this.config.self,
        to: m.from,
        ballot: m.ballot,
        readRound: m.readRound,
        decidedThrough: this.decidedThrough,
      });
    }
    this.learnCommitted(m.from, m.ballot, m.commitThrough);
  }

  private onHeartbeatAck(m: HeartbeatAckMessage): void {
    const s = this.state;
    if (s.role !== 'leader' || compareBallots(m.ballot, s.ballot) !== 0) return;
    s.lastHeard.set(m.from, this.now);
    s.progress.set(m.from, m.decidedThrough);
    s.reads.acknowledge(m.from, m.readRound, this.config.self, (voters) => this.isLeaderQuorum(voters));
  }

  private onCatchupRequest(m: CatchupRequestMessage): void {
    if (m.fromSlot <= this.durable.compactedThrough && this.durable.snapshot !== null) {
      this.sendSnapshotChunk(m.from, 0);
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

  /** Sends the chunk of this replica's snapshot that starts at `offset`. */
  private sendSnapshotChunk(to: NodeId, offset: number): void {
    const snapshot = this.durable.snapshot;
    if (snapshot === null) return;
    const start = offset < snapshot.data.length ? offset : 0;
    const data = snapshot.data.subarray(start, start + this.config.snapshotChunkBytes);
    this.send({ type: 'snapshot', from: this.config.self, to, throughSlot: snapshot.throughSlot, offset: start, total: snapshot.data.length, data, configs: snapshot.configs });
  }

  /** A peer asks for the next chunk of a snapshot it is receiving; a newer one starts over. */
  private onSnapshotRequest(m: SnapshotRequestMessage): void {
    const snapshot = this.durable.snapshot;
    if (snapshot === null) return;
    this.sendSnapshotChunk(m.from, snapshot.throughSlot === m.throughSlot ? m.offset : 0);
  }

  /**
   * A chunk of a snapshot. Chunks are taken in order from one sender; the
   * snapshot is installed once all `total` bytes are in, and until then each
   * chunk asks for the next. A lost chunk is asked for again on the catch-up
   * timer (requestCatchup), from where the transfer stopped.
   */
  private onSnapshot(m: SnapshotMessage): void {
    if (m.throughSlot <= this.appliedThrough || this.state.role === 'leader') return;
    this.catchupRetryTick = this.now;
    let incoming = this.incoming;
    if (m.offset === 0) {
      if (incoming !== null && incoming.throughSlot > m.throughSlot) return;
      incoming = { from: m.from, throughSlot: m.throughSlot, total: m.total, parts: [], received: 0 };
      this.incoming = incoming;
    }
    if (incoming === null || incoming.from !== m.from || incoming.throughSlot !== m.throughSlot || incoming.total !== m.total || incoming.received !== m.offset) return;
    if (m.data.length === 0 && m.total > 0) return;
    incoming.parts.push(m.data);
    incoming.received += m.data.length;
    if (incoming.received < incoming.total) {
      this.send({ type: 'snapshot-request', from: this.config.self, to: m.from, throughSlot: m.throughSlot, offset: incoming.received });
      return;
    }
    this.incoming = null;
    const data = concatBytes(incoming.parts, incoming.total);
    this.record({ kind: 'snapshot', throughSlot: m.throughSlot, data, configs: m.configs });
    for (const entry of m.configs) this.configs.add(entry);
    this.configs.trimBefore(nextSlot(m.throughSlot));
    this.effects.push({ type: 'restore', throughSlot: m.throughSlot, data });
    this.decidedThrough = m.throughSlot;
    this.appliedThrough = m.throughSlot;
    this.advanceDecided();
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
    // Every slot a write acknowledged before this read may hold: those this
    // leader knows decided, and those its phase 1 found votes for (which can
    // run past what the pipeline has re-proposed so far). Slots still in flight
    // hold no acknowledged write, so the read does not wait for them.
    const index = maxSlot(this.decidedThrough, s.recoverThrough);
    if (s.reads.add(id, index, this.leaseHeld(s))) {
      this.openReadRound(s);
      this.broadcastHeartbeat();
    }
  }

  /**
   * A configuration change, asked here or forwarded by `origin`. Only the leader
   * proposes one, and only one at a time: the next waits until the last is
   * active, so every change is made against the configuration it names.
   */
  private onReconfigure(request: ReconfigureRequest, origin: NodeId): void {
    const s = this.state;
    if (s.role !== 'leader') {
      const leader = s.role === 'follower' ? s.leader : null;
      if (origin === this.config.self && leader !== null && leader !== this.config.self) {
        this.send({ type: 'reconfigure', from: this.config.self, to: leader, request });
      } else {
        this.rejectReconfigure(request.id, origin, 'not-leader');
      }
      return;
    }
    const problem = membershipProblem(request.membership);
    if (problem !== null) return this.rejectReconfigure(request.id, origin, 'invalid');
    if (this.changeInProgress(s)) return this.rejectReconfigure(request.id, origin, 'in-progress');
    if (this.configs.latest()?.activeFrom !== request.basedOn) return this.rejectReconfigure(request.id, origin, 'stale');
    const behind = request.caughtUp.some((id) => id !== this.config.self && (s.progress.get(id) ?? NO_SLOT) + this.config.configWindowSlots < this.decidedThrough);
    if (behind) return this.rejectReconfigure(request.id, origin, 'behind');
    s.change = { request, origin, slot: null };
    this.flushPending();
  }

  private changeInProgress(s: Extract<RoleState<C>, { role: 'leader' }>): boolean {
    if (s.change !== null) return true;
    const latest = this.configs.latest();
    if (latest !== null && latest.activeFrom > nextSlot(this.decidedThrough)) return true;
    for (const proposal of s.inflight.values()) if (proposal.value.kind === 'config') return true;
    for (let slot = s.nextSlot; slot <= s.recoverThrough; slot = nextSlot(slot)) {
      if (this.recoveredValue(s, slot)?.kind === 'config') return true;
    }
    return false;
  }

  private rejectReconfigure(id: string, origin: NodeId, reason: ReconfigureRejection): void {
    if (origin === this.config.self) this.effects.push({ type: 'reconfigure-rejected', id, reason, leader: this.knownLeader() });
    else this.send({ type: 'reconfigure-rejected', from: this.config.self, to: origin, id, reason });
  }

  /** A leader leaving the configuration hands over: campaign now, past the old leader's lease. */
  private onTimeoutNow(m: TimeoutNowMessage): void {
    const s = this.state;
    // From the leader of the ballot this replica follows, or of a newer one:
    // a leader can win without this replica and hand over before its heartbeat
    // gets here. Older hand-overs are stale.
    if (s.role !== 'follower' || compareBallots(m.ballot, this.durable.promised) < 0 || m.ballot.node !== m.from) return;
    this.noteBallot(m.ballot);
    if (this.mayCampaign()) this.startElection(m.ballot);
  }

  private onCompact(throughSlot: Slot, data: Uint8Array): void {
    assert(throughSlot <= this.appliedThrough, () => `cannot compact through ${throughSlot}: applied only through ${this.appliedThrough}`);
    if (throughSlot <= this.durable.compactedThrough) return;
    this.record({ kind: 'snapshot', throughSlot, data, configs: this.configs.asOf(throughSlot, this.config.configWindowSlots) });
    this.configs.trimBefore(nextSlot(throughSlot));
  }

  // ---------------------------------------------------------------- time

  private onTick(): void {
    this.now += 1;
    const s = this.state;
    switch (s.role) {
      case 'follower':
        // Only a voter (of the next slot or a later one) campaigns; learners,
        // joining and removed members wait.
        if (this.now >= this.electionDeadline && !this.mayCampaign()) this.resetElectionTimer();
        if (this.now >= this.electionDeadline) this.startElection(null);
        else if (this.knownCommit > this.decidedThrough && this.now - this.catchupRetryTick >= this.config.heartbeatTicks * 2 && s.leader !== null) {
          this.requestCatchup(s.leader, nextSlot(this.decidedThrough), this.knownCommit);
        }
        return;
      case 'candidate':
        // A candidate that learned it no longer votes (it was removed) stops at
        // once rather than asking again every heartbeat until its deadline.
        if (!this.mayCampaign()) this.becomeFollower(null);
        else if (this.now >= this.electionDeadline) this.startElection(null);
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
      if (!this.isLeaderQuorum(heard)) {
        this.becomeFollower(null);
        return;
      }
    }
    if (this.now - s.lastHeartbeatTick >= this.config.heartbeatTicks) {
      // With read leases every periodic heartbeat is a round: its answers renew the lease.
      if (this.config.readLease !== undefined || s.reads.needsNextRound()) {
        this.openReadRound(s);
      }
      this.broadcastHeartbeat();
      // Re-send accepts that may have been lost, to the voters still missing.
      for (const [slot, proposal] of s.inflight) {
        if (this.now - proposal.sentAtTick < this.config.heartbeatTicks) continue;
        proposal.sentAtTick = this.now;
        for (const member of this.peers()) {
          if (!proposal.votes.has(member)) this.sendAccept(s, member, slot, proposal.value);
        }
      }
    }
  }

  // ---------------------------------------------------------------- elections

  private startElection(transfer: Ballot | null): void {
    if (!this.mayCampaign()) {
      this.becomeFollower(null);
      return;
    }
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
      transfer,
    };
    this.leaveLeadership();
    this.state = candidate;
    this.resetElectionTimer();
    this.announceRole();
    candidate.promises.set(this.config.self, buildPromise(this.durable, this.config.self, this.config.self, ballot, fromSlot, Number.POSITIVE_INFINITY));
    this.tryLead(candidate);
    if (this.state === candidate) this.sendPrepares(candidate, false);
  }

  /** The values phase 1 has found so far, slot by slot, as the candidate would propose them. */
  private phase1Values(s: Extract<RoleState<C>, { role: 'candidate' }>): { values: Map<Slot, SlotValue<C>>; outcome: ReturnType<typeof mergePromises<C>> } {
    const outcome = mergePromises(s.promises.values(), this.highestSlot());
    const values = new Map<Slot, SlotValue<C>>();
    for (const [slot, value] of this.durable.decided) if (slot >= s.fromSlot) values.set(slot, value);
    for (const [slot, value] of outcome.decided) values.set(slot, value);
    for (const [slot, votes] of outcome.votes) {
      if (values.has(slot)) continue;
      const value = this.valueFromVotes(slot, votes);
      if (value !== null) values.set(slot, value);
    }
    return { values, outcome };
  }

  /** Becomes leader once the promises cover every configuration the take-over may touch. */
  private tryLead(s: Extract<RoleState<C>, { role: 'candidate' }>): void {
    const { values } = this.phase1Values(s);
    const coverage = phase1Coverage(this.configs, s.fromSlot, this.config.configWindowSlots, values, new Set(s.promises.keys()));
    if (coverage.covered) this.becomeLeader();
  }

  private sendPrepares(s: Extract<RoleState<C>, { role: 'candidate' }>, missingOnly: boolean): void {
    s.lastSentTick = this.now;
    const { values } = this.phase1Values(s);
    const { voters } = phase1Coverage(this.configs, s.fromSlot, this.config.configWindowSlots, values, new Set(s.promises.keys()));
    for (const member of voters) {
      if (member === this.config.self || (missingOnly && s.promises.has(member))) continue;
      this.send({ type: 'prepare', from: this.config.self, to: member, ballot: s.ballot, fromSlot: s.fromSlot, transfer: s.transfer });
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
      nextSlot: s.fromSlot,
      inflight: new Map(),
      pending: [],
      lastHeartbeatTick: this.now,
      lastQuorumCheckTick: this.now,
      lastHeard: new Map(),
      progress: new Map(),
      reads: new ReadTracker(),
      commitSentThrough: NO_SLOT,
      recoverThrough: outcome.highestSlot,
      recovered: this.decidedThrough >= outcome.highestSlot,
      recoverVotes: outcome.votes,
      change: null,
      // A change decided under an earlier leader must still come into force
      // promptly, so this leader fills up to its first slot as its proposer would.
      fillThrough: this.activationFill(),
    };
    this.state = leader;
    this.announceRole();
    // The first heartbeat is a read round, so that a lease starts at once.
    if (this.config.readLease !== undefined) {
      this.openReadRound(leader);
    }
    // Phase 2 for every slot the quorum may have chosen something in (the value
    // of the highest-ballot vote reported, or a no-op where nobody voted), as
    // fast as the configuration window allows: see flushPending.
    this.flushPending();
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
    if (s.change !== null && s.change.slot === null) this.rejectReconfigure(s.change.request.id, s.change.origin, 'stepped-down');
    s.change = null;
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

  /**
   * Whether to ignore a candidate's prepare. A replica in touch with a live
   * leader ignores other candidates, so a node that was cut off cannot depose a
   * working leader when it comes back; with read leases it ignores every other
   * candidate while it may back a lease (backsLease). Its own leader, and a
   * hand-over asked by the leader of the ballot it follows, are the exceptions.
   */
  private ignoresCandidate(m: PrepareMessage): boolean {
    if (m.transfer !== null && compareBallots(m.transfer, this.durable.promised) === 0) return false;
    const s = this.state;
    if (s.role === 'leader') return true;
    // Its own leader running phase 1 again gives up its lease by doing so.
    if (s.role === 'follower' && s.leader === m.from) return false;
    if (this.config.readLease !== undefined) return this.backsLease();
    if (s.role !== 'follower' || s.leader === null) return false;
    return this.now - this.lastLeaderContact < this.config.electionTimeoutTicks;
  }

  /**
   * With read leases: whether an answer this replica gave its leader may still
   * count toward a lease (reads.ts). It heard from a leader less than an
   * election timeout ago, or started less than one ago: a restart forgets when
   * it last answered.
   */
  private backsLease(): boolean {
    if (this.config.readLease === undefined) return false;
    const window = this.config.electionTimeoutTicks;
    return this.now < window || this.now - this.lastLeaderContact < window;
  }

  /** Whether this leader's read lease holds now (reads.ts). */
  private leaseHeld(s: Extract<RoleState<C>, { role: 'leader' }>): boolean {
    const lease = this.config.readLease;
    const from = s.reads.confirmedSentAt;
    return lease !== undefined && s.recovered && from !== null && lease.clock() - from < lease.ms;
  }

  /**
   * Starts a read round, sent now by the heartbeat the caller broadcasts; a
   * leader that alone is a quorum confirms it at once.
   */
  private openReadRound(s: Extract<RoleState<C>, { role: 'leader' }>): void {
    s.reads.startNextRound(this.clockNow());
    s.reads.confirmAlone(this.config.self, (voters) => this.isLeaderQuorum(voters));
  }

  /** The read lease's clock, or null without leases. */
  private clockNow(): number | null {
    return this.config.readLease?.clock() ?? null;
  }

  /**
   * A leader no longer among the voters of the slot it would propose next
   * hands over to a voter of that configuration and stops.
   */
  private handOver(s: Extract<RoleState<C>, { role: 'leader' }>): void {
    const next = this.configs.forSlot(s.nextSlot);
    let target: NodeId | null = null;
    let heardAt = Number.NEGATIVE_INFINITY;
    for (const member of next?.membership.members ?? []) {
      if (!member.voter || member.id === this.config.self) continue;
      const at = s.lastHeard.get(member.id) ?? Number.NEGATIVE_INFINITY;
      if (target === null || at > heardAt) {
        target = member.id;
        heardAt = at;
      }
    }
    if (target !== null) this.send({ type: 'timeout-now', from: this.config.self, to: target, ballot: s.ballot });
    this.becomeFollower(target);
  }

  private knownLeader(): NodeId | null {
    const s = this.state;
    return s.role === 'leader' ? this.config.self : s.role === 'follower' ? s.leader : null;
  }

  // ---------------------------------------------------------------- phase 2

  /**
   * Proposes what is waiting, in slot order: values phase 1 found, then a
   * configuration change, then client commands, then no-ops that bring a
   * proposed change into force. Slot t goes out only once every slot <= t -
   * alpha is decided (so its configuration is known) and only while this
   * replica votes in t's configuration; a leader that does not hands over.
   */
  private flushPending(): void {
    const s = this.state;
    if (s.role !== 'leader') return;
    const window = this.config.configWindowSlots;
    while (s.inflight.size < this.config.pipelineSlotsMax && s.nextSlot <= this.decidedThrough + window) {
      const slot = s.nextSlot;
      if (slot <= this.decidedThrough || this.durable.decided.has(slot)) {
        s.nextSlot = nextSlot(slot);
        continue;
      }
      const config = this.configs.forSlot(slot);
      if (config === null || !config.membership.members.some((m) => m.id === this.config.self && m.voter)) {
        // Leave once the slots this leader may still decide are decided.
        if (this.decidedThrough >= slot - 1) this.handOver(s);
        return;
      }
      let value: SlotValue<C>;
      if (slot <= s.recoverThrough) {
        value = this.recoveredValue(s, slot) ?? NOOP;
      } else if (s.change !== null && s.change.slot === null) {
        if (this.configs.latest()?.activeFrom !== s.change.request.basedOn) {
          this.rejectReconfigure(s.change.request.id, s.change.origin, 'stale');
          s.change = null;
          continue;
        }
        value = { kind: 'config', id: s.change.request.id, membership: s.change.request.membership };
        s.change.slot = slot;
        s.fillThrough = (slot + window - 1) as Slot;
        this.configProposed(slot, s.change.request.membership);
      } else if (s.pending.length > 0) {
        value = { kind: 'batch', commands: s.pending.splice(0, this.config.batchCommandsMax) };
      } else if (slot <= s.fillThrough) {
        value = NOOP;
      } else {
        return;
      }
      this.propose(s, slot, value);
      if (this.state !== s) return;
    }
  }

  private recoveredValue(s: Extract<RoleState<C>, { role: 'leader' }>, slot: Slot): SlotValue<C> | null {
    return this.valueFromVotes(slot, s.recoverVotes.get(slot) ?? []);
  }

  private propose(s: Extract<RoleState<C>, { role: 'leader' }>, slot: Slot, value: SlotValue<C>): void {
    if (slot >= s.nextSlot) s.nextSlot = nextSlot(slot);
    // The leader's own vote is recorded first; persist-before-send makes it
    // durable before any other acceptor can hear of the proposal.
    this.record({ kind: 'accept', slot, ballot: s.ballot, value });
    const proposal: Proposal<C> = { value, votes: new Set([this.config.self]), sentAtTick: this.now };
    s.inflight.set(slot, proposal);
    if (this.isChosenBy(slot, proposal.votes)) {
      // A single voter decides alone; learners hear of it from commit notices.
      // The decision rests on the vote just recorded, so it must be durable first.
      this.ownRecordsFirst = true;
      s.inflight.delete(slot);
      this.decide(slot, value);
      return;
    }
    for (const member of this.peers()) this.sendAccept(s, member, slot, value);
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
    for (const member of this.peers()) {
      this.send({ type: 'heartbeat', from: this.config.self, to: member, ballot: s.ballot, commitThrough: this.decidedThrough, readRound: s.reads.roundSent });
    }
  }

  /** Everyone a leader talks to: the members of every configuration from the next undecided slot on. */
  private peers(): NodeId[] {
    const ids = this.configs.membersFrom(nextSlot(this.decidedThrough));
    ids.delete(this.config.self);
    return [...ids];
  }

  /** A leader still leads while a quorum of every configuration it may propose in stays with it. */
  private isLeaderQuorum(voters: ReadonlySet<NodeId>): boolean {
    return this.configs.isQuorumFrom(nextSlot(this.decidedThrough), voters);
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
    const incoming = this.incoming;
    if (incoming !== null && incoming.throughSlot > this.appliedThrough) {
      // A snapshot transfer stalled (a chunk was lost): go on from where it stopped.
      this.send({ type: 'snapshot-request', from: this.config.self, to: incoming.from, throughSlot: incoming.throughSlot, offset: incoming.received });
      return;
    }
    this.send({ type: 'catchup-request', from: this.config.self, to: from, fromSlot, throughSlot });
  }

  private decide(slot: Slot, value: SlotValue<C>): void {
    if (slot <= this.durable.compactedThrough || slot <= this.decidedThrough || this.durable.decided.has(slot)) return;
    this.record({ kind: 'decide', slot, value });
    this.noteConfigValue(slot, value);
    this.advanceDecided();
  }

  /** A decided configuration change governs the log from its activation slot on. */
  private noteConfigValue(slot: Slot, value: SlotValue<C>): void {
    if (value.kind !== 'config') return;
    this.configs.add({ activeFrom: this.activationSlot(slot), membership: value.membership });
    // A leader that learns of a change (one it re-proposed after phase 1, say)
    // brings it into force with no-ops too.
    const s = this.state;
    if (s.role === 'leader') {
      s.fillThrough = maxSlot(s.fillThrough, this.activationFill());
      // A lease confirmed by the quorums of the old configurations says nothing
      // of the new one's members (they may never have heard from this leader).
      s.reads.restartRounds();
    }
  }

  /** The last slot before the newest known configuration governs, if it does not govern yet. */
  private activationFill(): Slot {
    const latest = this.configs.latest();
    return latest !== null && latest.activeFrom - 1 > this.decidedThrough ? ((latest.activeFrom - 1) as Slot) : NO_SLOT;
  }

  private advanceDecided(): void {
    while (this.durable.decided.has(nextSlot(this.decidedThrough))) this.decidedThrough = nextSlot(this.decidedThrough);
    this.applyDecided();
    const s = this.state;
    if (s.role !== 'leader') return;
    // A proposed change is done once decided; the next may come once it is active.
    if (s.change !== null && s.change.slot !== null && s.change.slot <= this.decidedThrough) s.change = null;
    this.flushPending();
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

  /**
   * A value is chosen once a phase-2 quorum of the slot's configuration voted
   * for it in one ballot. A leader only counts slots whose configuration it knows.
   */
  protected isChosenBy(slot: Slot, votes: ReadonlySet<NodeId>): boolean {
    const config = this.configs.forSlot(slot);
    return config !== null && this.configs.quorumOf(config).isPhase2Quorum(votes);
  }

  /** The first slot a configuration decided at `slot` governs: alpha slots later. */
  protected activationSlot(slot: Slot): Slot {
    return (slot + this.config.configWindowSlots) as Slot;
  }

  /** Called when this leader proposes a configuration change (a hook for planted bugs). */
  protected configProposed(_slot: Slot, _membership: Membership): void {}

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
    // Promises, snapshots and the bootstrap configuration are always waited for;
    // votes and decisions mark the step where they are recorded (see Ready).
    if (record.kind === 'promise' || record.kind === 'snapshot' || record.kind === 'genesis') this.ownRecordsFirst = true;
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
    this.announceMembership();
    const s = this.state;
    if (s.role !== 'leader') return;
    // Until the recovered slots are decided here, a configuration change among
    // them is unknown to isLeaderQuorum, and a round it confirmed may lack a
    // quorum of that configuration: only rounds sent after recovery count.
    if (!s.recovered && this.decidedThrough >= s.recoverThrough) {
      s.recovered = true;
      s.reads.restartRounds();
    }
    // Reads under a lease need no round, unless it lapses before they are served.
    const leased = s.reads.size > 0 && this.leaseHeld(s);
    // A confirmed round with reads waiting behind it starts the next one at once.
    if (!leased && s.reads.needsNextRound()) {
      this.openReadRound(s);
      this.broadcastHeartbeat();
    }
    // Tell followers about new decisions promptly when no accept carried them.
    if (this.decidedThrough > s.commitSentThrough) this.broadcastHeartbeat();
    // Reads go out after this step's applies, so they see every slot <= their index.
    for (const read of s.reads.takeReady(this.appliedThrough, leased)) this.effects.push({ type: 'read-ready', id: read.id, leased: read.leased });
  }

  /** Tells the driver when the newest configuration or this replica's standing changes. */
  private announceMembership(): void {
    const latest = this.configs.latest();
    const standing = this.standing();
    const previous = this.announced;
    const same = previous.standing === standing && (previous.latest === latest || (previous.latest !== null && latest !== null && previous.latest.activeFrom === latest.activeFrom && sameMembership(previous.latest.membership, latest.membership)));
    if (same || latest === null) return;
    this.announced = { latest, standing };
    if (standing === 'voter' || standing === 'learner') this.wasMember = true;
    this.effects.push({ type: 'membership', latest, standing });
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
    const ready: Ready<C> = { persist: this.persist, afterDurable: this.effects, ownRecordsFirst: this.ownRecordsFirst };
    this.persist = [];
    this.effects = [];
    this.ownRecordsFirst = false;
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

function maxSlot(a: Slot, b: Slot): Slot {
  return a >= b ? a : b;
}

function concatBytes(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0]?.length === total) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
