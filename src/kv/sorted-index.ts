/**
 * An ordered map from binary-string keys to values: a sorted list of sorted
 * chunks (the layout of Python's `sortedcontainers`, a two-level B-tree).
 *
 * With n keys and chunks of at most B = CHUNK_MAX keys:
 * - get:            O(log n) string comparisons (binary search over chunk last
 *                   keys, then inside one chunk);
 * - insert/delete:  O(log n + B + n/B): a splice inside one chunk, and a splice
 *                   of the chunk list when a chunk splits or empties. With
 *                   B = 512 that is a few thousand pointer moves at a million
 *                   keys, far below a flat sorted array's n/2.
 * - forEachInRange: O(log n + m) for m keys visited.
 *
 * Keys compare with `<` on binary strings, which is bytewise order (bytes.ts).
 */
import { assert } from '../core/assert.js';

const CHUNK_MAX = 512;
const CHUNK_MERGE_BELOW = CHUNK_MAX / 4;

interface Chunk<V> {
  keys: string[];
  values: V[];
}

/** The first index in sorted `keys` whose key is >= `key`. */
function lowerBound(keys: readonly string[], key: string): number {
  let low = 0;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((keys[mid] as string) < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

export class SortedIndex<V> {
  private chunks: Chunk<V>[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(key: string): V | undefined {
    const chunk = this.chunks[this.chunkFor(key)];
    if (chunk === undefined) return undefined;
    const at = lowerBound(chunk.keys, key);
    return chunk.keys[at] === key ? chunk.values[at] : undefined;
  }

  /** Inserts or replaces. */
  set(key: string, value: V): void {
    if (this.chunks.length === 0) {
      this.chunks.push({ keys: [key], values: [value] });
      this.count = 1;
      return;
    }
    // A key above every key goes into the last chunk.
    const chunkIndex = Math.min(this.chunkFor(key), this.chunks.length - 1);
    const chunk = this.chunks[chunkIndex] as Chunk<V>;
    const at = lowerBound(chunk.keys, key);
    if (chunk.keys[at] === key) {
      chunk.values[at] = value;
      return;
    }
    chunk.keys.splice(at, 0, key);
    chunk.values.splice(at, 0, value);
    this.count += 1;
    if (chunk.keys.length > CHUNK_MAX) {
      const half = chunk.keys.length >>> 1;
      const upper: Chunk<V> = { keys: chunk.keys.splice(half), values: chunk.values.splice(half) };
      this.chunks.splice(chunkIndex + 1, 0, upper);
    }
  }

  delete(key: string): boolean {
    const chunkIndex = this.chunkFor(key);
    const chunk = this.chunks[chunkIndex];
    if (chunk === undefined) return false;
    const at = lowerBound(chunk.keys, key);
    if (chunk.keys[at] !== key) return false;
    chunk.keys.splice(at, 1);
    chunk.values.splice(at, 1);
    this.count -= 1;
    if (chunk.keys.length === 0) {
      this.chunks.splice(chunkIndex, 1);
    } else if (chunk.keys.length < CHUNK_MERGE_BELOW) {
      // Keep chunks from thinning out after mass deletes (compaction).
      const next = this.chunks[chunkIndex + 1];
      if (next !== undefined && chunk.keys.length + next.keys.length <= CHUNK_MAX) {
        chunk.keys.push(...next.keys);
        chunk.values.push(...next.values);
        this.chunks.splice(chunkIndex + 1, 1);
      }
    }
    return true;
  }

  /**
   * Calls `visit` for each key in [start, end) in ascending order; `end` null
   * means no upper bound. Stops early when `visit` returns false. The index must
   * not be changed structurally (set of a new key, delete) during the walk.
   */
  forEachInRange(start: string, end: string | null, visit: (key: string, value: V) => boolean | void): void {
    let chunkIndex = this.chunkFor(start);
    let at = -1;
    for (; chunkIndex < this.chunks.length; chunkIndex += 1) {
      const chunk = this.chunks[chunkIndex] as Chunk<V>;
      if (at < 0) at = lowerBound(chunk.keys, start);
      for (; at < chunk.keys.length; at += 1) {
        const key = chunk.keys[at] as string;
        if (end !== null && key >= end) return;
        if (visit(key, chunk.values[at] as V) === false) return;
      }
      at = 0;
    }
  }

  /** All keys in order (for invariant checks and tests). */
  keys(): string[] {
    const out: string[] = [];
    for (const chunk of this.chunks) out.push(...chunk.keys);
    return out;
  }

  /** Throws if the chunks are not sorted and sized as documented. */
  checkInvariants(): void {
    let previous: string | null = null;
    let total = 0;
    for (const chunk of this.chunks) {
      assert(chunk.keys.length > 0 && chunk.keys.length <= CHUNK_MAX, 'index chunk size out of bounds');
      assert(chunk.keys.length === chunk.values.length, 'index chunk keys and values differ in length');
      for (const key of chunk.keys) {
        assert(previous === null || previous < key, 'index keys are not strictly ascending');
        previous = key;
      }
      total += chunk.keys.length;
    }
    assert(total === this.count, 'index size is out of date');
  }

  /** The index of the first chunk whose last key is >= `key`; chunks.length if none. */
  private chunkFor(key: string): number {
    let low = 0;
    let high = this.chunks.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const chunk = this.chunks[mid] as Chunk<V>;
      if ((chunk.keys[chunk.keys.length - 1] as string) < key) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
