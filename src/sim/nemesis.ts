/**
 * The fault injector of the safety phase (Jepsen's "nemesis"): every so often it
 * crashes a replica (often the leader), cuts the network, or pauses a replica;
 * each fault is undone after a while. At the end of the safety phase it heals
 * everything at once so that the liveness phase starts from a whole cluster.
 *
 * It never wipes a disk: an acceptor that forgets its promises and votes breaks
 * Paxos by design, so that would only find bugs that are not there.
 *
 * It strikes every node the harness runs, members or not (spares waiting to be
 * added, removed members), but it sizes its faults by the voters of the newest
 * configuration: a partition cuts off a minority of them, a power loss takes a
 * majority of them.
 */
import { assertNever } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import type { Random } from '../core/random.js';
import type { Counts, FaultKind, Scheduler, SimCluster } from './events.js';
import type { Network } from './network.js';
import type { SimOptions } from './options.js';

/** Partitions at once; more would mostly keep the cluster from doing anything. */
const PARTITIONS_MAX = 2;

type Fault = 'crash' | 'power-loss' | 'partition-symmetric' | 'partition-one-way' | 'pause' | 'timer-stall' | 'stale-leader';

export class Nemesis {
  private readonly pausedUntil = new Map<NodeId, number>();
  private readonly stalledUntil = new Map<NodeId, number>();
  /** Replicas the liveness phase leaves down (only when a test asks for it). */
  private readonly keptDown = new Set<NodeId>();

  constructor(
    private readonly cluster: SimCluster,
    private readonly random: Random,
    private readonly options: SimOptions,
    private readonly network: Network,
    private readonly counts: Counts<FaultKind>,
    private readonly scheduler: Scheduler,
    private readonly trace: (text: string) => void,
    /** The voters of the newest decided configuration. */
    private readonly voters: () => NodeId[],
  ) {}

  /** Injects one fault, chosen among the enabled kinds, and plans the next strike. */
  strike(): void {
    const faults = this.options.faults;
    // Weights: crashes are the richest fault for Paxos (lost unsynced state,
    // recovery, leader change), so they come up most often.
    const menu: Fault[] = [];
    if (faults.crashes) menu.push('crash', 'crash', 'crash', 'power-loss');
    if (faults.partitions && this.network.activePartitions < PARTITIONS_MAX) menu.push('partition-symmetric', 'partition-one-way');
    if (faults.pauses) menu.push('pause', 'timer-stall');
    if (faults.pauses && faults.partitions && this.network.activePartitions < PARTITIONS_MAX) menu.push('stale-leader');
    if (menu.length > 0) this.inject(this.random.pick(menu));
    this.scheduler.after(this.random.intBetween(40, 400), { kind: 'nemesis' });
  }

  isPaused(node: NodeId): boolean {
    return this.pausedUntil.has(node);
  }

  /** True while `node`'s timer is stalled: it handles messages but its ticks do not fire. */
  isStalled(node: NodeId): boolean {
    const until = this.stalledUntil.get(node);
    if (until === undefined) return false;
    if (until > this.scheduler.now) return true;
    this.stalledUntil.delete(node);
    return false;
  }

  /**
   * When an event held up by `node`'s pause gets handled: a little after the
   * node resumes, in no particular order, because a resumed process drains its
   * peer and client connections in whatever order its event loop finds them.
   */
  heldUntil(node: NodeId): number {
    return (this.pausedUntil.get(node) ?? this.scheduler.now) + this.random.intBetween(0, 4);
  }

  restart(node: NodeId): void {
    if (this.cluster.node(node).up || this.keptDown.has(node)) return;
    this.trace(`${node} restarts`);
    this.cluster.restart(node);
  }

  resume(node: NodeId): void {
    const until = this.pausedUntil.get(node);
    if (until === undefined || until > this.scheduler.now) return;
    this.pausedUntil.delete(node);
    this.trace(`${node} resumes`);
  }

  healPartition(id: number): void {
    this.network.heal(id);
    this.trace(`partition ${id} heals`);
  }

