/**
 * Watch support: events from a start revision, in revision order, with the
 * previous pair; the same events the applied commands returned; and the
 * compacted-start refusal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyInRange } from '../../src/kv/mvcc-store.js';
import type { Event, WatchRequest } from '../../src/kv/types.js';
import { b, Harness, plainEvent } from './helpers.js';

function history(): { h: Harness; emitted: Event[] } {
  const h = new Harness();
  const emitted: Event[] = [];
  emitted.push(...h.put('a', '1').events); // 2
  emitted.push(...h.put('b', '1').events); // 3
  emitted.push(...h.put('a', '2').events); // 4
  emitted.push(...h.del('a').events); // 5
  emitted.push(...h.expect({
    type: 'txn',
    request: { success: [{ type: 'put', request: { key: b('a'), value: b('3') } }, { type: 'put', request: { key: b('c'), value: b('1') } }] },
  }, 'txn').events); // 6
  return { h, emitted };
}

function events(h: Harness, request: WatchRequest): Event[] {
  const result = h.machine.watchEvents(request);
  assert.ok(result.ok, 'watch refused');
  return [...result.value.events];
}

describe('watch events', () => {
  it('a single-key watch from revision 2 replays every change of the key with its previous pair', () => {
    const { h } = history();
    assert.deepEqual(events(h, { key: b('a'), startRevision: 2 }).map(plainEvent), [
      { type: 'PUT', kv: { key: 'a', value: '1', create: 2, mod: 2, version: 1, lease: 0 }, prev: null },
      { type: 'PUT', kv: { key: 'a', value: '2', create: 2, mod: 4, version: 2, lease: 0 }, prev: { key: 'a', value: '1', create: 2, mod: 2, version: 1, lease: 0 } },
      { type: 'DELETE', kv: { key: 'a', value: '', create: 0, mod: 5, version: 0, lease: 0 }, prev: { key: 'a', value: '2', create: 2, mod: 4, version: 2, lease: 0 } },
      { type: 'PUT', kv: { key: 'a', value: '3', create: 6, mod: 6, version: 1, lease: 0 }, prev: null },
    ]);
  });

  it('a watch on all keys from revision 1 returns exactly the events the commands emitted, in order', () => {
    const { h, emitted } = history();
    assert.deepEqual(events(h, { key: b('\0'), rangeEnd: b('\0'), startRevision: 1 }), emitted);
  });

  it('a range watch from a later revision starts at that revision and keeps sub-revision order', () => {
    const { h } = history();
    assert.deepEqual(events(h, { key: b('a'), rangeEnd: b('d'), startRevision: 5 }).map((e) => [e.type, plainEvent(e).kv.key, e.kv.modRevision]), [
      ['DELETE', 'a', 5],
      ['PUT', 'a', 6],
      ['PUT', 'c', 6],
    ]);
  });

  it('a start of 0 or past the current revision has nothing to catch up on', () => {
    const { h } = history();
    assert.deepEqual(events(h, { key: b('a'), startRevision: 0 }), []);
    assert.deepEqual(events(h, { key: b('a'), startRevision: 7 }), []);
  });

  it('a start below the compaction point is refused with ErrCompacted', () => {
    const { h } = history();
    h.expect({ type: 'compact', request: { revision: 4 } }, 'compact');
    const result = h.machine.watchEvents({ key: b('a'), startRevision: 3 });
    assert.deepEqual(!result.ok && [result.error.kind, result.error.message], ['compacted', 'etcdserver: mvcc: required revision has been compacted']);
    assert.equal(h.machine.compactRevision, 4);
  });

  it('a start at the compaction point still gets every event of that revision with its previous pair', () => {
    const { h, emitted } = history();
    h.expect({ type: 'compact', request: { revision: 4 } }, 'compact');
    assert.deepEqual(events(h, { key: b('\0'), rangeEnd: b('\0'), startRevision: 4 }), emitted.slice(2));
  });

  it('keyInRange follows the range conventions for the watch hub', () => {
    assert.equal(keyInRange(b('a'), b('a')), true);
    assert.equal(keyInRange(b('ab'), b('a')), false);
    assert.equal(keyInRange(b('ab'), b('a'), b('b')), true);
    assert.equal(keyInRange(b('b'), b('a'), b('b')), false);
    assert.equal(keyInRange(b('zzz'), b('b'), b('\0')), true);
    assert.equal(keyInRange(b('a'), b('b'), b('\0')), false);
  });
});
