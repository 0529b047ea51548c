/**
 * Snapshots and digests: restore(snapshot()) reproduces the state (history,
 * compaction point, leases, ID seed) and the behaviour that follows; the
 * digest tells states apart; a malformed snapshot is refused with a clear
 * error and leaves the state alone. Snapshots are written in format 2
 * (binary); format 1 (JSON, from earlier versions) must still restore, under
 * the same validation rules.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { slot } from '../../src/core/ids.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';
import type { Change, KeyHistory } from '../../src/kv/mvcc-store.js';
import {
  bytesJsonReplacer,
  bytesJsonReviver,
  decodeKvSnapshot,
  encodeKvSnapshot,
  encodeKvSnapshotV1,
  SnapshotError,
  type KvSnapshotState,
} from '../../src/kv/snapshot.js';
import type { KvCommand } from '../../src/kv/types.js';
import { fuzzParameters, Tally } from '../fuzz/fuzz-options.js';
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

  it('a malformed format-1 snapshot is refused with a SnapshotError naming the fault, and the state is kept', () => {
    const h = populated();
    const before = h.machine.digest();
    const good = JSON.parse(new TextDecoder().decode(encodeKvSnapshotV1(decodeKvSnapshot(h.machine.snapshot())))) as Record<string, unknown>;
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
      for (const bytes of [encodeKvSnapshot(state), encodeKvSnapshotV1(state)]) {
        assert.throws(() => new KvStateMachine().restore(bytes), (e: unknown) => e instanceof SnapshotError && message.test(e.message), name);
      }
    }
  });

  it('outputs survive JSON with the bytes replacer and reviver', () => {
    const h = populated();
    const output = h.put('a', '3', 1);
    const text = JSON.stringify(output, bytesJsonReplacer);
    assert.deepEqual(JSON.parse(text, bytesJsonReviver), output);
  });
});

/** A format-2 snapshot from its bytes after the magic; every number in these fixtures is below 128, one varuint byte. */
const v2 = (...bytes: number[]): Uint8Array => Uint8Array.from([0x53, 0x4b, 0x56, 0x02, ...bytes]);

/** The state with one history changed: the encoder trusts its input, so it writes a broken field as readily as a valid one. */
function withHistory(state: KvSnapshotState, index: number, change: (history: KeyHistory) => KeyHistory): KvSnapshotState {
  return { ...state, histories: state.histories.map((history, i) => (i === index ? change(history) : history)) };
}

function withFirstPut(state: KvSnapshotState, change: (kv: NonNullable<Change['kv']>) => NonNullable<Change['kv']>): KvSnapshotState {
  return withHistory(state, 0, (history) => ({
    ...history,
    changes: history.changes.map((c, j) => (j === 0 && c.kv !== null ? { ...c, kv: change(c.kv) } : c)),
  }));
}

