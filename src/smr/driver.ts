/**
 * The replicated state machine driver: runs a pure Replica against real ports
 * (a durable log, a peer transport, a state machine) and turns its effects into
 * answers for the clients of this node.
 *
 * Persist-before-send: each step's Ready is queued; one writer drains the queue,
 * making the records of every queued step durable with ONE log append (group
 * commit), and only then releases those steps' effects, in step order. Steps keep
 * running while a sync is in flight, so a busy node batches many steps per sync.
 * A step whose effects announce none of its own records (Ready.ownRecordsFirst
 * false: a leader's proposals, decisions) releases them as soon as every EARLIER
 * record is durable, while its own are written: the leader writes its vote while
 * the followers write theirs, and applies a decided command without waiting for
 * the decision's sync.
 *
 * Proposals are batched: `propose` queues the command, and one step carries
 * every command queued in the event-loop turn (the step runs from
 * `setImmediate`, after the turn's I/O callbacks), or, while a sync is in
 * flight, every command queued until it returns. So those commands share a
 * slot, one record and one accept message per follower, instead of each
 * opening its own slot while the pipeline has room.
 *
 * The driver has no timers of its own: the node calls `tick()` and `expire(now)`,
 * so tests and the simulator can drive it in virtual time.
 */
import { assert } from '../core/assert.js';
import type { NodeId, Slot } from '../core/ids.js';
import type { Replica } from '../core/multipaxos/replica.js';
import { DEFAULT_TIMING, type ConfigEntry, type DurableRecord, type Effect, type Input, type Message, type Ready, type ReconfigureRejection, type ReconfigureRequest, type ReplicaStatus, type Role, type Standing } from '../core/multipaxos/types.js';
import type { StateMachine } from './state-machine.js';

/** Port: makes records durable. `append` resolves only once they survive a crash. */
export interface DurableLog<C> {
  append(records: readonly DurableRecord<C>[]): Promise<void>;
}

/** Port: best-effort delivery to peers (consensus tolerates loss). */
export interface PeerSender<C> {
  send(message: Message<C>): void;
}

export class NotLeaderError extends Error {
  override readonly name = 'NotLeaderError';
  constructor(
    readonly leader: NodeId | null,
    reason: string,
  ) {
    super(reason);
  }
}

export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** A configuration change the leader refused (or that no leader could take). */
export class ReconfigureError extends Error {
  override readonly name = 'ReconfigureError';
  constructor(
    readonly reason: ReconfigureRejection,
    readonly leader: NodeId | null,
  ) {
    super(`configuration change refused: ${reason}`);
  }
}

export interface DriverOptions<C, O> {
  readonly replica: Replica<C>;
  readonly log: DurableLog<C>;
  readonly peers: PeerSender<C>;
  readonly stateMachine: StateMachine<C, O>;
  /** A unique id per command, so the proposing node can find its caller on apply. */
  readonly commandId: (command: C) => string;
  /**
   * Take a snapshot and compact after this many applied slots, or this many
   * applied commands, whichever comes first. Commands count too because a
   * slot may carry a batch of them: the log's size, and what a lagging
   * replica must catch up on, follow commands, as etcd's --snapshot-count
   * (entries, one per request) does.
   */
  readonly snapshotEverySlots: number;
  /**
   * How many fewer slots or commands to wait for the next snapshot, asked
   * afresh after each one (0 when absent). Members that apply the same log
   * would otherwise all snapshot at the same slot, and a quorum would pause
   * for the encoding together; a different amount per member keeps their
   * pauses apart.
   */
  readonly snapshotEarlier?: () => number;
  /** The current time in milliseconds (injected so tests can control it). */
  readonly now: () => number;
  /**
   * Batch proposals (the default): see the comment at the top of this file.
   * `false` steps every proposal at once, alone, for tests that need one step
   * per command.
   */
  readonly batchProposals?: boolean;
  /**
   * Most commands in one propose step: a slot's worth (the replica's
   * `batchCommandsMax`, 64 by default). The replica refuses a whole step that
   * would overfill its queue, so a burst is stepped in slot-sized pieces and
   * only the pieces that do not fit are refused.
   */
  readonly proposeBatchCommandsMax?: number;
  readonly onApplied?: (slot: Slot, command: C, output: O) => void;
  readonly onRestored?: (throughSlot: Slot) => void;
  readonly onRole?: (role: Role, leader: NodeId | null) => void;
  /** The newest known configuration or this member's standing changed. */
  readonly onMembership?: (latest: ConfigEntry, standing: Standing) => void;
  readonly onFatal: (error: unknown) => void;
}

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  deadline: number;
}

