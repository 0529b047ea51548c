/**
 * A fixed-size bitset over operation indexes, with a hash that is kept up to date
 * as bits change. The linearizability search sets and clears one bit per step and
 * looks the whole set up in its cache at every step, so recomputing a hash from
 * the words each time would make every step cost O(size / 32). Instead the hash is
 * a Zobrist hash: the XOR of a fixed pseudo-random word per set bit, so setting or
 * clearing a bit is one XOR either way.
 */
import { assert } from '../core/assert.js';

export class Bitset {
  readonly size: number;
  private readonly words: Uint32Array;
  private zobrist = 0;

  constructor(size: number) {
    assert(Number.isSafeInteger(size) && size >= 0, () => `a bitset size must be a non-negative integer, got ${size}`);
    this.size = size;
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  has(index: number): boolean {
    this.checkIndex(index);
    return ((this.words[index >>> 5] as number) & (1 << (index & 31))) !== 0;
  }

  set(index: number): void {
    assert(!this.has(index), () => `bit ${index} is already set`);
    this.words[index >>> 5] = (this.words[index >>> 5] as number) | (1 << (index & 31));
    this.zobrist ^= bitHash(index);
  }

  clear(index: number): void {
    assert(this.has(index), () => `bit ${index} is already clear`);
    this.words[index >>> 5] = (this.words[index >>> 5] as number) & ~(1 << (index & 31));
    this.zobrist ^= bitHash(index);
  }

  /** A 32-bit hash of the set bits; equal sets always have equal hashes. */
  hash(): number {
    return this.zobrist >>> 0;
  }

  /** An immutable copy of the words, for storing in a cache. */
  snapshot(): Uint32Array {
    return this.words.slice();
  }

  equalsSnapshot(snapshot: Uint32Array): boolean {
    if (snapshot.length !== this.words.length) return false;
    for (let i = 0; i < snapshot.length; i++) {
      if (snapshot[i] !== this.words[i]) return false;
    }
    return true;
  }

  private checkIndex(index: number): void {
    assert(Number.isInteger(index) && index >= 0 && index < this.size, () => `bit ${index} is outside 0..${this.size - 1}`);
  }
}

/**
 * The Zobrist word for a bit: splitmix32 of the index. A function of the index
 * alone, so no table is needed and hashes agree across bitsets of any size.
 */
function bitHash(index: number): number {
  let z = Math.imul(index + 1, 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}