describe('snapshot format 2', () => {
  it('snapshots start with the format-2 magic, and decoding then encoding gives the same bytes', () => {
    const bytes = populated().machine.snapshot();
    assert.deepEqual([...bytes.subarray(0, 4)], [0x53, 0x4b, 0x56, 0x02]);
    assert.deepEqual(encodeKvSnapshot(decodeKvSnapshot(bytes)), bytes);
  });

  it('the layout: header, keys with their changes, then leases', () => {
    // revision 3, compact 0, seed 0; key "a": a put at 2 (value "x", create 2,
    // version 1, lease -5) and a tombstone at 3; lease -5 with TTL 2, deadline -3.
    const bytes = v2(3, 0, 0, 1, 1, 0x61, 2, 2, 0, 1, 1, 0x78, 2, 1, 1, 5, 3, 0, 0, 1, 1, 5, 2, 1, 3);
    const state = decodeKvSnapshot(bytes);
    assert.equal(state.currentRevision, 3);
    assert.deepEqual(state.leases, [{ id: -5, ttlSeconds: 2, deadlineMs: -3 }]);
    const [put, tombstone] = state.histories[0]?.changes ?? [];
    assert.deepEqual(put?.kv && { ...put.kv, key: [...put.kv.key], value: [...put.kv.value] },
      { key: [0x61], createRevision: 2, modRevision: 2, version: 1, value: [0x78], lease: -5 });
    assert.deepEqual(tombstone, { revision: 3, sub: 0, kv: null });
    assert.deepEqual(encodeKvSnapshot(state), bytes);
    const machine = new KvStateMachine();
    machine.restore(bytes);
    machine.checkInvariants();
  });

  it('negative lease IDs and deadlines, which commands allow, survive a snapshot', () => {
    const h = new Harness();
    assert.equal(h.grant(-5, 10, -1_000_000), -5);
    h.grant(-(2 ** 53 - 1), 10, Number.MIN_SAFE_INTEGER);
    h.put('a', '1', -5);
    const copy = new KvStateMachine();
    copy.restore(h.machine.snapshot());
    copy.checkInvariants();
    assert.equal(copy.digest(), h.machine.digest());
    assert.deepEqual(copy.leaseTimeToLive({ id: -5, keys: true }, 0), h.machine.leaseTimeToLive({ id: -5, keys: true }, 0));
  });

  it('decoded values are copies, so a restored store does not keep the snapshot alive', () => {
    const bytes = populated().machine.snapshot();
    for (const history of decodeKvSnapshot(bytes).histories) {
      assert.notEqual(history.keyBytes.buffer, bytes.buffer);
      for (const change of history.changes) if (change.kv !== null) assert.notEqual(change.kv.value.buffer, bytes.buffer);
    }
  });

  it('refuses each field that breaks a rule, as format 1 refuses the same state, with a SnapshotError naming it', () => {
    const state = decodeKvSnapshot(populated().machine.snapshot());
    const faults: [string, KvSnapshotState, RegExp][] = [
      ['revision 0', { ...state, currentRevision: 0 }, /revision/],
      ['compact above revision', { ...state, compactRevision: state.currentRevision + 1 }, /compactRevision is above revision/],
      ['keys out of order', { ...state, histories: [...state.histories].reverse() }, /keys\[1\] key is not above the previous key/],
      ['a repeated key', { ...state, histories: [state.histories[0] as KeyHistory, ...state.histories] }, /keys\[1\] key is not above/],
      ['an empty key', withHistory(state, 0, (h) => ({ ...h, key: '', keyBytes: new Uint8Array(0) })), /keys\[0\] key is empty/],
      ['a key without changes', withHistory(state, 0, (h) => ({ ...h, changes: [] })), /keys\[0\] has no changes/],
      ['a change at revision 1', withHistory(state, 0, (h) => ({ ...h, changes: h.changes.map((c) => ({ ...c, revision: 1 })) })), /keys\[0\] change 0 revision/],
      ['createRevision 1', withFirstPut(state, (kv) => ({ ...kv, createRevision: 1 })), /keys\[0\] change 0 createRevision/],
      ['version 0', withFirstPut(state, (kv) => ({ ...kv, version: 0 })), /keys\[0\] change 0 version/],
      ['lease ID 0', { ...state, leases: [{ id: 0, ttlSeconds: 5, deadlineMs: 0 }] }, /leases\[0\] id is 0/],
      ['leases out of order', { ...state, leases: [...state.leases].reverse() }, /leases\[1\] id is not above/],
      ['TTL 0', { ...state, leases: state.leases.map((l) => ({ ...l, ttlSeconds: 0 })) }, /leases\[0\] ttl/],
    ];
    for (const [name, fault, message] of faults) {
      assert.throws(() => decodeKvSnapshot(encodeKvSnapshot(fault)), (e: unknown) => e instanceof SnapshotError && message.test(e.message), `format 2: ${name}`);
      assert.throws(() => decodeKvSnapshot(encodeKvSnapshotV1(fault)), (e: unknown) => e instanceof SnapshotError && message.test(e.message), `format 1: ${name}`);
    }
  });

  it('refuses encodings that are not canonical or not complete, with a SnapshotError naming the field', () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['an unknown version', Uint8Array.from([0x53, 0x4b, 0x56, 0x03, 1, 0, 0, 0, 0]), /format version is 3/],
      ['the magic alone', Uint8Array.from([0x53, 0x4b, 0x56]), /format version/],
      ['a trailing byte', v2(1, 0, 0, 0, 0, 0), /trailing/],
      ['a non-minimal varint', v2(0x81, 0x00, 0, 0, 0, 0), /revision: non-minimal varint/],
      ['a flag other than 0 or 1', v2(2, 0, 0, 1, 1, 0x61, 1, 2, 0, 2, 0), /keys\[0\] change 0 flag is 2/],
      ['a sign byte other than 0 or 1', v2(1, 0, 0, 0, 1, 2, 5, 2, 0, 0), /leases\[0\] id: sign byte/],
      ['a negative zero', v2(1, 0, 0, 0, 1, 0, 5, 2, 1, 0), /leases\[0\] deadline: negative zero/],
      ['more keys than bytes', v2(1, 0, 0, 100, 0), /keys: 100 entries cannot fit/],
      ['a value longer than the rest', v2(2, 0, 0, 1, 1, 0x61, 1, 2, 0, 1, 50, 0), /keys\[0\] change 0: value/],
    ];
    for (const [name, bytes, message] of cases) {
      assert.throws(() => decodeKvSnapshot(bytes), (e: unknown) => e instanceof SnapshotError && message.test(e.message), name);
    }
  });

  it('every truncation of a snapshot is refused with a SnapshotError, and the state is kept', () => {
    const bytes = populated().machine.snapshot();
    const machine = new KvStateMachine();
    const before = machine.digest();
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(() => machine.restore(bytes.subarray(0, length)), SnapshotError, `first ${length} bytes`);
      assert.equal(machine.digest(), before);
    }
  });

  it('a snapshot with any one byte changed restores to a state that keeps the invariants and re-encodes to it, or is refused', () => {
    const bytes = populated().machine.snapshot();
    let refused = 0;
    let restored = 0;
    for (let offset = 0; offset < bytes.length; offset++) {
      for (const replace of [(x: number) => x ^ 0x01, (x: number) => x ^ 0x80, (x: number) => x + 1, () => 0x00, () => 0x7f, () => 0xff]) {
        const corrupt = bytes.slice();
        corrupt[offset] = replace(bytes[offset] as number) & 0xff;
        if (restoresOrRefuses(corrupt)) restored += 1;
        else refused += 1;
      }
    }
    assert.ok(refused > 0 && restored > 0, `${restored} restored, ${refused} refused`);
  });
});

