/**
 * Planted bugs. Each mutant is the real replica with one safety rule broken
 * through the protected hooks replica.ts exposes for this purpose. The
 * simulator must catch every one of them within a fixed number of seeds;
 * otherwise its passing runs would prove little (test/sim/mutants.test.ts).
 *
 * They live here, in src/sim, and are reachable only through the simulator's
 * replica factory: no server code imports this file, so nothing in a running
 * node can switch one on.
 */
import { ZERO_BALLOT, compareBallots, type Ballot } from '../core/ballot.js';
import { nextSlot, type NodeId, type Slot } from '../core/ids.js';
import type { DurableState } from '../core/multipaxos/durable.js';
import { Replica } from '../core/multipaxos/replica.js';
import type { AcceptedEntry, Input, Membership, Ready, ReplicaConfig, SlotValue } from '../core/multipaxos/types.js';
import type { ReplicaFactory } from './cluster.js';
import { TICK_MS } from './options.js';

/**
 * Recovers its promise from its votes alone, as if promises were never written
 * to disk: after a restart it will accept (and promise) ballots below ones it
 * already promised, and may even reissue one of its own ballots.
 */
class ForgetPromiseOnRestart<C> extends Replica<C> {
  protected override recoveredPromise(durable: DurableState<C>): Ballot {
    let highest = ZERO_BALLOT;
    for (const vote of durable.accepted.values()) if (compareBallots(vote.ballot, highest) > 0) highest = vote.ballot;
    return highest;
  }
}

/**
 * Recovers its promise but loses its votes on restart, as if accept records were
 * never synced: a value a quorum chose through this acceptor can be replaced.
 */
class ForgetVotesOnRestart<C> extends Replica<C> {
  protected override recoveredPromise(durable: DurableState<C>): Ballot {
    durable.accepted.clear();
    return durable.promised;
  }
}

/** Votes in any ballot, even one below what it promised (breaks phase 2b). */
class AcceptBelowPromise<C> extends Replica<C> {
  protected override acceptorMayAccept(_ballot: Ballot): boolean {
    return true;
  }
}

/** A new leader ignores the votes its phase-1 quorum reported and proposes no-ops (breaks P2c). */
class IgnorePromisedValues<C> extends Replica<C> {
  protected override valueFromVotes(_slot: Slot, _votes: readonly AcceptedEntry<C>[]): SlotValue<C> | null {
    return null;
  }
}

/** Counts a value chosen one vote short of a majority: the classic off-by-one. */
class CommitWithoutMajority<C> extends Replica<C> {
  protected override isChosenBy(slot: Slot, votes: ReadonlySet<NodeId>): boolean {
    const voters = this.configs.forSlot(slot)?.membership.members.filter((m) => m.voter).length ?? 0;
    return voters > 0 && votes.size >= Math.floor(voters / 2);
  }
}

/**
 * Serves linearizable reads at once from a replica that believes it leads,
 * without the quorum round that confirms it still does: a deposed leader that has
 * not noticed yet (cut off, or paused) answers from a stale state.
 */
class ReadWithoutQuorum<C> extends Replica<C> {
  override step(input: Input<C>): Ready<C> {
    if (input.type !== 'read' || this.status().role !== 'leader') return super.step(input);
    this.emit({ type: 'read-ready', id: input.id, leased: false });
    // start() only drains the effects once the replica has started, which a leader has.
    return this.start();
  }
}

/** When several slots become ready at once, hands them to the state machine newest first. */
class ApplyOutOfOrder<C> extends Replica<C> {
  protected override applyDecided(): void {
    const ready: Slot[] = [];
    while (this.appliedThrough < this.decidedThrough) {
      this.appliedThrough = nextSlot(this.appliedThrough);
      ready.push(this.appliedThrough);
    }
    const decided = this.decidedEntries();
    for (const slot of ready.reverse()) {
      const value = decided.get(slot);
      if (value !== undefined) this.emit({ type: 'apply', slot, value });
    }
  }
}

/**
 * A leader starts using a new configuration as soon as it proposes it, for the
 * very next slot, instead of once the change is decided and alpha slots have
 * passed: it counts the new voters' majority for slots the old configuration
 * still governs, so two disjoint majorities can decide one slot.
 */
class ActivateConfigBeforeDecided<C> extends Replica<C> {
  protected override configProposed(slot: Slot, membership: Membership): void {
    this.configs.add({ activeFrom: nextSlot(slot), membership });
  }
}

/**
 * Lets every step's effects go out before its own records are durable: an
 * acceptor's `accepted` reply (and a promise) may then announce a vote a crash
 * forgets, so a value can count as chosen on votes that are gone.
 */
class ReplyBeforeDurable<C> extends Replica<C> {
  override step(input: Input<C>): Ready<C> {
    return { ...super.step(input), ownRecordsFirst: false };
  }
}

/**
 * Times its read lease by its own ticks instead of a clock: a leader whose
 * timer stalls (a process paused, a blocked event loop) sees no time pass, so
 * when it is cut off it goes on serving reads after the others have elected
 * another leader and written.
 */
class LeaseOnTicks<C> extends Replica<C> {
  private ticks = 0;

  constructor(config: ReplicaConfig, durable: DurableState<C>) {
    const lease = config.readLease;
    const holder: { replica: LeaseOnTicks<C> | null } = { replica: null };
    super(lease === undefined ? config : { ...config, readLease: { ms: lease.ms, clock: () => (holder.replica?.ticks ?? 0) * TICK_MS } }, durable);
    holder.replica = this;
  }

  override step(input: Input<C>): Ready<C> {
    if (input.type === 'tick') this.ticks += 1;
    return super.step(input);
  }
}

type ReplicaClass = new <C>(config: ReplicaConfig, durable: DurableState<C>) => Replica<C>;

const MUTANTS = {
  'forget-promise-on-restart': ForgetPromiseOnRestart,
  'forget-votes-on-restart': ForgetVotesOnRestart,
  'accept-below-promise': AcceptBelowPromise,
  'ignore-promised-values': IgnorePromisedValues,
  'commit-without-majority': CommitWithoutMajority,
  'apply-out-of-order': ApplyOutOfOrder,
  'read-without-quorum': ReadWithoutQuorum,
  'activate-config-before-decided': ActivateConfigBeforeDecided,
  'reply-before-durable': ReplyBeforeDurable,
  'lease-on-ticks': LeaseOnTicks,
} as const satisfies Record<string, ReplicaClass>;

export type MutantName = keyof typeof MUTANTS;

export function listMutants(): MutantName[] {
  return Object.keys(MUTANTS) as MutantName[];
}

export function isMutantName(name: string): name is MutantName {
  return Object.hasOwn(MUTANTS, name);
}

/** The replica factory that builds `name`'s broken replica in place of the real one. */
export function mutantFactory<C>(name: MutantName): ReplicaFactory<C> {
  const Mutant: ReplicaClass = MUTANTS[name];
  return (config, durable) => new Mutant<C>(config, durable);
}
