/**
 * A whole cluster of real Multi-Paxos replicas in one process, with every
 * message, disk sync and crash under the caller's control. Nothing here
 * chooses anything: the simulator (random, seeded), the tests (scripted) and
 * the lab (a person clicking) decide what happens next. Pure: no clock, no I/O.
 *
 * Durability is modelled per node: each step's records are written to the
 * node's disk but are not durable until `sync(node)`; the step's effects
 * (messages, applies, replies) are held back until then, as the Ready contract
 * demands. A crash loses the unsynced records, or keeps a prefix of them (a
 * write that reached the platter before power went), never a later record
 * without the earlier ones.
 */
import { assert } from '../core/assert.js';
import { NO_SLOT, type NodeId, type Slot } from '../core/ids.js';
import { replayRecords, type DurableState } from '../core/multipaxos/durable.js';
import { Replica } from '../core/multipaxos/replica.js';
import {
  DEFAULT_TIMING,
  type DurableRecord,
  type Effect,
  type Input,
  type Message,
  type Ready,
  type ReplicaConfig,
} from '../core/multipaxos/types.js';
import type { StateMachine } from '../smr/state-machine.js';

export interface InFlight<C> {
  readonly id: number;
  readonly message: Message<C>;
}

export type ReplicaFactory<C> = (config: ReplicaConfig, durable: DurableState<C>) => Replica<C>;

export interface ClusterOptions<C, O> {
  /** The voters of the new cluster: each records them as the bootstrap configuration. */
  readonly members: readonly NodeId[];
  /**
   * Nodes that exist from the start but are in no configuration: each runs a
   * joining replica (ReplicaConfig.members empty) until a configuration change
   * adds it. More can join later with `addNode`.
   */
  readonly joining?: readonly NodeId[];
  readonly seed: number;
  readonly timing?: Partial<Pick<ReplicaConfig, keyof typeof DEFAULT_TIMING>>;
  readonly stateMachine: () => StateMachine<C, O>;
  /** Builds replicas; the simulator's planted bugs substitute a broken subclass here. */
  readonly replicaFactory?: ReplicaFactory<C>;
  /** Sync every step's records at once (tests, lab); the simulator turns this off. */
  readonly autoSync?: boolean;
  /** Read leases of `ms` on each node's own clock (ReplicaConfig.readLease); none when absent. */
  readonly readLease?: { readonly ms: number; readonly clockOf: (node: NodeId) => () => number };
}

/** What the cluster tells its observer; the simulator checks invariants on these. */
export type ClusterEvent<C, O> =
  | { readonly type: 'applied'; readonly node: NodeId; readonly slot: Slot; readonly command: C | null; readonly output: O | null }
  | { readonly type: 'restored'; readonly node: NodeId; readonly throughSlot: Slot }
  | { readonly type: 'effect'; readonly node: NodeId; readonly effect: Effect<C> }
  /** A message left `node` and is in flight as `id` (deliver, drop or duplicate it by that id). */
  | { readonly type: 'sent'; readonly node: NodeId; readonly id: number; readonly message: Message<C> }
  | { readonly type: 'persisted'; readonly node: NodeId; readonly record: DurableRecord<C> }
  | { readonly type: 'crashed'; readonly node: NodeId; readonly recordsLost: number }
  | { readonly type: 'restarted'; readonly node: NodeId };

export interface NodeView<C, O> {
  readonly id: NodeId;
  readonly up: boolean;
  readonly replica: Replica<C>;
  readonly stateMachine: StateMachine<C, O>;
  readonly durableRecords: readonly DurableRecord<C>[];
  readonly unsyncedRecords: number;
  /** Inputs this incarnation's replica has taken (its start counts as one): unchanged means its state is too. */
  readonly steps: number;
}

interface NodeState<C, O> {
  readonly id: NodeId;
  /** Its index among every node the harness ever ran (seeds its election jitter). */
  readonly index: number;
  /** True for a node that joined a running cluster: its replica starts with no members. */
  readonly joining: boolean;
  up: boolean;
  replica: Replica<C>;
  stateMachine: StateMachine<C, O>;
  /**
   * The last slot the state machine has seen. It trails the replica's own
   * appliedThrough while apply effects wait for a sync, and a snapshot must be
   * labelled with the slot its data is really at.
   */
  stateMachineSlot: Slot;
  incarnation: number;
  steps: number;
  /** Records that survive a crash, in order. */
  durable: DurableRecord<C>[];
  /** Steps whose records are written but not yet synced, with their held effects. */
  unsynced: PendingStep<C>[];
}

/** A step whose records are written but not all durable yet, and whether its effects went out. */
interface PendingStep<C> {
  readonly persist: readonly DurableRecord<C>[];
  readonly afterDurable: readonly Effect<C>[];
  readonly ownRecordsFirst: boolean;
  released: boolean;
}

export class Cluster<C, O> {
  /** The bootstrap voters. */
  readonly members: readonly NodeId[];
  /** Every node the harness runs: the bootstrap members, then joining nodes in the order they came. */
  private readonly ids: NodeId[] = [];
  private readonly options: ClusterOptions<C, O>;
  private readonly nodes = new Map<NodeId, NodeState<C, O>>();
  private readonly flight = new Map<number, InFlight<C>>();
  private nextMessageId = 1;
  private readonly observers: ((event: ClusterEvent<C, O>) => void)[] = [];

