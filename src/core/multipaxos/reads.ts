/**
 * Linearizable reads without writing to the log (the "read index" technique).
 *
 * A leader with ballot b that receives a read at index i = (the highest slot up
 * to which it knows every slot decided, or the highest it found a vote for in
 * phase 1, whichever is higher) may serve the read once (1) a phase-1 quorum
 * has answered a heartbeat at ballot b sent after the read arrived, and (2) it
 * has applied every slot <= i.
 *
 * Why this is linearizable: a write acknowledged before the read arrived was
 * decided either at b, or at an older ballot, or at a newer ballot b' > b.
 * At b: members learn b's decisions only from b's leader (commitThrough), and
 * a command is acknowledged once applied, after every slot before it, so the
 * leader knew its slot and all before it decided: the slot is <= i. Slots the
 * leader has proposed but not seen decided hold no acknowledged write, and the
 * read does not wait for them. At an older ballot: a phase-1 quorum for b
 * reported a vote for it, so its slot is <= i, even if the leader has not
 * re-proposed that slot yet. At b' > b: that needs a phase-1 quorum promising
 * b' before the read arrived; that quorum intersects the quorum acknowledging
 * the heartbeat at b, and an acceptor that promised b' > b refuses heartbeats
 * at b. So (1) rules it out. Which quorums count depends on the configurations
 * the leader knows, so a new leader counts only rounds sent once the slots its
 * phase 1 recovered are decided (a configuration change may be among them),
 * and a decided change restarts the rounds (Replica.finishStep).
 *
 * Reads that arrive while a confirmation round is in flight wait for the next
 * round: the in-flight heartbeat may have left before they arrived. One round in
 * flight at a time batches any number of concurrent reads into one broadcast.
 *
 * Read leases (ReplicaConfig.readLease) skip the round. A member that answers a
 * heartbeat from its leader ignores every other candidate's prepare for the
 * next `electionTimeoutTicks` of its own ticks (Replica.backsLease), and
 * a restarted member ignores them for as long after its start, since it may
 * have answered just before it went down. So once a quorum has answered a
 * round sent at time t, no other ballot can complete phase 1 before t plus
 * that window, measured on any quorum member's ticks; `readLeaseMs` turns the
 * window into a lease on the leader's clock, shortened for drift between the
 * clocks and for the first tick coming right after a heartbeat. A read served
 * while the lease holds (checked when it is served, not when it arrives) sees
 * every write decided before that moment, by the argument above with no newer
 * ballot possible. The leader's clock must keep running while its process is
 * paused, which a monotonic clock does; a paused leader that resumes finds its
 * lease expired and falls back to a round. A member does heed two prepares
 * in its window: its own leader's, running phase 1 again, and a hand-over
 * (timeout-now) naming the ballot it follows; in both, the leader gave up its
 * lease first.
 */
import type { NodeId, Slot } from '../ids.js';

/**
 * The longest safe read lease: `electionTimeoutTicks - 1` ticks (a member's
 * first tick after a heartbeat may come at once), with the leader's clock up
 * to `driftMax` fast and the member's ticks up to `driftMax` short. For ticks
 * of `tickMs` on clocks that drift by at most that fraction.
 */
export function readLeaseMs(electionTimeoutTicks: number, tickMs: number, driftMax: number): number {
  return Math.floor(((electionTimeoutTicks - 1) * tickMs * (1 - driftMax)) / (1 + driftMax));
}

export interface PendingRead {
  readonly id: number;
  /** The confirmation round this read needs. */
  readonly round: number;
  /** The read may be served once the replica has applied this slot. */
  readonly index: Slot;
}

export class ReadTracker {
  /** The last round whose heartbeat was broadcast. */
  roundSent = 0;
  /** Every round <= this one has been confirmed by a quorum. */
  roundConfirmed = 0;
  /** When the newest confirmed round was sent (leader's clock), or null: the lease runs from here. */
  confirmedSentAt: number | null = null;
  /** When each round still unconfirmed was sent. */
  private readonly sentAt = new Map<number, number>();
  private readonly acked = new Map<NodeId, number>();
  private readonly queue: PendingRead[] = [];