/**
 * Restores `bytes` into a fresh machine: true if it restored (then the state
 * keeps the invariants and encodes back to `bytes`), false if it was refused
 * with a SnapshotError (then the machine is unchanged). Anything else fails.
 */
function restoresOrRefuses(bytes: Uint8Array): boolean {
  const machine = new KvStateMachine();
  const before = machine.digest();
  try {
    machine.restore(bytes);
  } catch (error) {
    assert.ok(error instanceof SnapshotError, `restore threw ${String(error)}`);
    assert.equal(machine.digest(), before);
    return false;
  }
  machine.checkInvariants();
  assert.deepEqual(machine.snapshot(), bytes);
  return true;
}

describe('snapshot format 1 (JSON, written by earlier versions)', () => {
  it('a hand-written format-1 snapshot restores to the state that produced it', () => {
    const h = new Harness();
    h.grant(7, 10, 0);
    h.put('a', '1');
    h.put('b', 'x');
    h.put('a', '2', 7);
    h.del('b');
    const json = '{"format":"synod-kv/1","revision":5,"compactRevision":0,"leaseIdSeed":0,'
      + '"keys":[["YQ==",[[2,0,"MQ==",2,1,0],[4,0,"Mg==",2,2,7]]],["Yg==",[[3,0,"eA==",3,1,0],[5,0,null,0,0,0]]]],'
      + '"leases":[[7,10,10000]]}';
    const copy = new KvStateMachine();
    copy.restore(new TextEncoder().encode(json));
    copy.checkInvariants();
    assert.equal(copy.digest(), h.machine.digest());
    assert.deepEqual(copy.snapshot(), h.machine.snapshot());
  });

  it('a format-1 snapshot of a populated store restores to the same digest and writes the same format-2 snapshot', () => {
    const original = populated().machine;
    const copy = new KvStateMachine();
    copy.restore(encodeKvSnapshotV1(decodeKvSnapshot(original.snapshot())));
    copy.checkInvariants();
    assert.equal(copy.digest(), original.digest());
    assert.deepEqual(copy.snapshot(), original.snapshot());
  });
});

