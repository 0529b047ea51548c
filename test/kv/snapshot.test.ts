/**
 * Snapshots and digests: restore(snapshot()) reproduces the state (history,
 * compaction point, leases, ID seed) and the behaviour that follows; the
 * digest tells states apart; a malformed snapshot is refused with a clear
 * error and leaves the state alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { slot } from '../../src/core/ids.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';
import type { KeyHistory } from '../../src/kv/mvcc-store.js';
import { bytesJsonReplacer, bytesJsonReviver, encodeKvSnapshot, SnapshotError, type KvSnapshotState } from '../../src/kv/snapshot.js';
import type { KvCommand } from '../../src/kv/types.js';
import { b, Harness } from './helpers.js';

function populated(): Harness {
  const h = new Harness();
  h.grant(1, 10, 0);
  h.grant(0, 20, 0);
  h.put('a', '1', 1);
  h.put('b', '1');
  h.put('a', '2', 1);
  h.del('b');
  h.put('c', '\u00ff\u0000bytes');
  h.expect({ type: 'compact', request: { revision: 3 } }, 'compact');
  h.put('d', '1');
  return h;
}

const followUp: KvCommand[] = [
  { type: 'lease-grant', request: { id: 0, ttl: 5 }, now: 1_000 },
  { type: 'put', request: { key: b('e'), value: b('1'), prevKv: true } },
  { type: 'lease-expire', ids: [1], now: 10_000 },
  { type: 'range', request: { key: b('\0'), rangeEnd: b('\0'), revision: 4 } },
  { type: 'compact', request: { revision: 6 } },
  { type: 'delete-range', request: { key: b('\0'), rangeEnd: b('\0'), prevKv: true } },
];

describe('snapshot and restore', () => {
  it('restore(snapshot()) gives the same digest, reads at past revisions and lease answers', () => {
    const original = populated().machine;
    const copy = new KvStateMachine();
    copy.restore(original.snapshot());
    copy.checkInvariants();
    assert.equal(copy.digest(), original.digest());
    assert.deepEqual(copy.snapshot(), original.snapshot());
    for (const revision of [3, 4, 5, 6, 7]) {
      const request = { key: b('\0'), rangeEnd: b('\0'), revision };
      assert.deepEqual(copy.range(request), original.range(request), `range at ${revision}`);
    }
    assert.deepEqual(copy.range({ key: b('a'), revision: 2 }), original.range({ key: b('a'), revision: 2 }));
    assert.deepEqual(copy.leaseLeases(), original.leaseLeases());
    assert.deepEqual(copy.leaseTimeToLive({ id: 1, keys: true }, 3_000), original.leaseTimeToLive({ id: 1, keys: true }, 3_000));
    assert.deepEqual(copy.watchEvents({ key: b('\0'), rangeEnd: b('\0'), startRevision: 3 }),
      original.watchEvents({ key: b('\0'), rangeEnd: b('\0'), startRevision: 3 }));
  });

  it('a restored machine answers every later command exactly as the original, lease IDs included', () => {
    const original = populated().machine;
    const copy = new KvStateMachine();
    copy.restore(original.snapshot());
    followUp.forEach((command, i) => {
      assert.deepEqual(copy.apply(command, slot(100 + i)), original.apply(command, slot(100 + i)), `command ${i}: ${command.type}`);
      assert.equal(copy.digest(), original.digest());
    });
  });

  it('the digest changes with any replicated change: a put, a lease deadline, a compaction', () => {
    const h = populated();
    const seen = new Set([h.machine.digest()]);
    h.put('z', '1');
    seen.add(h.machine.digest());
    h.expect({ type: 'lease-renew', request: { id: 1 }, now: 1_000 }, 'lease-renew');
    seen.add(h.machine.digest());
    h.expect({ type: 'compact', request: { revision: 5 } }, 'compact');
    seen.add(h.machine.digest());
    assert.equal(seen.size, 4);
  });

  it('a malformed snapshot is refused with a SnapshotError naming the fault, and the state is kept', () => {
    const h = populated();
    const before = h.machine.digest();
    const good = JSON.parse(new TextDecoder().decode(h.machine.snapshot())) as Record<string, unknown>;
    const bad: [string, unknown][] = [
      ['not JSON', '{'],
      ['wrong format', { ...good, format: 'other/1' }],
      ['revision not an integer', { ...good, revision: 1.5 }],
      ['compact above revision', { ...good, compactRevision: 99 }],
      ['keys out of order', { ...good, keys: [...(good.keys as unknown[])].reverse() }],
      ['a key on a missing lease', { ...good, leases: [] }],
      ['a gap in the revisions', { ...good, revision: (good.revision as number) + 1 }],
    ];
    for (const [name, shape] of bad) {
      const bytes = new TextEncoder().encode(typeof shape === 'string' ? shape : JSON.stringify(shape));
      assert.throws(() => h.machine.restore(bytes), SnapshotError, name);
      assert.equal(h.machine.digest(), before, name);
    }
  });

  it('a snapshot whose revisions cannot each have a change is refused before the store builds its revision log', () => {
    // The log has a slot per revision up to the highest change: built first,
    // a revision of 2^50 would take all memory before the invariants refused it.
    const far = 2 ** 50;
    const history = (revision: number): KeyHistory => ({
      key: 'a',
      keyBytes: b('a'),
      changes: [{ revision, sub: 0, kv: { key: b('a'), createRevision: revision, modRevision: revision, version: 1, value: b('1'), lease: 0 } }],
    });
    const cases: [string, KvSnapshotState, RegExp][] = [
      ['a change at 2^50', { currentRevision: far, compactRevision: 0, leaseIdSeed: 0, histories: [history(far)], leases: [] }, /revisions 2 to \d+ need a change each/],
      ['a change above the revision', { currentRevision: 3, compactRevision: 0, leaseIdSeed: 0, histories: [history(far)], leases: [] }, /above the store revision 3/],
    ];
    for (const [name, state, message] of cases) {
      assert.throws(() => new KvStateMachine().restore(encodeKvSnapshot(state)), (e: unknown) => e instanceof SnapshotError && message.test(e.message), name);
    }
  });

  it('outputs survive JSON with the bytes replacer and reviver', () => {
    const h = populated();
    const output = h.put('a', '3', 1);
    const text = JSON.stringify(output, bytesJsonReplacer);
    assert.deepEqual(JSON.parse(text, bytesJsonReviver), output);
  });
});
