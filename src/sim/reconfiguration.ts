/**
 * Configuration changes in the safety phase, issued the way an operator would:
 * a `reconfigure` request to some live member, based on the newest configuration
 * that member knows, retried on rejection, with a bound on the tries.
 *
 * The changes (each one decided config value, Lamport's alpha window):
 * - grow: 3 voters -> 3 voters and 2 learners, then promote both (5 voters);
 * - shrink: 4 or 5 voters -> 3, sometimes removing the leader (a hand-over);
 * - replace: a voter that is down gives way to a brand-new node, either at once
 *   or as a learner first and then in its place;
 * - promote: a learner becomes a voter.
 * Every configuration keeps three to five voters, so a majority survives the
 * one-at-a-time crashes the nemesis deals. New members are spare nodes that run
 * from the start as joining replicas, or nodes started when a change needs one
 * (ids never used before in the run).
 *
 * The newest configuration is the simulator's own record of the decided log
 * (`DecidedConfigs`), not any replica's belief: clients, the nemesis and the
 * liveness check use it to tell current members from removed or never-added
 * nodes.
 *
 * Now and then the change goes straight to the leader and the network is cut
 * at once so that the leader and a majority of the new voters are on one side
 * and a majority of the old voters on the other. A replica that counted the
 * new configuration's quorums before the change governs a slot would then
 * decide slots the other side decides differently.
 */
import { assert, assertNever } from '../core/assert.js';
import { nodeId, type NodeId, type Slot } from '../core/ids.js';
import { bootstrapMembership, membershipProblem, votersOf } from '../core/multipaxos/membership.js';
import type { ConfigEntry, Member, Membership, ReconfigureRejection } from '../core/multipaxos/types.js';
import type { Random } from '../core/random.js';
import type { ActivityKind, ChangeKind, Counts, ReconfigurationCount, Scheduler, SimCluster, SimClusterEvent } from './events.js';

/** Fewest voters a change may leave: a majority survives one crashed voter. */
const VOTERS_MIN = 3;
const VOTERS_MAX = 5;
/** Tries of one change (fresh request ids) before it is given up. */
const TRIES_MAX = 8;
/** How long a try may go unanswered (neither rejected nor applied) before the next. */
const TRY_TIMEOUT_MS = 400;
const RETRY_DELAY_MAX_MS = 500;
/** Most nodes a run ever has, spares and replacements included. */
export const NODES_MAX = 12;
/** Spare nodes that exist from the start as joining replicas. */
export const SPARE_NODES = 2;

/** The configurations of the decided log, as the simulator sees slots applied. */
export class DecidedConfigs {
  private readonly entries: ConfigEntry[];
  private readonly everMember = new Set<NodeId>();

  constructor(
    bootstrap: readonly NodeId[],
    private readonly windowSlots: number,
  ) {
    this.entries = [{ activeFrom: 1 as Slot, membership: bootstrapMembership(bootstrap) }];
    for (const id of bootstrap) this.everMember.add(id);
  }

  /** Records a config value applied at `slot` (the first report of each slot counts; agreement checks the rest). */
  noteApplied(slot: Slot, membership: Membership): boolean {
    const activeFrom = (slot + this.windowSlots) as Slot;
    if (this.entries.some((e) => e.activeFrom === activeFrom)) return false;
    this.entries.push({ activeFrom, membership });
    this.entries.sort((a, b) => a.activeFrom - b.activeFrom);
    for (const member of membership.members) this.everMember.add(member.id);
    return true;
  }

  latest(): ConfigEntry {
    return this.entries[this.entries.length - 1] as ConfigEntry;
  }

  /** Voters and learners of the newest configuration. */
  currentMembers(): NodeId[] {
    return this.latest().membership.members.map((m) => m.id);
  }

  currentVoters(): NodeId[] {
    return votersOf(this.latest().membership);
  }

  wasEverMember(id: NodeId): boolean {
    return this.everMember.has(id);
  }
}

/** A change as an edit of whatever configuration is newest when it is sent. */
interface Edit {
  readonly add: readonly Member[];
  readonly remove: readonly NodeId[];
  readonly promote: readonly NodeId[];
}

