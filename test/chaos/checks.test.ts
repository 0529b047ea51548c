/**
 * The chaos checks on hand-made histories: each catches the anomaly it is
 * for, and none flags a correct history. The reduction of unobserved
 * incomplete puts keeps the verdict of the full search.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Operation } from '../../src/check/history.js';
import { checkLinearizable } from '../../src/check/linearizability.js';
import { checkHistory, dropUnobservedIncompletePuts, findLostWrites } from '../../src/chaos/checks.js';
import { checkLockHolders, type LockHold } from '../../src/chaos/locks.js';

let nextId = 1;
function op(client: string, call: number, ret: number | undefined, input: Operation['input'], output?: Operation['output']): Operation {
  const operation: Operation = { id: nextId++, client, input, call };
  if (ret !== undefined) {
    operation.return = ret;
    operation.output = output;
  }
  return operation;
}

describe('lost writes', () => {
  it('flags an acknowledged write that finished before the final value was written... and was then lost', () => {
    const a = op('c1', 0, 10, { kind: 'put', key: 'k', value: 'a' }, { kind: 'put' });
    const b = op('c2', 20, 30, { kind: 'put', key: 'k', value: 'b' }, { kind: 'put' });
    const read = op('final', 100, 110, { kind: 'get', key: 'k' }, { kind: 'get', value: 'a' });
    const lost = findLostWrites([a, b, read], new Map([['k', read]]));
    assert.equal(lost.length, 1);
    assert.equal(lost[0]?.lost, b);
    assert.equal(checkHistory([a, b, read]).result.kind, 'violation');
  });

  it('does not flag concurrent writes or incomplete ones', () => {
    const a = op('c1', 0, 50, { kind: 'put', key: 'k', value: 'a' }, { kind: 'put' });
    const b = op('c2', 20, 30, { kind: 'put', key: 'k', value: 'b' }, { kind: 'put' });
    const c = op('c3', 60, undefined, { kind: 'put', key: 'k', value: 'c' });
    const read = op('final', 100, 110, { kind: 'get', key: 'k' }, { kind: 'get', value: 'a' });
    assert.deepEqual(findLostWrites([a, b, c, read], new Map([['k', read]])), []);
    assert.equal(checkHistory([a, b, c, read]).result.kind, 'ok');
  });

  it('flags every acknowledged write when the key is gone at the end', () => {
    const a = op('c1', 0, 10, { kind: 'cas', key: 'k', expected: null, value: 'a' }, { kind: 'cas', ok: true });
    const read = op('final', 100, 110, { kind: 'get', key: 'k' }, { kind: 'get', value: null });
    assert.equal(findLostWrites([a, read], new Map([['k', read]])).length, 1);
  });
});

describe('dropping unobserved incomplete puts', () => {
  it('removes only incomplete puts no read saw, on keys without cas', () => {
    const seen = op('a1', 0, undefined, { kind: 'put', key: 'k', value: 'seen' });
    const unseen = op('a2', 0, undefined, { kind: 'put', key: 'k', value: 'unseen' });
    const onCasKey = op('a3', 0, undefined, { kind: 'put', key: 'x', value: 'v' });
    const cas = op('a4', 1, 2, { kind: 'cas', key: 'x', expected: 'q', value: 'w' }, { kind: 'cas', ok: false });
    const read = op('a5', 5, 6, { kind: 'get', key: 'k' }, { kind: 'get', value: 'seen' });
    const reduced = dropUnobservedIncompletePuts([seen, unseen, onCasKey, cas, read]);
    assert.equal(reduced.removed, 1);
    assert.ok(!reduced.history.includes(unseen));
  });

  it('keeps the verdict of the full search on random small register histories', () => {
    const history = fc
      .array(
        fc.record({
          client: fc.integer({ min: 0, max: 2 }),
          write: fc.boolean(),
          value: fc.integer({ min: 0, max: 5 }),
          complete: fc.boolean(),
          length: fc.integer({ min: 1, max: 20 }),
          gap: fc.integer({ min: 0, max: 10 }),
        }),
        { maxLength: 9 },
      )
      .map((steps) => {
        // Each client issues operations one after another; an incomplete one ends its client.
        const clock = [0, 0, 0];
        const done = [false, false, false];
        const ops: Operation[] = [];
        let unique = 0;
        for (const step of steps) {
          if (done[step.client]) continue;
          const call = (clock[step.client] as number) + step.gap;
          const ret = call + step.length;
          clock[step.client] = ret;
          const client = `c${step.client}`;
          if (step.write) {
            unique += 1;
            const input = { kind: 'put' as const, key: 'k', value: `v${unique}` };
            if (step.complete) ops.push(op(client, call, ret, input, { kind: 'put' }));
            else {
              ops.push(op(client, call, undefined, input));
              done[step.client] = true;
            }
          } else {
            const value = step.value === 0 || unique === 0 ? null : `v${1 + (step.value % unique)}`;
            ops.push(op(client, call, ret, { kind: 'get', key: 'k' }, { kind: 'get', value }));
          }
        }
        return ops;
      });
    fc.assert(
      fc.property(history, (ops) => {
        const full = checkLinearizable(ops).kind;
        const reduced = checkLinearizable(dropUnobservedIncompletePuts(ops).history).kind;
        return full === reduced;
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('lock holders', () => {
  const hold = (client: string, token: number, acquiredMs: number, releaseCalledMs: number, release: LockHold['release'] = 'held'): LockHold => ({
    client,
    token,
    key: `lock/${client}`,
    acquiredMs,
    releaseCalledMs,
    releaseReturnedMs: releaseCalledMs + 1,
    release,
  });

  it('accepts holds that follow one another in token order', () => {
    assert.deepEqual(checkLockHolders([hold('a', 5, 0, 10), hold('b', 7, 12, 20), hold('c', 9, 21, 30)]), []);
  });

  it('flags a higher token acquired while a lower one provably still held the lock', () => {
    const anomalies = checkLockHolders([hold('a', 5, 0, 10), hold('b', 7, 8, 20)]);
    assert.equal(anomalies.length, 1);
    assert.equal(anomalies[0]?.kind, 'overlap');
  });

  it('flags a lower token acquired after a higher one (out of order), and duplicate tokens', () => {
    assert.equal(checkLockHolders([hold('b', 7, 0, 10), hold('a', 5, 12, 20)]).length, 1);
    assert.equal(checkLockHolders([hold('a', 5, 0, 10), hold('b', 5, 20, 30)])[0]?.kind, 'duplicate-token');
  });

  it('does not blame a holder whose lease ran out before its release', () => {
    assert.deepEqual(checkLockHolders([hold('a', 5, 0, 10, 'lost'), hold('b', 7, 8, 20)]), []);
  });
});