// ------------------------------------------------------------------ properties

const MAX = Number.MAX_SAFE_INTEGER;
const keyArbitrary = fc.oneof(fc.constantFrom('a', 'b', 'c', 'lock/x').map(b), fc.uint8Array({ minLength: 1, maxLength: 3 }));
// Lease IDs mostly from a few small ones, so grants and puts meet; values on both sides of one varint byte of length.
const leaseIdArbitrary = fc.oneof({ arbitrary: fc.constantFrom(-2, -1, 1, 2), weight: 4 }, { arbitrary: fc.constantFrom(2 ** 40, -MAX, MAX), weight: 1 });
const valueArbitrary = fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 8 }), weight: 3 }, { arbitrary: fc.uint8Array({ minLength: 120, maxLength: 300 }), weight: 1 });
const clockArbitrary = fc.oneof(fc.integer({ min: -100_000, max: 100_000 }), fc.constantFrom(-MAX, 4_102_444_800_000));
const commandArbitrary: fc.Arbitrary<KvCommand> = fc.oneof(
  { arbitrary: fc.record({ key: keyArbitrary, value: valueArbitrary, lease: fc.oneof({ arbitrary: fc.constant(0), weight: 2 }, { arbitrary: leaseIdArbitrary, weight: 1 }) })
    .map((request): KvCommand => ({ type: 'put', request })), weight: 6 },
  { arbitrary: fc.record({ key: keyArbitrary, rangeEnd: fc.oneof(fc.constant(new Uint8Array(0)), fc.constant(Uint8Array.from([0])), keyArbitrary) })
    .map((request): KvCommand => ({ type: 'delete-range', request })), weight: 2 },
  { arbitrary: fc.record({ id: fc.oneof(fc.constant(0), leaseIdArbitrary), ttl: fc.integer({ min: 1, max: 100 }), now: clockArbitrary })
    .map(({ id, ttl, now }): KvCommand => ({ type: 'lease-grant', request: { id, ttl }, now })), weight: 2 },
  { arbitrary: leaseIdArbitrary.map((id): KvCommand => ({ type: 'lease-revoke', request: { id } })), weight: 1 },
  { arbitrary: fc.record({ ids: fc.array(leaseIdArbitrary, { maxLength: 3 }), now: clockArbitrary })
    .map(({ ids, now }): KvCommand => ({ type: 'lease-expire', ids, now })), weight: 1 },
  { arbitrary: fc.record({ now: clockArbitrary, extendMs: fc.integer({ min: 0, max: 10_000 }) })
    .map(({ now, extendMs }): KvCommand => ({ type: 'leader-changed', now, extendMs })), weight: 1 },
  { arbitrary: fc.integer({ min: 1, max: 12 }).map((revision): KvCommand => ({ type: 'compact', request: { revision } })), weight: 2 },
);
/** Two leases first (one with a negative ID), so random puts often attach to a lease that exists. */
const commandsArbitrary = fc.array(commandArbitrary, { minLength: 1, maxLength: 50 }).map((commands): KvCommand[] => [
  { type: 'lease-grant', request: { id: -1, ttl: 10 }, now: 0 },
  { type: 'lease-grant', request: { id: 2, ttl: 10 }, now: 0 },
  ...commands,
]);

/** A machine after `commands`, each applied in its own slot (refused ones leave the state alone). */
function machineAfter(commands: readonly KvCommand[]): KvStateMachine {
  const machine = new KvStateMachine();
  commands.forEach((command, i) => machine.apply(command, slot(i + 1)));
  machine.checkInvariants();
  return machine;
}

