/**
 * The simulator's agenda: events ordered by virtual time, and events due at the
 * same time in the order they were scheduled. That tie-break is what makes a run
 * a function of its seed alone (a heap by time alone would order equal times by
 * its internal layout). A binary heap keeps scheduling and popping O(log n).
 */
import { assert } from '../core/assert.js';

interface Entry<E> {
  readonly time: number;
  readonly order: number;
  readonly event: E;
}

export class EventQueue<E> {
  private readonly heap: Entry<E>[] = [];
  private scheduled = 0;

  get size(): number {
    return this.heap.length;
  }

  push(time: number, event: E): void {
    assert(Number.isFinite(time) && time >= 0, () => `cannot schedule an event at time ${time}`);
    this.heap.push({ time, order: this.scheduled, event });
    this.scheduled += 1;
    this.siftUp(this.heap.length - 1);
  }

  /** The earliest event and its time, or undefined when nothing is scheduled. */
  pop(): { time: number; event: E } | undefined {
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const last = this.heap.pop() as Entry<E>;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    return { time: top.time, event: top.event };
  }

  private siftUp(index: number): void {
    let child = index;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.before(child, parent)) return;
      this.swap(child, parent);
      child = parent;
    }
  }

  private siftDown(index: number): void {
    let parent = index;
    for (;;) {
      const left = parent * 2 + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.heap.length && this.before(left, smallest)) smallest = left;
      if (right < this.heap.length && this.before(right, smallest)) smallest = right;
      if (smallest === parent) return;
      this.swap(parent, smallest);
      parent = smallest;
    }
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a] as Entry<E>;
    const y = this.heap[b] as Entry<E>;
    return x.time < y.time || (x.time === y.time && x.order < y.order);
  }

  private swap(a: number, b: number): void {
    const x = this.heap[a] as Entry<E>;
    this.heap[a] = this.heap[b] as Entry<E>;
    this.heap[b] = x;
  }
}
