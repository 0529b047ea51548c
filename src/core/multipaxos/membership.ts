/**
 * Configurations as part of the replicated state (Lamport's alpha window,
 * "Paxos Made Simple" section 3; Lamport, Malkhi and Zhou, "Reconfiguring a
 * State Machine").
 *
 * A configuration change is a value decided in the log like any other. Decided
 * at slot s, it governs every slot from s + alpha on. A leader proposes slot t
 * only once it knows every slot <= t - alpha decided, so it always knows which
 * configuration's quorums decide t. A configuration per slot is therefore a
 * function of chosen values alone, and chosen values are unique: no two
 * members can count the same slot under different configurations, and within
 * one slot Paxos's quorum intersection does the rest. Two disjoint majorities
 * can never decide: each slot has exactly one configuration, and any two
 * majorities of one set of voters share a member.
 *
 * This module holds the pure parts: the list of known configurations and the
 * phase-1 rule that a candidate needs a quorum of every configuration that may
 * govern a slot it takes over.
 */
import { assert } from '../assert.js';
import type { NodeId, Slot } from '../ids.js';
import { MajorityQuorum } from '../quorum.js';
import type { ConfigEntry, Member, Membership, SlotValue, Standing } from './types.js';

/** The membership of a new cluster: every member a voter. */
export function bootstrapMembership(voters: readonly NodeId[]): Membership {
  return { members: voters.map((id) => ({ id, voter: true, info: '' })) };
}

export function votersOf(membership: Membership): NodeId[] {
  return membership.members.filter((m) => m.voter).map((m) => m.id);
}

export function memberOf(membership: Membership, id: NodeId): Member | undefined {
  return membership.members.find((m) => m.id === id);
}

/** Why `membership` cannot be a configuration, or null when it can. */
export function membershipProblem(membership: Membership): string | null {
  if (!membership.members.some((m) => m.voter)) return 'a configuration needs at least one voter';
  const seen = new Set<string>();
  for (const member of membership.members) {
    if (member.id.length === 0) return 'a member id is empty';
    if (seen.has(member.id)) return `member ${member.id} is listed twice`;
    seen.add(member.id);
  }
  return null;
}

export function sameMembership(a: Membership, b: Membership): boolean {
  if (a.members.length !== b.members.length) return false;
  return a.members.every((m, i) => {
    const o = b.members[i];
    return o !== undefined && o.id === m.id && o.voter === m.voter && o.info === m.info;
  });
}

/**
 * The configurations a replica knows, ordered by the first slot each governs.
 * Entries come from the bootstrap membership, from snapshots, and from decided
 * config values; none is ever added for a value that is not decided.
 */
export class Configurations {
  private entries: ConfigEntry[] = [];
  private readonly quorums = new WeakMap<ConfigEntry, MajorityQuorum>();

  constructor(entries: readonly ConfigEntry[] = []) {
    for (const entry of entries) this.add(entry);
  }

  get known(): boolean {
    return this.entries.length > 0;
  }

  all(): readonly ConfigEntry[] {
    return this.entries;
  }

  latest(): ConfigEntry | null {
    return this.entries[this.entries.length - 1] ?? null;
  }

  /** Adds an entry; an entry for the same first slot is the same decided value, so it is kept once. */
  add(entry: ConfigEntry): boolean {
    if (this.entries.some((e) => e.activeFrom === entry.activeFrom)) return false;
    this.entries.push(entry);
    this.entries.sort((a, b) => a.activeFrom - b.activeFrom);
    return true;
  }

  /** The configuration that governs `slot`, or null if none known does. */
  forSlot(slot: Slot): ConfigEntry | null {
    let found: ConfigEntry | null = null;
    for (const entry of this.entries) {
      if (entry.activeFrom > slot) break;
      found = entry;
    }
    return found;
  }

  /** The configuration governing `slot` and every later one known. */
  from(slot: Slot): ConfigEntry[] {
    const result: ConfigEntry[] = [];
    const first = this.forSlot(slot);
    if (first !== null) result.push(first);
    for (const entry of this.entries) if (entry.activeFrom > slot) result.push(entry);
    return result;
  }

