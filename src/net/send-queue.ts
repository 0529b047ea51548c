/**
 * A peer's outbound queue of encoded frames, bounded in messages and in bytes.
 *
 * When full it drops the NEWEST message (send() returns false), as etcd's
 * rafthttp does. Why not the oldest: the sender learns at once that this
 * message was not taken and can count or react; what is queued stays a
 * gap-free prefix of what was sent; and Multi-Paxos does not need any one
 * message to arrive, because it retransmits from its own state (heartbeats
 * carry commitThrough, a stalled slot's accept is resent, a lagging replica
 * asks for catch-up). The cost: after a long outage the peer first receives
 * the stale head of the queue, which it discards by ballot and slot.
 */
import { assert } from '../core/assert.js';

export interface SendQueueLimits {
  readonly messagesMax: number;
  readonly bytesMax: number;
}

export class SendQueue {
  private frames: Uint8Array[] = [];
  private head = 0;
  private queuedBytes = 0;

  constructor(readonly limits: SendQueueLimits) {
    assert(limits.messagesMax >= 1 && limits.bytesMax >= 1, () => `bad send queue limits ${JSON.stringify(limits)}`);
  }

  get messages(): number {
    return this.frames.length - this.head;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Queues `frame` unless that would break a bound; false means it was dropped. */
  push(frame: Uint8Array): boolean {
    if (this.messages >= this.limits.messagesMax || this.queuedBytes + frame.byteLength > this.limits.bytesMax) return false;
    this.frames.push(frame);
    this.queuedBytes += frame.byteLength;
    return true;
  }

  /**
   * Removes frames from the front, oldest first, until about `bytesBudget` bytes
   * are taken (always at least one frame when any is queued, so a frame larger
   * than the budget still goes).
   */
  take(bytesBudget: number): Uint8Array[] {
    const taken: Uint8Array[] = [];
    let bytes = 0;
    while (this.head < this.frames.length) {
      const frame = this.frames[this.head] as Uint8Array;
      if (taken.length > 0 && bytes + frame.byteLength > bytesBudget) break;
      taken.push(frame);
      bytes += frame.byteLength;
      this.head++;
    }
    this.queuedBytes -= bytes;
    this.compact();
    return taken;
  }

  /** Empties the queue; returns how many messages were discarded. */
  clear(): number {
    const discarded = this.messages;
    this.frames = [];
    this.head = 0;
    this.queuedBytes = 0;
    return discarded;
  }

  private compact(): void {
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
  }
}