  constructor(options: ClusterOptions<C, O>) {
    this.options = options;
    this.members = [...options.members];
    for (const id of this.members) this.createNode(id, false);
    for (const id of options.joining ?? []) this.createNode(id, true);
  }

  /** Lamport's alpha for every replica here: a change decided at slot s governs slots from s + alpha on. */
  get configWindowSlots(): number {
    return this.options.timing?.configWindowSlots ?? DEFAULT_TIMING.configWindowSlots;
  }

  /** Every node the harness runs, bootstrap members first; it grows with `addNode`. */
  get nodeIds(): readonly NodeId[] {
    return this.ids;
  }

  /**
   * Starts a brand-new node with an empty disk that joins the running cluster:
   * it knows no configuration until the log (or a snapshot) tells it one. It
   * takes part once a configuration change names it.
   */
  addNode(id: NodeId): void {
    assert(!this.nodes.has(id), () => `node ${id} already exists`);
    this.createNode(id, true);
  }

  observe(observer: (event: ClusterEvent<C, O>) => void): void {
    this.observers.push(observer);
  }

  node(id: NodeId): NodeView<C, O> {
    const node = this.get(id);
    return {
      id,
      up: node.up,
      replica: node.replica,
      stateMachine: node.stateMachine,
      durableRecords: node.durable,
      unsyncedRecords: node.unsynced.reduce((n, ready) => n + ready.persist.length, 0),
      steps: node.steps,
    };
  }

  /** Messages sent and not yet delivered or dropped, oldest first. */
  inFlight(): InFlight<C>[] {
    return [...this.flight.values()];
  }

  message(id: number): InFlight<C> | undefined {
    return this.flight.get(id);
  }

  // ---------------------------------------------------------------- inputs

  /** Delivers a message in flight; a message to a crashed node is lost. */
  deliver(id: number): void {
    const entry = this.flight.get(id);
    assert(entry !== undefined, () => `no message ${id} in flight`);
    this.flight.delete(id);
    const target = this.get(entry.message.to);
    if (!target.up) return;
    this.stepNode(target, { type: 'message', message: entry.message });
  }

  drop(id: number): void {
    assert(this.flight.delete(id), () => `no message ${id} in flight`);
  }

  /** Puts a second copy of a message in flight; returns the copy's id. */
  duplicate(id: number): number {
    const entry = this.flight.get(id);
    assert(entry !== undefined, () => `no message ${id} in flight`);
    return this.enqueue(entry.message);
  }

  tick(id: NodeId): void {
    const node = this.get(id);
    if (node.up) this.stepNode(node, { type: 'tick' });
  }

  tickAll(): void {
    for (const id of this.ids) this.tick(id);
  }

  input(id: NodeId, input: Input<C>): void {
    const node = this.get(id);
    assert(node.up, () => `${id} is down`);
    this.stepNode(node, input);
  }

  propose(id: NodeId, commands: readonly C[]): void {
    this.input(id, { type: 'propose', commands });
  }

  /** Snapshots the node's state machine and compacts its log through what it applied. */
  compact(id: NodeId): void {
    const node = this.get(id);
    assert(node.up, () => `${id} is down`);
    // The state machine's slot, not the replica's appliedThrough: with syncs
    // pending the two differ, and the snapshot's data is the state machine's.
    const throughSlot = node.stateMachineSlot;
    if (throughSlot <= node.replica.status().compactedThrough) return;
    this.stepNode(node, { type: 'compact', throughSlot, data: node.stateMachine.snapshot() });
  }

  /**
   * Makes the node's written records durable, the first `recordsMax` of them (an
   * fsync covers what was written before it was issued, not what came after),
   * and releases the effects of every step whose records are now all durable.
   */
  sync(id: NodeId, recordsMax = Number.POSITIVE_INFINITY): void {
    const node = this.get(id);
    if (!node.up) return;
    let budget = recordsMax;
    const released: PendingStep<C>[] = [];
    while (node.unsynced.length > 0) {
      const step = node.unsynced[0] as PendingStep<C>;
      const durableNow = step.persist.slice(0, Math.min(step.persist.length, budget));
      for (const record of durableNow) {
        node.durable.push(record);
        this.emit({ type: 'persisted', node: node.id, record });
      }
      budget -= durableNow.length;
      if (durableNow.length < step.persist.length) {
        // Part of this step is durable; its effects still wait for the rest.
        node.unsynced[0] = { ...step, persist: step.persist.slice(durableNow.length) };
        break;
      }
      node.unsynced.shift();
      if (!step.released) released.push(step);
    }
    // Every step before the first unsynced one is durable now: if that step's
    // effects need only earlier records (Ready.ownRecordsFirst), they may go.
    const head = node.unsynced[0];
    if (head !== undefined && !head.ownRecordsFirst && !head.released) {
      head.released = true;
      released.push(head);
    }
    for (const step of released) for (const effect of step.afterDurable) this.release(node, effect);
  }

