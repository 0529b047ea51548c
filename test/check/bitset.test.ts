import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Bitset } from '../../src/check/bitset.js';

describe('Bitset', () => {
  it('hashes by content, whatever order bits were set and cleared in', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 99 }), { maxLength: 40 }), (indexes) => {
        const forward = new Bitset(100);
        const backward = new Bitset(100);
        for (const index of indexes) forward.set(index);
        for (const index of [...indexes].reverse()) backward.set(index);
        // A bit set and cleared again must leave no trace in the hash.
        const unused = [...Array(100).keys()].find((index) => !indexes.includes(index)) ?? 0;
        backward.set(unused);
        backward.clear(unused);
        assert.equal(forward.hash(), backward.hash());
        assert.ok(forward.equalsSnapshot(backward.snapshot()));
        for (let i = 0; i < 100; i++) assert.equal(forward.has(i), indexes.includes(i));
      }),
      { numRuns: 100 },
    );
  });

  it('tells different sets apart by snapshot', () => {
    const a = new Bitset(64);
    const b = new Bitset(64);
    a.set(40);
    assert.ok(!b.equalsSnapshot(a.snapshot()));
    b.set(40);
    assert.ok(b.equalsSnapshot(a.snapshot()));
    assert.throws(() => a.set(40), /already set/);
    assert.throws(() => a.has(64), /outside/);
  });
});