  get size(): number {
    return this.queue.length;
  }

  /**
   * Adds a read; returns true if the caller must start its round now
   * (startNextRound) and broadcast it. Under a lease (`leased`) none is
   * needed: the read waits for the round after the one in flight only if the
   * lease lapses before it is served.
   */
  add(id: number, index: Slot, leased: boolean): boolean {
    const roundInFlight = this.roundSent > this.roundConfirmed;
    this.queue.push({ id, round: this.roundSent + 1, index });
    return !roundInFlight && !leased;
  }

  /** True if reads are waiting for a round that has not been broadcast yet. */
  needsNextRound(): boolean {
    return this.roundSent === this.roundConfirmed && this.queue.some((read) => read.round > this.roundSent);
  }

  /** A new round, broadcast at `now` (null without a clock). */
  startNextRound(now: number | null): number {
    this.roundSent += 1;
    if (now !== null) this.sentAt.set(this.roundSent, now);
    return this.roundSent;
  }

  /**
   * Records that `from` acknowledged `round`; `isQuorum` decides whether a set of
   * acknowledgers (the leader included) confirms leadership.
   */
  acknowledge(from: NodeId, round: number, self: NodeId, isQuorum: (voters: ReadonlySet<NodeId>) => boolean): void {
    if (round <= (this.acked.get(from) ?? 0)) return;
    this.acked.set(from, round);
    for (let candidate = Math.min(this.roundSent, round); candidate > this.roundConfirmed; candidate -= 1) {
      const voters = new Set<NodeId>([self]);
      for (const [node, ackedRound] of this.acked) if (ackedRound >= candidate) voters.add(node);
      if (isQuorum(voters)) {
        this.confirm(candidate);
        return;
      }
    }
  }

  /** Confirms the round just sent when the leader alone is a quorum. */
  confirmAlone(self: NodeId, isQuorum: (voters: ReadonlySet<NodeId>) => boolean): void {
    if (isQuorum(new Set([self]))) this.confirm(this.roundSent);
  }

  private confirm(round: number): void {
    this.roundConfirmed = round;
    const sentAt = this.sentAt.get(round);
    if (sentAt !== undefined) this.confirmedSentAt = sentAt;
    for (const r of this.sentAt.keys()) if (r <= round) this.sentAt.delete(r);
  }

  /**
   * Removes and returns, in arrival order, the reads that may be served now:
   * their slots are applied, and a round sent after they arrived is confirmed
   * or the lease holds (`leased`).
   */
  takeReady(appliedThrough: Slot, leased: boolean): (PendingRead & { readonly leased: boolean })[] {
    const ready: (PendingRead & { readonly leased: boolean })[] = [];
    // Reads are served in arrival order: a later read never overtakes an earlier one.
    while (this.queue.length > 0) {
      const head = this.queue[0] as PendingRead;
      if ((head.round > this.roundConfirmed && !leased) || head.index > appliedThrough) break;
      ready.push({ ...head, leased: head.round > this.roundConfirmed });
      this.queue.shift();
    }
    return ready;
  }

  /**
   * Rounds so far no longer count: every read waiting now needs a round sent
   * after this, and the lease lapses until one is confirmed. For a change in
   * the configurations whose quorums confirm a round (see Replica).
   */
  restartRounds(): void {
    this.confirmedSentAt = null;
    const round = this.roundSent + 1;
    for (let i = 0; i < this.queue.length; i += 1) {
      const read = this.queue[i] as PendingRead;
      if (read.round < round) this.queue[i] = { ...read, round };
    }
  }

  /** Removes every pending read (the leader stepped down). */
  takeAll(): PendingRead[] {
    return this.queue.splice(0, this.queue.length);
  }
}
