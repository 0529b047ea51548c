/**
 * The chunked ordered index against a plain sorted array: same contents and
 * same range walks after random inserts and deletes, across chunk splits and
 * merges. Also the request size bound built on the same byte conventions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkRequestSize, commandBytes, MAX_REQUEST_BYTES_DEFAULT } from '../../src/kv/limits.js';
import { SortedIndex } from '../../src/kv/sorted-index.js';
import { b } from './helpers.js';

type Step = { op: 'set'; key: string; value: number } | { op: 'delete'; key: string };

// Two-byte keys from a 40-letter alphabet: 1 600 possible keys, enough for several chunks.
const keyArbitrary = fc.tuple(fc.integer({ min: 0, max: 39 }), fc.integer({ min: 0, max: 39 }))
  .map(([x, y]) => String.fromCharCode(0x20 + x * 5, 0x20 + y * 5));
const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), key: keyArbitrary, value: fc.integer() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: keyArbitrary }) },
);

describe('sorted index', () => {
  it('agrees with a sorted array on contents, lookups and range walks after random sets and deletes', () => {
    fc.assert(
      fc.property(fc.array(stepArbitrary, { minLength: 1, maxLength: 3000, size: 'max' }), fc.array(fc.tuple(keyArbitrary, keyArbitrary), { maxLength: 10 }), (steps, ranges) => {
        const index = new SortedIndex<number>();
        const model = new Map<string, number>();
        for (const step of steps) {
          if (step.op === 'set') {
            index.set(step.key, step.value);
            model.set(step.key, step.value);
          } else {
            assert.equal(index.delete(step.key), model.delete(step.key));
          }
        }
        index.checkInvariants();
        const sorted = [...model.keys()].sort();
        assert.deepEqual(index.keys(), sorted);
        assert.equal(index.size, model.size);
        for (const key of sorted.slice(0, 50)) assert.equal(index.get(key), model.get(key));
        for (const [start, end] of ranges) {
          const walked: string[] = [];
          index.forEachInRange(start, end, (key) => {
            walked.push(key);
          });
          assert.deepEqual(walked, sorted.filter((key) => key >= start && key < end));
          const open: string[] = [];
          index.forEachInRange(start, null, (key) => {
            open.push(key);
            return open.length < 5;
          });
          assert.deepEqual(open, sorted.filter((key) => key >= start).slice(0, 5));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('splits into several chunks and merges them back as keys are deleted', () => {
    const index = new SortedIndex<number>();
    for (let i = 0; i < 5000; i += 1) index.set(String(i).padStart(5, '0'), i);
    index.checkInvariants();
    for (let i = 0; i < 5000; i += 2) index.delete(String(i).padStart(5, '0'));
    index.checkInvariants();
    assert.equal(index.size, 2500);
    assert.equal(index.get('00001'), 1);
    assert.equal(index.get('00002'), undefined);
  });
});

describe('request size bound', () => {
  it('a put with a value over 1.5 MiB is refused with "etcdserver: request is too large"; one well under it passes', () => {
    const big = { type: 'put', request: { key: b('k'), value: new Uint8Array(MAX_REQUEST_BYTES_DEFAULT) } } as const;
    assert.equal(checkRequestSize(big)?.message, 'etcdserver: request is too large');
    assert.equal(checkRequestSize({ type: 'put', request: { key: b('k'), value: new Uint8Array(1_000_000) } }), null);
  });

  it('a txn counts the bytes of every op in both branches', () => {
    const op = { type: 'put', request: { key: b('k'), value: new Uint8Array(1000) } } as const;
    const one = commandBytes({ type: 'txn', request: { success: [op] } });
    const three = commandBytes({ type: 'txn', request: { success: [op, op], failure: [op] } });
    assert.ok(three - one >= 2 * 1000, `${one} then ${three}`);
  });
});