/** What to change, and what to change next once it is applied (a learner's promotion). */
interface Plan {
  readonly kind: ChangeKind;
  readonly edit: Edit;
  readonly then: Plan | null;
}

/** A plan being tried. */
interface Change {
  readonly plan: Plan;
  /** Every request id sent for this change: any of them applied means done. */
  readonly ids: Set<string>;
  tries: number;
  /** The id of the try in flight, or null while waiting to try again. */
  trying: string | null;
  /** The leader the last refusal named, tried next. */
  hint: NodeId | null;
}

export interface ReconfigurationHost {
  readonly cluster: SimCluster;
  readonly scheduler: Scheduler;
  readonly activity: Counts<ActivityKind>;
  readonly counts: Counts<ReconfigurationCount>;
  readonly configs: DecidedConfigs;
  /** Up and not paused: it can take a request now. */
  isRunning(node: NodeId): boolean;
  /** The live replica that believes it leads with the highest ballot, if any. */
  leader(): NodeId | null;
  /** Starts a brand-new node joining the cluster, or returns null when the run has all it may have. */
  addNode(): NodeId | null;
  /** Spare nodes never named by any configuration, oldest first. */
  spares(): NodeId[];
  /** Cuts `side` off from every other node for a while (counted as a partition); false if no partition may start now. */
  cut(side: readonly NodeId[]): boolean;
  trace(text: string): void;
}

export class Reconfigurer {
  private change: Change | null = null;
  private nextChange = 1;
  private active = true;

  constructor(
    private readonly host: ReconfigurationHost,
    private readonly random: Random,
  ) {}

  start(): void {
    this.host.scheduler.after(this.random.intBetween(100, 600), { kind: 'reconfigure' });
  }

  /** The liveness phase issues no changes: the cluster must converge on what it has. */
  stop(): void {
    this.active = false;
  }

  /** Time to try a change: the one under way if it waits for a retry, else a new one. */
  wake(): void {
    if (!this.active) return;
    if (this.change === null) {
      const plan = this.plan();
      if (plan === null) {
        this.host.scheduler.after(this.random.intBetween(100, 400), { kind: 'reconfigure' });
        return;
      }
      this.change = startChange(plan);
    }
    if (this.change.trying === null) this.submit(this.change);
  }

  /** A try that got no answer in time: try again (a lost message, a leader that crashed with it). */
  timeout(id: string): void {
    const change = this.change;
    if (!this.active || change === null || change.trying !== id) return;
    this.host.trace(`reconfiguration ${id} got no answer`);
    this.retry(change, this.random.intBetween(10, 60));
  }

  observe(event: SimClusterEvent): void {
    if (event.type !== 'effect') return;
    const effect = event.effect;
    if (effect.type === 'apply' && effect.value.kind === 'config') {
      const change = this.change;
      if (change === null || !change.ids.has(effect.value.id)) return;
      this.host.activity.reconfiguration += 1;
      this.host.counts[change.plan.kind] += 1;
      this.host.trace(`reconfiguration ${effect.value.id} (${change.plan.kind}) applied at slot ${effect.slot}`);
      this.change = change.plan.then === null ? null : startChange(change.plan.then);
      if (this.active) this.host.scheduler.after(this.change !== null ? this.random.intBetween(5, 80) : this.random.intBetween(100, 600), { kind: 'reconfigure' });
      return;
    }
    if (effect.type === 'reconfigure-rejected') {
      const change = this.change;
      if (change === null || change.trying !== effect.id) return;
      this.host.counts.rejected += 1;
      this.host.trace(`reconfiguration ${effect.id} rejected at ${event.node}: ${effect.reason}`);
      change.hint = effect.leader;
      this.retry(change, this.retryDelayMs(effect.reason));
    }
  }

  // ---------------------------------------------------------------- planning