  /**
   * Crashes a node: its memory, held effects and unsynced records are gone,
   * except the first `keepUnsynced` unsynced records (a partial write).
   */
  crash(id: NodeId, keepUnsynced = 0): void {
    const node = this.get(id);
    if (!node.up) return;
    const written = node.unsynced.flatMap((step) => step.persist);
    const kept = written.slice(0, Math.max(0, keepUnsynced));
    for (const record of kept) node.durable.push(record);
    node.unsynced = [];
    node.up = false;
    this.emit({ type: 'crashed', node: id, recordsLost: written.length - kept.length });
  }

  /** Restarts a crashed node from its durable records, as a real process would. */
  restart(id: NodeId): void {
    const node = this.get(id);
    if (node.up) return;
    node.up = true;
    node.incarnation += 1;
    node.stateMachine = this.options.stateMachine();
    node.stateMachineSlot = NO_SLOT;
    node.replica = this.buildReplica(node);
    node.steps = 1;
    this.emit({ type: 'restarted', node: id });
    this.absorb(node, node.replica.start());
  }

  /** Wipes a node's disk (it must be down): it will rejoin by state transfer. */
  wipe(id: NodeId): void {
    const node = this.get(id);
    assert(!node.up, () => `${id} must be down to wipe its disk`);
    node.durable = [];
  }

  // ---------------------------------------------------------------- plumbing

  private createNode(id: NodeId, joining: boolean): void {
    assert(!this.nodes.has(id), () => `node ${id} is listed twice`);
    const node: NodeState<C, O> = {
      id,
      index: this.ids.length,
      joining,
      up: true,
      replica: undefined as unknown as Replica<C>,
      stateMachine: this.options.stateMachine(),
      stateMachineSlot: NO_SLOT,
      incarnation: 0,
      steps: 0,
      durable: [],
      unsynced: [],
    };
    this.nodes.set(id, node);
    this.ids.push(id);
    node.replica = this.buildReplica(node);
  }

  private buildReplica(node: NodeState<C, O>): Replica<C> {
    const config: ReplicaConfig = {
      ...DEFAULT_TIMING,
      ...this.options.timing,
      self: node.id,
      // A joining node names no members: it must not bootstrap a cluster of its own.
      members: node.joining ? [] : this.members,
      // Each incarnation draws different election jitter, deterministically.
      seed: (this.options.seed * 1_000_003 + node.index * 7919 + node.incarnation * 104_729) >>> 0,
      ...(this.options.readLease === undefined ? {} : { readLease: { ms: this.options.readLease.ms, clock: this.options.readLease.clockOf(node.id) } }),
    };
    const durable = replayRecords(node.durable);
    return this.options.replicaFactory?.(config, durable) ?? new Replica<C>(config, durable);
  }

  private stepNode(node: NodeState<C, O>, input: Input<C>): void {
    node.steps += 1;
    this.absorb(node, node.replica.step(input));
  }

  private absorb(node: NodeState<C, O>, ready: Ready<C>): void {
    const releaseNow = node.unsynced.length === 0 && (ready.persist.length === 0 || !ready.ownRecordsFirst);
    if (releaseNow) {
      // Everything earlier is durable, and these effects announce no record of
      // this step: they go now, while the step's records are still being written.
      for (const effect of ready.afterDurable) this.release(node, effect);
      if (ready.persist.length === 0) return;
    }
    node.unsynced.push({ persist: ready.persist, afterDurable: ready.afterDurable, ownRecordsFirst: ready.ownRecordsFirst, released: releaseNow });
    if (this.options.autoSync ?? true) this.sync(node.id);
  }

  private release(node: NodeState<C, O>, effect: Effect<C>): void {
    switch (effect.type) {
      case 'send': {
        const id = this.enqueue(effect.message);
        this.emit({ type: 'sent', node: node.id, id, message: effect.message });
        break;
      }
      case 'apply':
        if (effect.value.kind !== 'batch') {
          this.emit({ type: 'applied', node: node.id, slot: effect.slot, command: null, output: null });
        } else {
          for (const command of effect.value.commands) {
            const output = node.stateMachine.apply(command, effect.slot);
            this.emit({ type: 'applied', node: node.id, slot: effect.slot, command, output });
          }
        }
        node.stateMachineSlot = effect.slot;
        break;
      case 'restore':
        node.stateMachine.restore(effect.data);
        node.stateMachineSlot = effect.throughSlot;
        this.emit({ type: 'restored', node: node.id, throughSlot: effect.throughSlot });
        break;
      default:
        break;
    }
    this.emit({ type: 'effect', node: node.id, effect });
  }

  private enqueue(message: Message<C>): number {
    const id = this.nextMessageId;
    this.nextMessageId += 1;
    this.flight.set(id, { id, message });
    return id;
  }

  private emit(event: ClusterEvent<C, O>): void {
    for (const observer of this.observers) observer(event);
  }

  private get(id: NodeId): NodeState<C, O> {
    const node = this.nodes.get(id);
    assert(node !== undefined, () => `no node ${id}`);
    return node;
  }
}
