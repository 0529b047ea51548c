/**
 * Range requests under etcd's conventions: key spans, limit/more/count,
 * sorting, keys_only/count_only, past revisions, revision filters, errors.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RangeRequest, SortOrder, SortTarget } from '../../src/kv/types.js';
import { b, Harness, keysOf, plainAll } from './helpers.js';

/**
 * Final state: a{w create 2 mod 5 ver 2}, b{u 3 8 3}, c{x 4 4 1}, d{y 6 6 1};
 * at revision 4: a{z}, b{y}, c{x}.
 */
function fixture(): Harness {
  const h = new Harness();
  h.put('a', 'z'); // 2
  h.put('b', 'y'); // 3
  h.put('c', 'x'); // 4
  h.put('a', 'w'); // 5
  h.put('d', 'y'); // 6
  h.put('b', 'v'); // 7
  h.put('b', 'u'); // 8
  return h;
}

function range(h: Harness, request: RangeRequest) {
  const result = h.machine.range(request);
  assert.ok(result.ok, `range failed: ${result.ok ? '' : result.error.message}`);
  return result.value;
}

const ALL = { key: b('\0'), rangeEnd: b('\0') };

describe('range key spans', () => {
  it('an empty range_end reads the single key', () => {
    const h = fixture();
    assert.deepEqual(keysOf(range(h, { key: b('b') }).kvs), ['b']);
    assert.deepEqual(keysOf(range(h, { key: b('bb') }).kvs), []);
  });

  it('a prefix is the range [p, p+1)', () => {
    const h = new Harness();
    for (const key of ['fo', 'foo', 'foo/1', 'foo/2', 'fop', 'g']) h.put(key, '.');
    assert.deepEqual(keysOf(range(h, { key: b('foo'), rangeEnd: b('fop') }).kvs), ['foo', 'foo/1', 'foo/2']);
  });

  it('range_end "\\0" reads every key at or above key', () => {
    const h = fixture();
    assert.deepEqual(keysOf(range(h, { key: b('c'), rangeEnd: b('\0') }).kvs), ['c', 'd']);
  });

  it('key "\\0" with range_end "\\0" reads all keys', () => {
    const h = fixture();
    const response = range(h, ALL);
    assert.deepEqual(keysOf(response.kvs), ['a', 'b', 'c', 'd']);
    assert.equal(response.count, 4);
    assert.equal(response.header.revision, 8);
  });

  it('a range_end at or below key is an empty range', () => {
    const h = fixture();
    assert.deepEqual(range(h, { key: b('c'), rangeEnd: b('a') }).kvs, []);
    assert.deepEqual(range(h, { key: b('c'), rangeEnd: b('c') }).kvs, []);
  });

  it('an empty key is refused with etcd\'s empty-key error', () => {
    const h = fixture();
    const result = h.machine.range({ key: new Uint8Array(0) });
    assert.deepEqual(!result.ok && [result.error.message, result.error.status], ['etcdserver: key is not provided', 'InvalidArgument']);
  });
});

describe('range limit, more and count', () => {
  it('a limit below the match count sets more and count keeps the total', () => {
    const h = fixture();
    const response = range(h, { ...ALL, limit: 2 });
    assert.deepEqual(keysOf(response.kvs), ['a', 'b']);
    assert.equal(response.more, true);
    assert.equal(response.count, 4);
  });

  it('a limit equal to the match count does not set more', () => {
    const h = fixture();
    const response = range(h, { ...ALL, limit: 4 });
    assert.equal(response.kvs.length, 4);
    assert.equal(response.more, false);
  });

  it('limit applies after sorting: the first kvs of the sorted order, not of key order', () => {
    const h = fixture();
    const response = range(h, { ...ALL, limit: 2, sortTarget: 'MOD', sortOrder: 'DESCEND' });
    assert.deepEqual(keysOf(response.kvs), ['b', 'd']);
    assert.equal(response.more, true);
    assert.equal(response.count, 4);
  });

  it('count_only returns no kvs and the count of the range', () => {
    const h = fixture();
    const response = range(h, { key: b('b'), rangeEnd: b('\0'), countOnly: true });
    assert.deepEqual(response, { header: { revision: 8 }, kvs: [], more: false, count: 3 });
  });

  it('keys_only returns empty values and keeps every other field', () => {
    const h = fixture();
    const response = range(h, { key: b('a'), keysOnly: true });
    assert.deepEqual(plainAll(response.kvs), [{ key: 'a', value: '', create: 2, mod: 5, version: 2, lease: 0 }]);
    // The stored value is untouched.
    assert.deepEqual(h.get('a')?.value, 'w');
  });
});

