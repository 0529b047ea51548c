/**
 * Safety invariants, checked on every cluster event and after every simulated
 * step (TigerBeetle style), so a violation is caught at the step that causes it
 * rather than inferred from a wrong final state:
 *
 * - agreement: no two replicas decide or apply different values for one slot
 *   (compared as a canonical serialization);
 * - validity: every applied command is one a client proposed, unchanged;
 * - applied prefix: within one incarnation a replica applies slots 1, 2, 3, ...
 *   with no gap and no repeat, and a restore only moves it forward;
 * - state digest: every replica's state machine has the same digest after a given
 *   slot (and after restoring a snapshot of that slot);
 * - promises kept: a replica never sends a promise or accepted message with a
 *   ballot below one it sent before, across restarts (tracked here, outside the
 *   replica, because a replica that forgot its promise cannot tell);
 * - exactly-once: a session command executes in the state machine at one slot
 *   only, and once within that slot (the session table absorbs retries);
 * - each live replica's own checkInvariants().
 *
 * The first breach is kept and later ones ignored: the simulator stops the run
 * after the step in which it happened.
 */
import { InvariantError } from '../core/assert.js';
import { compareBallots, formatBallot, type Ballot } from '../core/ballot.js';
import { NO_SLOT, type NodeId, type Slot } from '../core/ids.js';
import type { DurableRecord, SlotValue } from '../core/multipaxos/types.js';
import type { Command, SimCluster, SimClusterEvent } from './events.js';
import type { KvRegister } from './kv-register.js';

export type InvariantName =
  | 'agreement'
  | 'validity'
  | 'applied-prefix'
  | 'state-digest'
  | 'promise-kept'
  | 'exactly-once'
  | 'replica-invariant'
  | 'linearizability'
  | 'liveness'
  /** The simulator or the replica threw something other than an InvariantError. */
  | 'crash';

export interface Breach {
  readonly invariant: InvariantName;
  readonly message: string;
}

export class InvariantChecker {
  breach: Breach | null = null;
  /** The canonical value first decided or applied at each slot. */
  private readonly chosen = new Map<Slot, { readonly value: string; readonly node: NodeId }>();
  /** "client#seq" -> the operation proposed under it, serialized. */
  private readonly proposed = new Map<string, string>();
  /** Last slot each replica applied in its current incarnation. */
  private readonly lastApplied = new Map<NodeId, Slot>();
  private readonly slotDigests = new Map<Slot, number>();
  /** Highest ballot each replica sent in a promise or accepted message, ever. */
  private readonly highestPledge = new Map<NodeId, Ballot>();
  /** "client#seq" -> the slot at which the command executed. */
  private readonly executedAt = new Map<string, Slot>();
  /** Per replica, the commands executed within the slot being applied. */
  private readonly executingSlot = new Map<NodeId, { slot: Slot; keys: Set<string> }>();
  private readonly applyCounts = new WeakMap<KvRegister, number>();
  /** Per replica object, its step count when its invariants last held. */
  private readonly checkedAtStep = new WeakMap<object, number>();

  constructor(private readonly registerOf: (node: NodeId) => KvRegister) {}

  report(invariant: InvariantName, message: string): void {
    this.breach ??= { invariant, message };
  }

  /** Records a client's write before it reaches any replica. */
  noteProposed(command: Command): void {
    this.proposed.set(commandKey(command), JSON.stringify(command.op));
  }

