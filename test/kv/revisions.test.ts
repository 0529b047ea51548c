/**
 * Revision bookkeeping, as etcd's mvcc does it: the store starts at revision 1,
 * each mutating request adds exactly one, and each key carries create
 * revision, mod revision and version.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { b, Harness, plain } from './helpers.js';

describe('revision bookkeeping', () => {
  it('an empty store is at revision 1 with nothing compacted', () => {
    const h = new Harness();
    assert.equal(h.machine.currentRevision, 1);
    assert.equal(h.machine.compactRevision, 0);
    const result = h.machine.range({ key: b('\0'), rangeEnd: b('\0') });
    assert.ok(result.ok);
    assert.deepEqual(result.value, { header: { revision: 1 }, kvs: [], more: false, count: 0 });
  });

  it('put, put, delete, put: version counts puts per generation and restarts after the delete with a new create revision', () => {
    const h = new Harness();
    assert.equal(h.put('k', 'v1').response.header.revision, 2);
    assert.deepEqual(h.get('k'), { key: 'k', value: 'v1', create: 2, mod: 2, version: 1, lease: 0 });
    assert.equal(h.put('k', 'v2').response.header.revision, 3);
    assert.deepEqual(h.get('k'), { key: 'k', value: 'v2', create: 2, mod: 3, version: 2, lease: 0 });
    const deleted = h.del('k');
    assert.equal(deleted.response.deleted, 1);
    assert.equal(deleted.response.header.revision, 4);
    assert.equal(h.get('k'), null);
    assert.equal(h.put('k', 'v3').response.header.revision, 5);
    assert.deepEqual(h.get('k'), { key: 'k', value: 'v3', create: 5, mod: 5, version: 1, lease: 0 });
    // The old generation is still readable at its revisions.
    assert.deepEqual(h.get('k', 3), { key: 'k', value: 'v2', create: 2, mod: 3, version: 2, lease: 0 });
    assert.equal(h.get('k', 4), null);
  });

  it('a delete that deletes nothing does not move the revision', () => {
    const h = new Harness();
    h.put('a', '1');
    const output = h.del('missing');
    assert.equal(output.response.deleted, 0);
    assert.equal(output.response.header.revision, 2);
    assert.deepEqual(output.events, []);
    assert.equal(h.machine.currentRevision, 2);
  });

  it('a whole txn is one revision: every change in it gets the same mod revision, in sub-revision order', () => {
    const h = new Harness();
    h.put('x', 'old');
    const output = h.expect({
      type: 'txn',
      request: {
        success: [
          { type: 'put', request: { key: b('a'), value: b('1') } },
          { type: 'put', request: { key: b('b'), value: b('2') } },
          { type: 'delete-range', request: { key: b('x') } },
        ],
      },
    }, 'txn');
    assert.equal(output.response.header.revision, 3);
    assert.equal(h.machine.currentRevision, 3);
    assert.deepEqual(output.events.map((e) => [e.type, plain(e.kv).key, e.kv.modRevision]), [
      ['PUT', 'a', 3],
      ['PUT', 'b', 3],
      ['DELETE', 'x', 3],
    ]);
  });

  it('a txn that only reads does not move the revision', () => {
    const h = new Harness();
    h.put('a', '1');
    const output = h.expect({ type: 'txn', request: { success: [{ type: 'range', request: { key: b('a') } }] } }, 'txn');
    assert.equal(output.response.header.revision, 2);
    assert.equal(h.machine.currentRevision, 2);
  });

  it('compaction does not move the revision and refuses a revision at or below the last compaction or above the current one', () => {
    const h = new Harness();
    h.put('a', '1');
    h.put('a', '2');
    assert.equal(h.expect({ type: 'compact', request: { revision: 2 } }, 'compact').response.header.revision, 3);
    assert.equal(h.machine.compactRevision, 2);
    const again = h.apply({ type: 'compact', request: { revision: 2 } });
    assert.equal(again.type === 'error' && again.error.message, 'etcdserver: mvcc: required revision has been compacted');
    const future = h.apply({ type: 'compact', request: { revision: 4 } });
    assert.equal(future.type === 'error' && future.error.message, 'etcdserver: mvcc: required revision is a future revision');
    assert.equal(h.machine.currentRevision, 3);
  });

  it('compaction keeps the latest version of each key as of the compaction revision and drops keys deleted before it', () => {
    const h = new Harness();
    h.put('a', '1'); // 2
    h.put('a', '2'); // 3
    h.put('b', '1'); // 4
    h.del('b'); // 5
    h.put('c', '1'); // 6
    h.expect({ type: 'compact', request: { revision: 5 } }, 'compact');
    assert.deepEqual(h.get('a', 5), { key: 'a', value: '2', create: 2, mod: 3, version: 2, lease: 0 });
    assert.equal(h.get('b', 5), null);
    assert.equal(h.get('c', 5), null);
    assert.deepEqual(h.get('c', 6)?.value, '1');
    const old = h.machine.range({ key: b('a'), revision: 4 });
    assert.equal(!old.ok && old.error.kind, 'compacted');
  });
});