/** Deferred decision records are written by themselves once this many wait. */
const DEFERRED_RECORDS_MAX = 256;

/**
 * A step that records only decisions, and whose effects need only earlier
 * records: decisions are facts a quorum's durable votes already hold, so once
 * every earlier record is durable its effects may go and its records ride on
 * the next write (a crash before it only means asking for them again).
 */
function decisionsOnly<C>(ready: Ready<C>): boolean {
  return !ready.ownRecordsFirst && ready.persist.length > 0 && ready.persist.every((r) => r.kind === 'decide');
}

export class ReplicaDriver<C, O> {
  private readonly options: DriverOptions<C, O>;
  private readonly queue: Ready<C>[] = [];
  /** Decision records waiting to ride on the next write (see enqueue). */
  private readonly deferred: DurableRecord<C>[] = [];
  private writing = false;
  private readonly proposals = new Map<string, Waiter<O>>();
  /** Commands proposed this turn, stepped together by `flushProposals`. */
  private proposed: C[] = [];
  private proposeScheduled = false;
  private readonly batchProposals: boolean;
  private readonly proposeBatchCommandsMax: number;
  private readonly reads = new Map<number, Waiter<void>>();
  private readonly changes = new Map<string, Waiter<Slot>>();
  private nextReadId = 1;
  private lastSnapshotSlot: Slot;
  /** `stats.applied` when the last snapshot was taken or restored. */
  private appliedCommandsAtSnapshot = 0;
  /** Slots or commands between the last snapshot and the next. */
  private snapshotDue: number;
  /** A snapshot is being encoded in slices (StateMachine.snapshotInSlices). */
  private snapshotting = false;
  /**
   * The last slot the state machine has really applied. The replica's own
   * `appliedThrough` runs ahead of it: it counts apply effects emitted, which
   * wait here until their step's records are durable.
   */
  private appliedSlot: Slot = 0 as Slot;
  private leader: NodeId | null = null;
  private failed = false;
  /** Counters for metrics. */
  readonly stats = { steps: 0, syncs: 0, recordsPersisted: 0, applied: 0, proposals: 0, reads: 0, leaseReads: 0 };

  constructor(options: DriverOptions<C, O>) {
    this.options = options;
    this.batchProposals = options.batchProposals ?? true;
    this.proposeBatchCommandsMax = options.proposeBatchCommandsMax ?? DEFAULT_TIMING.batchCommandsMax;
    assert(Number.isSafeInteger(this.proposeBatchCommandsMax) && this.proposeBatchCommandsMax >= 1, 'proposeBatchCommandsMax must be a positive integer');
    this.lastSnapshotSlot = options.replica.status().compactedThrough;
    this.snapshotDue = this.drawSnapshotDue();
    this.enqueue(options.replica.start());
  }

  get status(): ReplicaStatus {
    return this.options.replica.status();
  }

  /** What the state machine reflects now: every slot up to this one. */
  get appliedThrough(): Slot {
    return this.appliedSlot;
  }

  get knownLeader(): NodeId | null {
    return this.leader;
  }

