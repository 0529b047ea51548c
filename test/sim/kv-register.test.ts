// The simulator's register state machine: the semantics the linearizability
// checker assumes, snapshots, and the digest the cross-replica check relies on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slot } from '../../src/core/ids.js';
import { KvRegister, SnapshotFormatError } from '../../src/sim/kv-register.js';

const S = slot(1);

test('get, put and cas follow the register model: cas succeeds only on the expected value, null meaning absent', () => {
  const r = new KvRegister();
  assert.deepEqual(r.apply({ kind: 'get', key: 'x' }, S), { kind: 'get', value: null });
  assert.deepEqual(r.apply({ kind: 'cas', key: 'x', expected: 'a', value: 'b' }, S), { kind: 'cas', ok: false });
  assert.deepEqual(r.apply({ kind: 'cas', key: 'x', expected: null, value: 'a' }, S), { kind: 'cas', ok: true });
  assert.deepEqual(r.apply({ kind: 'cas', key: 'x', expected: null, value: 'z' }, S), { kind: 'cas', ok: false });
  assert.deepEqual(r.apply({ kind: 'put', key: 'x', value: 'c' }, S), { kind: 'put' });
  assert.deepEqual(r.apply({ kind: 'cas', key: 'x', expected: 'c', value: 'd' }, S), { kind: 'cas', ok: true });
  assert.equal(r.get('x'), 'd');
  assert.equal(r.applyCount, 6);
});

test('a snapshot restores an equal state with an equal digest on another instance', () => {
  const a = new KvRegister();
  a.apply({ kind: 'put', key: 'y', value: '1' }, S);
  a.apply({ kind: 'put', key: 'x', value: '2' }, S);
  const b = new KvRegister();
  b.apply({ kind: 'put', key: 'q', value: 'gone after restore' }, S);
  b.restore(a.snapshot());
  assert.equal(b.get('x'), '2');
  assert.equal(b.get('y'), '1');
  assert.equal(b.get('q'), null);
  assert.equal(b.digest(), a.digest());
});

test('the digest depends on the state only, not on the order of writes, and tells different states apart', () => {
  const a = new KvRegister();
  a.apply({ kind: 'put', key: 'x', value: '1' }, S);
  a.apply({ kind: 'put', key: 'y', value: '2' }, S);
  const b = new KvRegister();
  b.apply({ kind: 'put', key: 'y', value: 'old' }, S);
  b.apply({ kind: 'put', key: 'x', value: '1' }, S);
  assert.notEqual(b.digest(), a.digest());
  b.apply({ kind: 'put', key: 'y', value: '2' }, S);
  assert.equal(b.digest(), a.digest());
  assert.notEqual(new KvRegister().digest(), a.digest());
});

test('a malformed snapshot is refused with a typed error', () => {
  const r = new KvRegister();
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  assert.throws(() => r.restore(bytes('not json')), SnapshotFormatError);
  assert.throws(() => r.restore(bytes('{"entries": 3}')), SnapshotFormatError);
  assert.throws(() => r.restore(bytes('{"entries": [["x", 1]]}')), SnapshotFormatError);
});