  /**
   * The start of the liveness phase: links heal, the network stops losing
   * messages, paused replicas resume and crashed ones restart, except the
   * `crashedInLiveness` replicas a test keeps down on purpose.
   */
  healAll(): void {
    this.network.healAll();
    for (const node of this.voters().slice(0, this.options.crashedInLiveness)) {
      this.keptDown.add(node);
      if (this.cluster.node(node).up) this.crash(node);
    }
    this.pausedUntil.clear();
    this.stalledUntil.clear();
    for (const node of this.cluster.nodeIds) this.restart(node);
    this.trace('all faults healed');
  }

  /**
   * Cuts `side` off from every other node, both ways, for a while (the
   * reconfiguration driver's partition around a change). False when partitions
   * are off or enough are under way.
   */
  cutOff(side: readonly NodeId[]): boolean {
    if (!this.options.faults.partitions || this.network.activePartitions >= PARTITIONS_MAX) return false;
    const rest = this.cluster.nodeIds.filter((id) => !side.includes(id));
    if (side.length === 0 || rest.length === 0) return false;
    const id = this.network.partition('symmetric', side, rest);
    const durationMs = this.random.intBetween(50, 600);
    this.trace(`partition ${id} (symmetric) cuts ${side.join(',')} <-/-> ${rest.join(',')} for ${durationMs}ms around a configuration change`);
    this.scheduler.after(durationMs, { kind: 'heal-partition', partition: id });
    return true;
  }

  private inject(fault: Fault): void {
    switch (fault) {
      case 'crash':
        return this.crashSomeone();
      case 'power-loss':
        return this.powerLoss();
      case 'partition-symmetric':
        return this.cut('symmetric');
      case 'partition-one-way':
        return this.cut('one-way');
      case 'pause':
        return this.pauseSomeone();
      case 'timer-stall':
        return this.stallSomeone();
      case 'stale-leader':
        return this.isolateStalledLeader();
      default:
        return assertNever(fault, 'fault');
    }
  }

  private crashSomeone(): void {
    const up = this.targets().filter((id) => this.cluster.node(id).up);
    if (up.length === 0) return;
    const leader = this.leader();
    const victim = leader !== null && this.random.chance(0.5) ? leader : this.random.pick(up);
    if (victim === leader) this.counts['crash-leader'] += 1;
    this.crash(victim);
    this.scheduler.after(this.random.intBetween(20, 400), { kind: 'restart', node: victim });
  }

  /**
   * A majority (sometimes everyone) loses power at the same moment: every one of
   * them loses its unsynced writes together, the case where a value that was
   * only "almost durable" at a quorum must not come back as chosen.
   */
  private powerLoss(): void {
    const voters = this.voters();
    const everyone = this.random.chance(0.3);
    const up = this.random.shuffled(voters.filter((id) => this.cluster.node(id).up));
    const majority = Math.floor(voters.length / 2) + 1;
    const victims = up.slice(0, everyone ? up.length : Math.min(up.length, majority));
    // The other nodes (learners, spares, removed members) go down with "everyone".
    if (everyone) for (const id of this.cluster.nodeIds) if (!voters.includes(id) && this.cluster.node(id).up) victims.push(id);
    if (victims.length === 0) return;
    this.counts['power-loss'] += 1;
    for (const node of victims) {
      this.crash(node);
      this.scheduler.after(this.random.intBetween(10, 300), { kind: 'restart', node });
    }
  }

  private crash(node: NodeId): void {
    const unsynced = this.cluster.node(node).unsyncedRecords;
    // A torn write: the records reached the disk in order but only part of the
    // batch made it before power went. Never a later record without an earlier one.
    const kept = this.options.faults.tornWrites && unsynced > 0 && this.random.chance(0.5) ? this.random.intBetween(1, unsynced) : 0;
    this.counts.crash += 1;
    if (kept > 0) this.counts['torn-write'] += 1;
    this.counts['unsynced-records-lost'] += unsynced - kept;
    this.pausedUntil.delete(node);
    this.trace(`${node} crashes (${unsynced} unsynced records, ${kept} kept)`);
    this.cluster.crash(node, kept);
  }

