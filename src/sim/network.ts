/**
 * The simulated network: how long each message takes, whether it is lost or
 * duplicated, and which links are cut. Reordering needs no code of its own: two
 * messages on one link draw independent delays, so a later one often overtakes.
 *
 * A cut link is checked when a message would arrive, not when it leaves: a
 * partition that starts while a message is on the wire loses it, and a message
 * sent into a cut that heals before it lands gets through, as on a real network.
 */
import { assert } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import type { Random } from '../core/random.js';
import type { Counts, FaultKind } from './events.js';
import type { FaultOptions } from './options.js';

/** What happens to a message that was just sent. */
export type Route =
  | { readonly kind: 'lost' }
  /** One delay per copy to deliver: two copies when the network duplicates it. */
  | { readonly kind: 'deliver'; readonly delaysMs: readonly number[] };

export type PartitionShape = 'symmetric' | 'one-way';

export class Network {
  /** How many active partitions cut each directed link "from>to". */
  private readonly cuts = new Map<string, number>();
  private readonly partitions = new Map<number, { readonly shape: PartitionShape; readonly links: readonly string[] }>();
  private nextPartition = 1;
  /** False in the liveness phase: messages are still delayed, but never lost or duplicated. */
  private lossy = true;

  constructor(
    private readonly random: Random,
    private readonly faults: FaultOptions,
    private readonly counts: Counts<FaultKind>,
  ) {}

  route(): Route {
    if (this.lossy && this.random.chance(this.faults.loss)) {
      this.counts['message-lost'] += 1;
      return { kind: 'lost' };
    }
    const first = this.delayMs();
    if (this.lossy && this.random.chance(this.faults.duplicate)) {
      this.counts['message-duplicated'] += 1;
      return { kind: 'deliver', delaysMs: [first, this.delayMs()] };
    }
    return { kind: 'deliver', delaysMs: [first] };
  }

  /**
   * Mostly a millisecond or a few (a LAN), sometimes tens, rarely over a hundred:
   * longer than an election timeout, so a message can arrive from a past ballot.
   */
  delayMs(): number {
    if (!this.random.chance(this.faults.longDelay)) return this.random.intBetween(1, 4);
    this.counts['message-delayed-long'] += 1;
    return this.random.chance(0.8) ? this.random.intBetween(5, 40) : this.random.intBetween(40, 250);
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return (this.cuts.get(link(from, to)) ?? 0) > 0;
  }

  /**
   * Cuts `side` off from `rest`: both directions for a symmetric partition, only
   * side -> rest for a one-way one (the side still hears the others, which is the
   * case that tempts a deaf leader to keep going). Returns the partition's id.
   */
  partition(shape: PartitionShape, side: readonly NodeId[], rest: readonly NodeId[]): number {
    assert(side.length > 0 && rest.length > 0, 'a partition needs nodes on both sides');
    const links: string[] = [];
    for (const a of side) {
      for (const b of rest) {
        links.push(link(a, b));
        if (shape === 'symmetric') links.push(link(b, a));
      }
    }
    for (const l of links) this.cuts.set(l, (this.cuts.get(l) ?? 0) + 1);
    const id = this.nextPartition;
    this.nextPartition += 1;
    this.partitions.set(id, { shape, links });
    this.counts[shape === 'symmetric' ? 'partition-symmetric' : 'partition-one-way'] += 1;
    return id;
  }

  heal(id: number): void {
    const partition = this.partitions.get(id);
    if (partition === undefined) return;
    this.partitions.delete(id);
    for (const l of partition.links) {
      const count = (this.cuts.get(l) ?? 0) - 1;
      if (count > 0) this.cuts.set(l, count);
      else this.cuts.delete(l);
    }
  }

  /** Heals every partition and stops losing and duplicating messages. */
  healAll(): void {
    for (const id of [...this.partitions.keys()]) this.heal(id);
    this.lossy = false;
  }

  get activePartitions(): number {
    return this.partitions.size;
  }
}

function link(from: NodeId, to: NodeId): string {
  return `${from}>${to}`;
}
