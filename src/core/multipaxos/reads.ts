/**
 * Linearizable reads without writing to the log (the "read index" technique).
 *
 * A leader with ballot b that receives a read at index i = (the highest slot it
 * has assigned, or found a vote for in phase 1, whichever is higher) may serve
 * the read once (1) a phase-1 quorum has answered a heartbeat at ballot b sent
 * after the read arrived, and (2) it has applied every slot <= i.
 *
 * Why this is linearizable: a write acknowledged before the read arrived was
 * decided either at b (so its slot is <= i) or at an older ballot (so a phase-1
 * quorum for b reported a vote for it and its slot is <= i, even if the leader
 * has not re-proposed that slot yet), or at a newer ballot b' > b.
 * The last case needs a phase-1 quorum promising b' before the read arrived; that
 * quorum intersects the quorum acknowledging the heartbeat at b, and an acceptor
 * that promised b' > b refuses heartbeats at b. So (1) rules it out.
 *
 * Reads that arrive while a confirmation round is in flight wait for the next
 * round: the in-flight heartbeat may have left before they arrived. One round in
 * flight at a time batches any number of concurrent reads into one broadcast.
 */
import type { NodeId, Slot } from '../ids.js';

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
  private readonly acked = new Map<NodeId, number>();
  private readonly queue: PendingRead[] = [];

  get size(): number {
    return this.queue.length;
  }

  /** Adds a read; returns true if a new round must be broadcast now. */
  add(id: number, index: Slot): boolean {
    const roundInFlight = this.roundSent > this.roundConfirmed;
    const round = this.roundSent + 1;
    this.queue.push({ id, round, index });
    if (roundInFlight) return false;
    this.roundSent = round;
    return true;
  }

  /** True if reads are waiting for a round that has not been broadcast yet. */
  needsNextRound(): boolean {
    return this.roundSent === this.roundConfirmed && this.queue.some((read) => read.round > this.roundSent);
  }

  startNextRound(): number {
    this.roundSent += 1;
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
        this.roundConfirmed = candidate;
        return;
      }
    }
  }

  /** Confirms the round just sent when the leader alone is a quorum. */
  confirmAlone(self: NodeId, isQuorum: (voters: ReadonlySet<NodeId>) => boolean): void {
    if (isQuorum(new Set([self]))) this.roundConfirmed = this.roundSent;
  }

  /** Removes and returns, in arrival order, the reads that may be served now. */
  takeReady(appliedThrough: Slot): PendingRead[] {
    const ready: PendingRead[] = [];
    // Reads are served in arrival order: a later read never overtakes an earlier one.
    while (this.queue.length > 0) {
      const head = this.queue[0] as PendingRead;
      if (head.round > this.roundConfirmed || head.index > appliedThrough) break;
      ready.push(head);
      this.queue.shift();
    }
    return ready;
  }

  /** Removes every pending read (the leader stepped down). */
  takeAll(): PendingRead[] {
    return this.queue.splice(0, this.queue.length);
  }
}