  private cut(shape: 'symmetric' | 'one-way'): void {
    const voters = this.random.shuffled(this.voters());
    // Mostly a minority of the voters is cut off, and the leader is in it half
    // of the time. Each other node falls on either side.
    const size = this.random.intBetween(1, Math.max(1, Math.floor(voters.length / 2)));
    const leader = this.leader();
    if (leader !== null && this.random.chance(0.5)) {
      if (voters.includes(leader)) voters.splice(voters.indexOf(leader), 1);
      voters.unshift(leader);
    }
    const side = voters.slice(0, size);
    const rest = voters.slice(size);
    for (const id of this.cluster.nodeIds) if (!side.includes(id) && !rest.includes(id)) (this.random.chance(0.5) ? side : rest).push(id);
    if (rest.length === 0) return;
    const id = this.network.partition(shape, side, rest);
    const durationMs = this.random.intBetween(50, 600);
    this.trace(`partition ${id} (${shape}) cuts ${side.join(',')} ${shape === 'symmetric' ? '<-/->' : '-/->'} ${rest.join(',')} for ${durationMs}ms`);
    this.scheduler.after(durationMs, { kind: 'heal-partition', partition: id });
  }

  private pauseSomeone(): void {
    const candidates = this.targets().filter((id) => this.cluster.node(id).up && !this.pausedUntil.has(id));
    if (candidates.length === 0) return;
    const leader = this.leader();
    const node = leader !== null && candidates.includes(leader) && this.random.chance(0.5) ? leader : this.random.pick(candidates);
    // Some pauses outlast an election timeout: the paused leader wakes up deposed.
    const durationMs = this.random.intBetween(20, 300);
    this.pausedUntil.set(node, this.scheduler.now + durationMs);
    this.counts.pause += 1;
    this.trace(`${node} pauses for ${durationMs}ms`);
    this.scheduler.after(durationMs, { kind: 'resume', node });
  }

  /**
   * The replica's sense of time stops while it keeps handling messages (an event
   * loop starved of timer callbacks). Most often the leader: it then goes on
   * believing it leads, long after it could know better. Safety must not care.
   */
  private stallSomeone(): void {
    const candidates = this.targets().filter((id) => this.cluster.node(id).up && !this.isStalled(id));
    if (candidates.length === 0) return;
    const leader = this.leader();
    const node = leader !== null && candidates.includes(leader) && this.random.chance(0.7) ? leader : this.random.pick(candidates);
    this.stall(node, this.random.intBetween(50, 500));
  }

  /**
   * The leader is cut off and its timer stalls for as long: the majority elects
   * a new leader and moves on while the old one still believes it leads and
   * clients still reach it. Only the read path's quorum round stands between
   * that and stale reads.
   */
  private isolateStalledLeader(): void {
    const leader = this.leader();
    if (leader === null) return;
    const durationMs = this.random.intBetween(200, 600);
    const id = this.network.partition('symmetric', [leader], this.cluster.nodeIds.filter((node) => node !== leader));
    this.trace(`partition ${id} (symmetric) isolates the leader ${leader} for ${durationMs}ms`);
    this.scheduler.after(durationMs, { kind: 'heal-partition', partition: id });
    this.stall(leader, durationMs);
  }

  private stall(node: NodeId, durationMs: number): void {
    this.stalledUntil.set(node, this.scheduler.now + durationMs);
    this.counts['timer-stall'] += 1;
    this.trace(`${node}'s timer stalls for ${durationMs}ms`);
  }

  /**
   * The nodes a crash, pause or stall picks from: mostly the voters of the
   * newest configuration, where faults matter most, sometimes any node.
   */
  private targets(): readonly NodeId[] {
    return this.random.chance(0.75) ? this.voters() : this.cluster.nodeIds;
  }

  /** The live replica that believes it leads with the highest ballot, if any. */
  leader(): NodeId | null {
    let best: NodeId | null = null;
    let bestBallot = -1;
    for (const id of this.cluster.nodeIds) {
      const view = this.cluster.node(id);
      if (!view.up) continue;
      const status = view.replica.status();
      if (status.role === 'leader' && status.ballot.round > bestBallot) {
        best = id;
        bestBallot = status.ballot.round;
      }
    }
    return best;
  }

}