  step(input: Input<C>): void {
    if (this.failed) return;
    this.stats.steps += 1;
    let ready: Ready<C>;
    try {
      ready = this.options.replica.step(input);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.enqueue(ready);
  }

  tick(): void {
    this.step({ type: 'tick' });
    this.expire(this.options.now());
  }

  receive(message: Message<C>): void {
    this.step({ type: 'message', message });
  }

  /**
   * Orders `command` through the log; resolves with its output once applied
   * here. The command is stepped with the others proposed in this turn.
   */
  propose(command: C, timeoutMs: number): Promise<O> {
    const id = this.options.commandId(command);
    if (this.proposals.has(id)) assert(false, `command ${id} is already pending`);
    this.stats.proposals += 1;
    const promise = new Promise<O>((resolve, reject) => {
      this.proposals.set(id, { resolve, reject, deadline: this.options.now() + timeoutMs });
    });
    if (!this.batchProposals) {
      this.step({ type: 'propose', commands: [command] });
      return promise;
    }
    this.proposed.push(command);
    if (!this.proposeScheduled) {
      this.proposeScheduled = true;
      setImmediate(() => this.flushProposals());
    }
    return promise;
  }

  /**
   * The end of the turn in which commands were proposed. While a sync is in
   * flight the proposals wait for it instead (`drain` steps them when it
   * returns): their records could not be synced before it ends anyway, so
   * waiting costs no latency, and everything proposed meanwhile shares a slot.
   */
  private flushProposals(): void {
    this.proposeScheduled = false;
    if (this.writing) return;
    this.stepProposals();
  }

  /** Steps the commands proposed so far, a slot's worth per step, in proposal order. */
  private stepProposals(): void {
    if (this.proposed.length === 0) return;
    const commands = this.proposed;
    this.proposed = [];
    for (let start = 0; start < commands.length && !this.failed; start += this.proposeBatchCommandsMax) {
      const batch = start === 0 && commands.length <= this.proposeBatchCommandsMax ? commands : commands.slice(start, start + this.proposeBatchCommandsMax);
      this.step({ type: 'propose', commands: batch });
    }
  }

  /** Resolves once a linearizable read may be served from the state machine. */
  readBarrier(timeoutMs: number): Promise<void> {
    const id = this.nextReadId;
    this.nextReadId += 1;
    this.stats.reads += 1;
    const promise = new Promise<void>((resolve, reject) => {
      this.reads.set(id, { resolve, reject, deadline: this.options.now() + timeoutMs });
    });
    this.step({ type: 'read', id });
    return promise;
  }

  /**
   * Asks for a configuration change; resolves with its slot once the change is
   * decided and applied here, rejects with ReconfigureError if it is refused.
   */
  reconfigure(request: ReconfigureRequest, timeoutMs: number): Promise<Slot> {
    assert(!this.changes.has(request.id), () => `change ${request.id} is already pending`);
    const promise = new Promise<Slot>((resolve, reject) => {
      this.changes.set(request.id, { resolve, reject, deadline: this.options.now() + timeoutMs });
    });
    this.step({ type: 'reconfigure', request });
    return promise;
  }

  /** Fails every waiter whose deadline has passed. */
  expire(now: number): void {
    for (const [id, waiter] of this.proposals) {
      if (waiter.deadline > now) continue;
      this.proposals.delete(id);
      waiter.reject(new TimeoutError('request timed out'));
    }
    for (const [id, waiter] of this.reads) {
      if (waiter.deadline > now) continue;
      this.reads.delete(id);
      waiter.reject(new TimeoutError('request timed out'));
    }
    for (const [id, waiter] of this.changes) {
      if (waiter.deadline > now) continue;
      this.changes.delete(id);
      waiter.reject(new TimeoutError('request timed out'));
    }
  }

  /** Rejects every waiter (shutdown). */
  close(): void {
    this.failed = true;
    this.proposed = [];
    this.expire(Number.POSITIVE_INFINITY);
  }

  // ---------------------------------------------------------------- pipeline

  private enqueue(ready: Ready<C>): void {
    if (ready.persist.length === 0 && ready.afterDurable.length === 0) return;
    // With nothing queued or being written, every earlier record is durable: a
    // step whose effects wait only for earlier records (Ready.ownRecordsFirst)
    // releases them now, while its own records are written.
    const earlierDurable = this.queue.length === 0 && !this.writing;
    if (earlierDurable && decisionsOnly(ready)) {
      for (const record of ready.persist) this.deferred.push(record);
      this.release(ready.afterDurable);
      if (!this.writing && (this.queue.length > 0 || this.deferred.length >= DEFERRED_RECORDS_MAX)) void this.drain();
      return;
    }
    if (earlierDurable && (ready.persist.length === 0 || !ready.ownRecordsFirst)) {
      // Queued before the effects run, so records keep step order in the log
      // even if an effect leads to another step.
      if (ready.persist.length > 0) this.queue.push({ persist: ready.persist, afterDurable: [], ownRecordsFirst: false });
      this.release(ready.afterDurable);
    } else {
      this.queue.push(ready);
    }
    if (!this.writing && (this.queue.length > 0 || this.deferred.length >= DEFERRED_RECORDS_MAX)) void this.drain();
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (!this.failed) {
        // Proposals made while the last batch was being written (flushProposals).
        this.stepProposals();
        if ((this.queue.length === 0 && this.deferred.length < DEFERRED_RECORDS_MAX) || this.failed) break;
        const batch = this.queue.splice(0, this.queue.length);
        // The last write made every earlier record durable. Leading steps that
        // record nothing or only decisions are then as enqueue treats them:
        // their effects go now and their decisions ride on the next write. Were
        // their records synced here, a proposal arriving meanwhile would wait
        // for that sync.
        let first = 0;
        for (; first < batch.length && !this.failed; first += 1) {
          const ready = batch[first] as Ready<C>;
          if (ready.persist.length > 0 && !decisionsOnly(ready)) break;
          for (const record of ready.persist) this.deferred.push(record);
          this.release(ready.afterDurable);
        }
        if (this.failed) break;
        // The first other step needs only its own records, and only if it says so.
        const head = batch[first];
        if (head !== undefined && !head.ownRecordsFirst && head.afterDurable.length > 0) {
          batch[first] = { persist: head.persist, afterDurable: [], ownRecordsFirst: false };
          this.release(head.afterDurable);
          if (this.failed) break;
        }
        if (first === batch.length && this.deferred.length < DEFERRED_RECORDS_MAX) continue;
        const records = [...this.deferred.splice(0, this.deferred.length), ...batch.slice(first).flatMap((ready) => ready.persist)];
        if (records.length > 0) {
          await this.options.log.append(records);
          this.stats.syncs += 1;
          this.stats.recordsPersisted += records.length;
        }
        for (const ready of batch.slice(first)) this.release(ready.afterDurable);
      }
    } catch (error) {
      // A failed fsync leaves the disk state unknown: continuing could break a
      // promise. Stop the node (the PostgreSQL "fsyncgate" lesson).
      this.fail(error);
    } finally {
      this.writing = false;
    }
  }