  /** A random change that the newest configuration allows, or null. */
  private plan(): Plan | null {
    const latest = this.host.configs.latest().membership;
    const voters = votersOf(latest);
    const learners = latest.members.filter((m) => !m.voter).map((m) => m.id);
    const down = voters.filter((id) => !this.host.cluster.node(id).up);
    const menu: ChangeKind[] = [];
    if (learners.length > 0 && voters.length < VOTERS_MAX) menu.push('promote');
    if (voters.length + 2 <= VOTERS_MAX && learners.length <= 1) menu.push('grow', 'grow');
    if (voters.length > VOTERS_MIN) menu.push('shrink', 'shrink');
    if (down.length > 0) menu.push('replace', 'replace-as-learner');
    if (menu.length === 0) return null;
    const kind = this.random.pick(menu);
    switch (kind) {
      case 'promote':
        return { kind, edit: { add: [], remove: [], promote: [this.random.pick(learners)] }, then: null };
      case 'grow': {
        const fresh = this.freshNodes(2);
        if (fresh.length < 2) return null;
        const promote: Plan = { kind: 'promote', edit: { add: [], remove: [], promote: fresh }, then: null };
        return { kind, edit: { add: fresh.map(learner), remove: [], promote: [] }, then: promote };
      }
      case 'shrink': {
        // The leader goes half of the time: it must hand over to a voter that stays.
        const leader = this.host.leader();
        const order = this.random.shuffled(voters);
        if (leader !== null && voters.includes(leader) && this.random.chance(0.5)) order.unshift(...order.splice(order.indexOf(leader), 1));
        return { kind, edit: { add: [], remove: order.slice(0, voters.length - VOTERS_MIN), promote: [] }, then: null };
      }
      case 'replace': {
        const fresh = this.freshNodes(1);
        if (fresh.length === 0) return null;
        return { kind, edit: { add: fresh.map(voter), remove: [this.random.pick(down)], promote: [] }, then: null };
      }
      case 'replace-as-learner': {
        const fresh = this.freshNodes(1);
        if (fresh.length === 0) return null;
        const swap: Plan = { kind: 'swap-in', edit: { add: [], remove: [this.random.pick(down)], promote: fresh }, then: null };
        return { kind, edit: { add: fresh.map(learner), remove: [], promote: [] }, then: swap };
      }
      case 'swap-in':
        return null; // only ever the second half of replace-as-learner
      default:
        return assertNever(kind, 'change kind');
    }
  }

  /** Nodes no configuration ever named: spares first, then brand-new ones. */
  private freshNodes(count: number): NodeId[] {
    const fresh = this.host.spares().slice(0, count);
    while (fresh.length < count) {
      const added = this.host.addNode();
      if (added === null) break;
      fresh.push(added);
    }
    return fresh;
  }

  // ---------------------------------------------------------------- trying

  private submit(change: Change): void {
    const latest = this.host.configs.latest().membership;
    const membership = applyEdit(latest, change.plan.edit);
    if (membership === null) {
      // Already in force (an earlier try was decided after all) or no longer possible.
      this.host.trace(`reconfiguration (${change.plan.kind}) has nothing left to do`);
      this.finish();
      return;
    }
    // Like an operator: to the leader named by the last refusal, else to the
    // leader (as far as one can tell) or any member, which forwards it.
    const leader = change.hint ?? this.host.leader();
    change.hint = null;
    const members = this.host.configs.currentMembers().filter((id) => this.host.isRunning(id));
    const toLeader = leader !== null && this.host.isRunning(leader) && this.random.chance(0.6);
    const target = toLeader ? leader : members.length > 0 ? this.random.pick(members) : null;
    const basedOn = target === null ? null : (this.host.cluster.node(target).replica.status().latestConfig?.activeFrom ?? null);
    if (target === null || basedOn === null) {
      this.retry(change, this.random.intBetween(20, 100));
      return;
    }
    const id = `r${this.nextChange}`;
    this.nextChange += 1;
    change.ids.add(id);
    change.tries += 1;
    change.trying = id;
    this.host.trace(`reconfiguration ${id} (${change.plan.kind}, try ${change.tries}) -> ${target}: ${describeMembership(membership)} based on ${basedOn}`);
    // A learner about to vote must have caught up (the leader checks); a new
    // node put straight in a crashed voter's place is the operator's gamble.
    const caughtUp = change.plan.kind === 'replace' ? [] : change.plan.edit.promote;
    this.host.cluster.input(target, { type: 'reconfigure', request: { id, basedOn, membership, caughtUp } });
    this.host.scheduler.after(TRY_TIMEOUT_MS, { kind: 'reconfigure-timeout', id });
    if (toLeader && this.random.chance(0.3)) this.cutAroundChange(target, votersOf(latest), votersOf(membership));
  }