describe('range sorting', () => {
  const cases: { target: SortTarget; order: SortOrder; keys: string[] }[] = [
    { target: 'KEY', order: 'NONE', keys: ['a', 'b', 'c', 'd'] },
    { target: 'KEY', order: 'ASCEND', keys: ['a', 'b', 'c', 'd'] },
    { target: 'KEY', order: 'DESCEND', keys: ['d', 'c', 'b', 'a'] },
    // Order NONE with a target other than KEY sorts ascending by it (etcd's default).
    { target: 'VERSION', order: 'NONE', keys: ['c', 'd', 'a', 'b'] },
    { target: 'VERSION', order: 'ASCEND', keys: ['c', 'd', 'a', 'b'] },
    { target: 'VERSION', order: 'DESCEND', keys: ['b', 'a', 'c', 'd'] },
    { target: 'CREATE', order: 'ASCEND', keys: ['a', 'b', 'c', 'd'] },
    { target: 'CREATE', order: 'DESCEND', keys: ['d', 'c', 'b', 'a'] },
    { target: 'MOD', order: 'ASCEND', keys: ['c', 'a', 'd', 'b'] },
    { target: 'MOD', order: 'DESCEND', keys: ['b', 'd', 'a', 'c'] },
    { target: 'VALUE', order: 'ASCEND', keys: ['b', 'a', 'c', 'd'] },
    { target: 'VALUE', order: 'DESCEND', keys: ['d', 'c', 'a', 'b'] },
  ];
  for (const { target, order, keys } of cases) {
    it(`sort target ${target} order ${order} gives ${keys.join(',')} (ties in key order)`, () => {
      const h = fixture();
      assert.deepEqual(keysOf(range(h, { ...ALL, sortTarget: target, sortOrder: order }).kvs), keys);
    });
  }
});

describe('range at a revision and revision filters', () => {
  it('reads at a past revision see that revision\'s values; the header carries the current revision', () => {
    const h = fixture();
    const response = range(h, { ...ALL, revision: 4 });
    assert.deepEqual(plainAll(response.kvs), [
      { key: 'a', value: 'z', create: 2, mod: 2, version: 1, lease: 0 },
      { key: 'b', value: 'y', create: 3, mod: 3, version: 1, lease: 0 },
      { key: 'c', value: 'x', create: 4, mod: 4, version: 1, lease: 0 },
    ]);
    assert.equal(response.count, 3);
    assert.equal(response.header.revision, 8);
  });

  it('min and max mod and create revisions filter the kvs but not the count', () => {
    const h = fixture();
    const keys = (extra: Partial<RangeRequest>) => keysOf(range(h, { ...ALL, ...extra }).kvs);
    assert.deepEqual(keys({ minModRevision: 5 }), ['a', 'b', 'd']);
    assert.deepEqual(keys({ maxModRevision: 5 }), ['a', 'c']);
    assert.deepEqual(keys({ minCreateRevision: 3 }), ['b', 'c', 'd']);
    assert.deepEqual(keys({ maxCreateRevision: 3 }), ['a', 'b']);
    assert.deepEqual(keys({ minModRevision: 5, maxCreateRevision: 3 }), ['a', 'b']);
    assert.equal(range(h, { ...ALL, minModRevision: 5 }).count, 4);
  });

  it('filters apply before the limit, so more reflects the filtered kvs', () => {
    const h = fixture();
    const response = range(h, { ...ALL, minModRevision: 5, limit: 2 });
    assert.deepEqual(keysOf(response.kvs), ['a', 'b']);
    assert.equal(response.more, true);
    const exact = range(h, { ...ALL, minModRevision: 5, limit: 3 });
    assert.equal(exact.more, false);
  });

  it('a revision above the current one fails with ErrFutureRev, OutOfRange', () => {
    const h = fixture();
    const result = h.machine.range({ key: b('a'), revision: 9 });
    assert.deepEqual(!result.ok && [result.error.kind, result.error.message, result.error.status, result.error.statusCode],
      ['future-revision', 'etcdserver: mvcc: required revision is a future revision', 'OutOfRange', 11]);
  });

  it('a revision below the compaction point fails with ErrCompacted, OutOfRange; the compaction point itself is readable', () => {
    const h = fixture();
    h.expect({ type: 'compact', request: { revision: 5 } }, 'compact');
    const result = h.machine.range({ key: b('a'), revision: 4 });
    assert.deepEqual(!result.ok && [result.error.kind, result.error.message, result.error.status],
      ['compacted', 'etcdserver: mvcc: required revision has been compacted', 'OutOfRange']);
    assert.deepEqual(keysOf(range(h, { ...ALL, revision: 5 }).kvs), ['a', 'b', 'c']);
  });

  it('a range applied through the log answers like the query and changes nothing', () => {
    const h = fixture();
    const before = h.machine.digest();
    const output = h.expect({ type: 'range', request: { ...ALL, limit: 1 } }, 'range');
    assert.deepEqual(output.response, range(h, { ...ALL, limit: 1 }));
    assert.deepEqual(output.events, []);
    assert.equal(h.machine.digest(), before);
  });
});