/** Counts what a generated state holds, so the test shows its states are not all empty. */
function describeState(state: KvSnapshotState, tally: Tally): void {
  const changes = state.histories.flatMap((history) => history.changes);
  if (changes.length > 0) tally.add('changes');
  if (changes.some((change) => change.kv === null)) tally.add('tombstones');
  if (changes.some((change) => (change.kv?.lease ?? 0) < 0)) tally.add('a key on a negative lease');
  if (changes.some((change) => (change.kv?.value.length ?? 0) >= 128)) tally.add('a value of 128 bytes or more');
  if (state.histories.some((history) => history.changes.length > 1)) tally.add('a key with history');
  if (state.compactRevision > 0) tally.add('compaction');
  if (state.leases.length > 0) tally.add('leases');
  if (state.leases.some((lease) => lease.deadlineMs < 0)) tally.add('a negative deadline');
}

describe('snapshot properties over random states', () => {
  it('random states round-trip exactly and encode canonically: encode(decode(x)) is x', (t) => {
    const tally = new Tally();
    fc.assert(
      fc.property(commandsArbitrary, (commands) => {
        const original = machineAfter(commands);
        const bytes = original.snapshot();
        describeState(decodeKvSnapshot(bytes), tally);
        assert.deepEqual(encodeKvSnapshot(decodeKvSnapshot(bytes)), bytes);
        const copy = new KvStateMachine();
        copy.restore(bytes);
        copy.checkInvariants();
        assert.equal(copy.digest(), original.digest());
        assert.deepEqual(copy.snapshot(), bytes);
        const fromV1 = new KvStateMachine();
        fromV1.restore(encodeKvSnapshotV1(decodeKvSnapshot(bytes)));
        assert.equal(fromV1.digest(), original.digest());
      }),
      fuzzParameters(200),
    );
    t.diagnostic(`states with: ${tally}`);
  });

  it('a truncated or corrupted snapshot of a random state restores to a valid state or is refused with a SnapshotError', (t) => {
    const tally = new Tally();
    fc.assert(
      fc.property(
        commandsArbitrary,
        fc.array(fc.record({ offset: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        (commands, corruptions, cut) => {
          const bytes = machineAfter(commands).snapshot();
          const corrupt = bytes.slice();
          for (const { offset, byte } of corruptions) corrupt[offset % corrupt.length] = byte;
          tally.add(restoresOrRefuses(corrupt) ? 'corrupted and restored' : 'corrupted and refused');
          assert.equal(restoresOrRefuses(bytes.subarray(0, cut % bytes.length)), false);
        },
      ),
      fuzzParameters(300),
    );
    t.diagnostic(`${tally}`);
  });
});

describe('a snapshot made in slices', () => {
  it('is the state it was started on, byte for byte, whatever is applied between its slices', async () => {
    const h = new Harness();
    h.grant(7, 30, 0);
    for (let i = 0; i < 200; i += 1) h.put(`k${i % 40}`, `v${i}-${'x'.repeat(i % 50)}`, i % 3 === 0 ? 7 : 0);
    h.del('k1');
    const expected = h.machine.snapshot();
    const digest = h.machine.digest();
    let turns = 0;
    // Between slices: overwrite and delete keys, add new ones, compact, revoke the lease.
    const sliced = await h.machine.snapshotInSlices(async () => {
      turns += 1;
      h.put(`k${turns % 40}`, `later-${turns}`);
      h.put(`new-${turns}`, 'n');
      if (turns % 5 === 0) h.del(`k${(turns + 3) % 40}`);
      if (turns === 3) h.expect({ type: 'compact', request: { revision: h.machine.currentRevision - 10 } }, 'compact');
      if (turns === 4) h.expect({ type: 'lease-revoke', request: { id: 7 } }, 'lease-revoke');
    }, 256);
    assert.ok(turns >= 10, `only ${turns} slices`);
    assert.deepEqual(sliced, expected);
    assert.notEqual(h.machine.digest(), digest, 'the machine moved on meanwhile');
    const restored = new KvStateMachine();
    restored.restore(sliced);
    assert.equal(restored.digest(), digest);
  });
});