  /**
   * The next try after `delayMs`, doubled with every try so far (capped), so that
   * a change outlasts an election instead of spending its tries during one.
   */
  private retry(change: Change, delayMs: number): void {
    change.trying = null;
    if (change.tries >= TRIES_MAX) {
      this.host.trace(`reconfiguration (${change.plan.kind}) given up after ${change.tries} tries`);
      this.host.counts['given-up'] += 1;
      this.finish();
      return;
    }
    this.host.scheduler.after(Math.min(RETRY_DELAY_MAX_MS, delayMs * 2 ** Math.max(0, change.tries - 1)), { kind: 'reconfigure' });
  }

  private finish(): void {
    this.change = null;
    this.host.scheduler.after(this.random.intBetween(100, 600), { kind: 'reconfigure' });
  }

  private retryDelayMs(reason: ReconfigureRejection): number {
    switch (reason) {
      case 'stale':
      case 'not-leader':
      case 'stepped-down':
        return this.random.intBetween(5, 60);
      case 'in-progress':
      case 'behind':
        return this.random.intBetween(30, 150);
      case 'invalid':
        // Every membership sent here has voters and distinct ids.
        throw new Error('a configuration change from the simulator was rejected as invalid');
      default:
        return assertNever(reason, 'rejection');
    }
  }

  /**
   * The worst cut for a change: the leader with a majority of the new voters,
   * away from a majority of the old ones. Only possible when the new voters'
   * majority needs few old voters (growing, or replacing).
   */
  private cutAroundChange(leader: NodeId, oldVoters: readonly NodeId[], newVoters: readonly NodeId[]): void {
    const oldMinorityMax = oldVoters.length - majority(oldVoters.length);
    const side = new Set<NodeId>([leader]);
    const count = (ids: readonly NodeId[]): number => ids.filter((id) => side.has(id)).length;
    for (const id of this.random.shuffled(newVoters.filter((v) => !oldVoters.includes(v)))) if (count(newVoters) < majority(newVoters.length)) side.add(id);
    for (const id of this.random.shuffled(newVoters.filter((v) => oldVoters.includes(v)))) {
      if (count(newVoters) < majority(newVoters.length) && count(oldVoters) < oldMinorityMax) side.add(id);
    }
    if (count(newVoters) < majority(newVoters.length) || count(oldVoters) > oldMinorityMax) return;
    if (this.host.cut([...side])) this.host.activity['reconfiguration-cut'] += 1;
  }

}

function startChange(plan: Plan): Change {
  return { plan, ids: new Set(), tries: 0, trying: null, hint: null };
}

function majority(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

function learner(id: NodeId): Member {
  return { id, voter: false, info: '' };
}

function voter(id: NodeId): Member {
  return { id, voter: true, info: '' };
}

/**
 * `membership` with the edit made, or null when that changes nothing or would
 * leave too few voters.
 */
export function applyEdit(membership: Membership, edit: Edit): Membership | null {
  const members: Member[] = [];
  for (const member of membership.members) {
    if (edit.remove.includes(member.id)) continue;
    members.push(edit.promote.includes(member.id) ? { ...member, voter: true } : member);
  }
  for (const member of edit.add) if (!members.some((m) => m.id === member.id)) members.push(member);
  const result = { members };
  assert(membershipProblem(result) === null, () => `the simulator built a bad configuration: ${membershipProblem(result)}`);
  const changed = members.length !== membership.members.length || members.some((m, i) => m.id !== membership.members[i]?.id || m.voter !== membership.members[i]?.voter);
  if (!changed || votersOf(result).length < VOTERS_MIN) return null;
  return result;
}

export function describeMembership(membership: Membership): string {
  return membership.members.map((m) => (m.voter ? m.id : `~${m.id}`)).join(' ');
}

/** The name of the `index`-th node of a run: n1, n2, ... */
export function nodeName(index: number): NodeId {
  return nodeId(`n${index + 1}`);
}