  observe(event: SimClusterEvent): void {
    switch (event.type) {
      case 'applied':
        if (event.command !== null) this.onCommandApplied(event.node, event.slot, event.command);
        return;
      case 'effect':
        if (event.effect.type === 'apply') this.onSlotApplied(event.node, event.effect.slot, event.effect.value);
        return;
      case 'restored':
        return this.onRestored(event.node, event.throughSlot);
      case 'persisted':
        return this.onPersisted(event.node, event.record);
      case 'sent':
        if (event.message.type === 'promise' || event.message.type === 'accepted') this.onPledge(event.node, event.message.type, event.message.ballot);
        return;
      case 'restarted':
        this.lastApplied.set(event.node, NO_SLOT);
        this.executingSlot.delete(event.node);
        return;
      case 'crashed':
        return;
      default: {
        const never: never = event;
        this.report('crash', `unknown cluster event ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * Runs every live replica's own invariants; an InvariantError is a breach, not
   * a crash. A replica that took no input since its last check is skipped: its
   * state has not changed (and a run has many nodes and many steps).
   */
  afterStep(cluster: SimCluster): void {
    for (const id of cluster.nodeIds) {
      const node = cluster.node(id);
      if (!node.up || this.checkedAtStep.get(node.replica) === node.steps) continue;
      try {
        node.replica.checkInvariants();
        this.checkedAtStep.set(node.replica, node.steps);
      } catch (error) {
        if (!(error instanceof InvariantError)) throw error;
        this.report('replica-invariant', `${id}: ${error.message}`);
      }
    }
  }

  /** True if `command` executed in the state machine at some slot (for acknowledged writes). */
  executed(command: Command): boolean {
    return this.executedAt.has(commandKey(command));
  }

  private onCommandApplied(node: NodeId, slot: Slot, command: Command): void {
    const key = commandKey(command);
    const proposed = this.proposed.get(key);
    if (proposed === undefined) return this.report('validity', `${node} applied ${key} at slot ${slot}, which no client proposed`);
    if (proposed !== JSON.stringify(command.op)) {
      return this.report('validity', `${node} applied ${key} at slot ${slot} as ${JSON.stringify(command.op)}, but the client proposed ${proposed}`);
    }
    // The session table must hand each (client, seq) to the register once; a
    // retry decided again must come back from the table's cache.
    const register = this.registerOf(node);
    const before = this.applyCounts.get(register) ?? 0;
    this.applyCounts.set(register, register.applyCount);
    if (register.applyCount === before) return;
    let within = this.executingSlot.get(node);
    if (within === undefined || within.slot !== slot) {
      within = { slot, keys: new Set() };
      this.executingSlot.set(node, within);
    }
    if (within.keys.has(key)) return this.report('exactly-once', `${node} executed ${key} twice within slot ${slot}`);
    within.keys.add(key);
    const first = this.executedAt.get(key);
    if (first === undefined) this.executedAt.set(key, slot);
    else if (first !== slot) this.report('exactly-once', `${key} executed at slot ${first} and again at slot ${slot} (at ${node})`);
  }

  private onSlotApplied(node: NodeId, slot: Slot, value: SlotValue<Command>): void {
    this.agree(node, slot, value, 'applied');
    const last = this.lastApplied.get(node) ?? NO_SLOT;
    if (slot !== last + 1) {
      return this.report('applied-prefix', `${node} applied slot ${slot} right after slot ${last} in this incarnation`);
    }
    this.lastApplied.set(node, slot);
    this.compareDigest(node, slot, 'after applying');
  }

  private onRestored(node: NodeId, throughSlot: Slot): void {
    const last = this.lastApplied.get(node) ?? NO_SLOT;
    if (throughSlot <= last) {
      return this.report('applied-prefix', `${node} restored a snapshot through slot ${throughSlot} after applying through ${last}: applied slots rewritten`);
    }
    this.lastApplied.set(node, throughSlot);
    this.compareDigest(node, throughSlot, 'after restoring a snapshot through');
  }

  private onPersisted(node: NodeId, record: DurableRecord<Command>): void {
    if (record.kind === 'decide') this.agree(node, record.slot, record.value, 'decided');
  }

  private onPledge(node: NodeId, type: 'promise' | 'accepted', ballot: Ballot): void {
    const highest = this.highestPledge.get(node);
    if (highest !== undefined && compareBallots(ballot, highest) < 0) {
      return this.report('promise-kept', `${node} sent ${type} for ballot ${formatBallot(ballot)} after pledging ballot ${formatBallot(highest)}`);
    }
    this.highestPledge.set(node, ballot);
  }

  private agree(node: NodeId, slot: Slot, value: SlotValue<Command>, how: string): void {
    const canonical = JSON.stringify(value);
    const first = this.chosen.get(slot);
    if (first === undefined) this.chosen.set(slot, { value: canonical, node });
    else if (first.value !== canonical) {
      this.report('agreement', `slot ${slot}: ${node} ${how} ${canonical}, but ${first.node} had ${first.value}`);
    }
  }

  private compareDigest(node: NodeId, slot: Slot, how: string): void {
    const digest = this.registerOf(node).digest();
    const expected = this.slotDigests.get(slot);
    if (expected === undefined) this.slotDigests.set(slot, digest);
    else if (expected !== digest) {
      this.report('state-digest', `${node}'s state digest ${how} slot ${slot} is ${digest.toString(16)}, another replica had ${expected.toString(16)}`);
    }
  }
}

function commandKey(command: Command): string {
  return `${command.client}#${command.seq}`;
}