  private release(effects: readonly Effect<C>[]): void {
    for (const effect of effects) {
      if (this.failed) return;
      this.carryOut(effect);
    }
    this.maybeSnapshot();
  }

  private carryOut(effect: Effect<C>): void {
    switch (effect.type) {
      case 'send':
        this.options.peers.send(effect.message);
        return;
      case 'apply':
        this.appliedSlot = effect.slot;
        if (effect.value.kind === 'noop') return;
        if (effect.value.kind === 'config') {
          const waiter = this.changes.get(effect.value.id);
          this.changes.delete(effect.value.id);
          waiter?.resolve(effect.slot);
          return;
        }
        for (const command of effect.value.commands) {
          const output = this.options.stateMachine.apply(command, effect.slot);
          this.stats.applied += 1;
          this.options.onApplied?.(effect.slot, command, output);
          const id = this.options.commandId(command);
          const waiter = this.proposals.get(id);
          if (waiter !== undefined) {
            this.proposals.delete(id);
            waiter.resolve(output);
          }
        }
        return;
      case 'restore':
        this.options.stateMachine.restore(effect.data);
        this.appliedSlot = effect.throughSlot;
        this.snapshotTaken(effect.throughSlot);
        this.options.onRestored?.(effect.throughSlot);
        return;
      case 'read-ready':
        if (effect.leased) this.stats.leaseReads += 1;
        this.takeRead(effect.id)?.resolve();
        return;
      case 'read-rejected':
        this.takeRead(effect.id)?.reject(new NotLeaderError(effect.leader, 'not the leader'));
        return;
      case 'proposals-dropped':
        for (const command of effect.commands) {
          const id = this.options.commandId(command);
          const waiter = this.proposals.get(id);
          if (waiter === undefined) continue;
          this.proposals.delete(id);
          waiter.reject(new NotLeaderError(effect.leader, effect.reason));
        }
        return;
      case 'role':
        this.leader = effect.leader;
        this.options.onRole?.(effect.role, effect.leader);
        return;
      case 'membership':
        this.options.onMembership?.(effect.latest, effect.standing);
        return;
      case 'reconfigure-rejected': {
        const waiter = this.changes.get(effect.id);
        this.changes.delete(effect.id);
        waiter?.reject(new ReconfigureError(effect.reason, effect.leader));
        return;
      }
      default: {
        const never: never = effect;
        assert(false, () => `unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  private takeRead(id: number): Waiter<void> | undefined {
    const waiter = this.reads.get(id);
    this.reads.delete(id);
    return waiter;
  }

  /**
   * Snapshots the state machine as it is now, labelled with the slot it really
   * reflects (never the replica's count of emitted applies, which may be ahead).
   */
  private maybeSnapshot(): void {
    if (this.snapshotting || this.appliedSlot <= this.lastSnapshotSlot) return;
    const slots = this.appliedSlot - this.lastSnapshotSlot;
    const commands = this.stats.applied - this.appliedCommandsAtSnapshot;
    if (slots < this.snapshotDue && commands < this.snapshotDue) return;
    this.snapshotTaken(this.appliedSlot);
    const throughSlot = this.appliedSlot;
    const machine = this.options.stateMachine;
    if (machine.snapshotInSlices === undefined) {
      this.step({ type: 'compact', throughSlot, data: machine.snapshot() });
      return;
    }
    // Encoded between other work; the compaction is labelled with the slot the
    // state was captured at, which later applies do not change.
    this.snapshotting = true;
    machine.snapshotInSlices(() => new Promise((resolve) => setImmediate(resolve))).then(
      (data) => {
        this.snapshotting = false;
        if (!this.failed) this.step({ type: 'compact', throughSlot, data });
      },
      (error: unknown) => {
        this.snapshotting = false;
        this.fail(error);
      },
    );
  }

  /** Counts the slots and commands to the next snapshot from one taken (or restored) at `slot`. */
  private snapshotTaken(slot: Slot): void {
    this.lastSnapshotSlot = slot;
    this.appliedCommandsAtSnapshot = this.stats.applied;
    this.snapshotDue = this.drawSnapshotDue();
  }

  private drawSnapshotDue(): number {
    const every = this.options.snapshotEverySlots;
    const earlier = this.options.snapshotEarlier?.() ?? 0;
    assert(Number.isSafeInteger(earlier) && earlier >= 0 && earlier < every, () => `snapshotEarlier gave ${earlier}, not in [0, ${every})`);
    return every - earlier;
  }

  private fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.proposed = [];
    this.expire(Number.POSITIVE_INFINITY);
    this.options.onFatal(error);
  }
}