  /** Drops configurations that govern no slot from `slot` on. */
  trimBefore(slot: Slot): void {
    this.entries = this.from(slot);
  }

  quorumOf(entry: ConfigEntry): MajorityQuorum {
    let quorum = this.quorums.get(entry);
    if (quorum === undefined) {
      quorum = new MajorityQuorum(votersOf(entry.membership));
      this.quorums.set(entry, quorum);
    }
    return quorum;
  }

  /** True when `voters` holds a quorum of every configuration governing `slot` or later. */
  isQuorumFrom(slot: Slot, voters: ReadonlySet<NodeId>): boolean {
    const entries = this.from(slot);
    return entries.length > 0 && entries.every((entry) => this.quorumOf(entry).isPhase1Quorum(voters));
  }

  /** Every member (voter or learner) of a configuration governing `slot` or later. */
  membersFrom(slot: Slot): Set<NodeId> {
    const ids = new Set<NodeId>();
    for (const entry of this.from(slot)) for (const member of entry.membership.members) ids.add(member.id);
    return ids;
  }

  votersFrom(slot: Slot): Set<NodeId> {
    const ids = new Set<NodeId>();
    for (const entry of this.from(slot)) for (const member of entry.membership.members) if (member.voter) ids.add(member.id);
    return ids;
  }

  /** Whether any configuration this replica knows names `id`. */
  names(id: NodeId): boolean {
    return this.entries.some((entry) => entry.membership.members.some((m) => m.id === id));
  }

  standing(self: NodeId, slot: Slot): Standing {
    const current = this.forSlot(slot);
    if (current === null) return 'unknown';
    const member = memberOf(current.membership, self);
    if (member !== undefined) return member.voter ? 'voter' : 'learner';
    // Not in the configuration of the next slot: a member still to come in
    // (added by a decided change not yet active) is a learner until then.
    return this.membersFrom(slot).has(self) ? 'learner' : 'removed';
  }

  /**
   * The entries a snapshot through `throughSlot` must carry: those decided at or
   * before it (entries activate `window` slots after their decision; the bootstrap
   * entry counts as decided before slot 1), from the one governing the next slot on.
   */
  asOf(throughSlot: Slot, window: number): ConfigEntry[] {
    const decided = new Configurations(this.entries.filter((e) => e.activeFrom - window <= throughSlot || e.activeFrom === 1));
    return decided.from((throughSlot + 1) as Slot);
  }
}

/**
 * Phase 1 across configurations. A candidate taking over from `fromSlot` must
 * hold promises from a quorum of every configuration that may govern a slot it
 * re-proposes: the ones it knows, and those that values it will propose (the
 * decided or highest-ballot value per slot) would bring in. Returns the voters
 * of those configurations and whether `promised` holds a quorum of each.
 *
 * Why that is enough: by induction on slots. For slots governed by a known
 * configuration, a quorum of it promised, so P2c holds there and any value
 * chosen there equals the one the candidate proposes. The configuration of a
 * later slot t is fixed by the values chosen at slots <= t - alpha, which are
 * the candidate's own proposals when anything was chosen; when nothing was
 * chosen at one of those slots, no leader could have proposed t at all.
 */
export function phase1Coverage<C>(
  configs: Configurations,
  fromSlot: Slot,
  window: number,
  valueAt: ReadonlyMap<Slot, SlotValue<C>>,
  promised: ReadonlySet<NodeId>,
): { covered: boolean; voters: Set<NodeId> } {
  const chain = new Configurations(configs.from(fromSlot));
  for (const [slot, value] of valueAt) {
    if (slot >= fromSlot && value.kind === 'config') chain.add({ activeFrom: (slot + window) as Slot, membership: value.membership });
  }
  const entries = chain.all();
  assert(entries.length > 0, 'a candidate must know the configuration of its first undecided slot');
  const voters = new Set<NodeId>();
  let covered = true;
  for (const entry of entries) {
    for (const id of votersOf(entry.membership)) voters.add(id);
    if (!chain.quorumOf(entry).isPhase1Quorum(promised)) covered = false;
  }
  return { covered, voters };
}
