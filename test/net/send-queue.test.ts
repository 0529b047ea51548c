/** The per-peer send queue's bounds and the reconnect backoff's range. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Backoff } from '../../src/net/backoff.js';
import { SendQueue } from '../../src/net/send-queue.js';

describe('SendQueue', () => {
  it('never holds more than messagesMax messages or bytesMax bytes, and drops the newest', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 120 }), fc.constant(-1)), { maxLength: 200 }),
        (messagesMax, bytesMax, operations) => {
          const queue = new SendQueue({ messagesMax, bytesMax });
          const model: number[] = [];
          let next = 0;
          for (const op of operations) {
            if (op === -1) {
              // take with a small budget
              const taken = queue.take(50).map((f) => f[0]);
              const expected = [];
              let bytes = 0;
              while (model.length > 0) {
                const size = model[0] as number;
                if (expected.length > 0 && bytes + size > 50) break;
                expected.push(model.shift());
                bytes += size;
              }
              assert.equal(taken.length, expected.length);
            } else {
              const frame = new Uint8Array(Math.max(1, op)).fill(next++ % 256);
              const fits = model.length < messagesMax && model.reduce((a, b) => a + b, 0) + frame.byteLength <= bytesMax;
              assert.equal(queue.push(frame), fits);
              if (fits) model.push(frame.byteLength);
            }
            assert.ok(queue.messages <= messagesMax && queue.bytes <= bytesMax);
            assert.equal(queue.messages, model.length);
            assert.equal(queue.bytes, model.reduce((a, b) => a + b, 0));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('takes frames oldest first, at least one even over budget', () => {
    const queue = new SendQueue({ messagesMax: 10, bytesMax: 1000 });
    for (const size of [300, 10, 10]) queue.push(new Uint8Array(size).fill(size % 256));
    assert.deepEqual(queue.take(100).map((f) => f.byteLength), [300]);
    assert.deepEqual(queue.take(100).map((f) => f.byteLength), [10, 10]);
    assert.deepEqual(queue.take(100), []);
    assert.equal(queue.bytes, 0);
  });
});

describe('Backoff', () => {
  it('stays within [minMs, maxMs], grows to the cap and starts over on reset', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: 40 }), (draws) => {
        let i = 0;
        const backoff = new Backoff({ minMs: 50, maxMs: 2_000 }, () => draws[i++ % draws.length] as number);
        for (let attempt = 0; attempt < 40; attempt++) {
          const delay = backoff.next();
          assert.ok(delay >= 50 && delay <= 2_000, `attempt ${attempt}: ${delay}`);
          if (attempt >= 6) assert.ok(delay >= 1_000, 'capped steps jitter within the upper half of the cap');
        }
      }),
      { numRuns: 200 },
    );
    const lowest = new Backoff({ minMs: 50, maxMs: 2_000 }, () => 0);
    assert.deepEqual(Array.from({ length: 8 }, () => lowest.next()), [50, 50, 100, 200, 400, 800, 1000, 1000]);
    lowest.reset();
    assert.equal(lowest.next(), 50);
    const highest = new Backoff({ minMs: 50, maxMs: 2_000 }, () => 0.999999);
    assert.deepEqual(Array.from({ length: 8 }, () => highest.next()), [50, 100, 200, 400, 800, 1600, 2000, 2000]);
  });
});
