/**
 * Put with prev_kv, ignore_value and ignore_lease; DeleteRange with prev_kv;
 * and their errors with etcd's exact texts and codes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KvOutput, PutRequest } from '../../src/kv/types.js';
import { b, Harness, plain, plainAll } from './helpers.js';

function expectError(output: KvOutput, kind: string, message: string, status: string): void {
  assert.equal(output.type, 'error');
  if (output.type !== 'error') return;
  assert.deepEqual([output.error.kind, output.error.message, output.error.status], [kind, message, status]);
}

describe('put', () => {
  it('prev_kv returns the pair the put replaced, null for a new key, and nothing unless asked', () => {
    const h = new Harness();
    const first = h.expect({ type: 'put', request: { key: b('k'), value: b('1'), prevKv: true } }, 'put');
    assert.equal(first.response.prevKv, null);
    const second = h.expect({ type: 'put', request: { key: b('k'), value: b('2'), prevKv: true } }, 'put');
    assert.deepEqual(second.response.prevKv && plain(second.response.prevKv), { key: 'k', value: '1', create: 2, mod: 2, version: 1, lease: 0 });
    const third = h.expect({ type: 'put', request: { key: b('k'), value: b('3') } }, 'put');
    assert.equal(third.response.prevKv, null);
  });

  it('ignore_value keeps the stored value and takes the new lease', () => {
    const h = new Harness();
    h.grant(7, 60, 0);
    h.put('k', 'kept');
    h.expect({ type: 'put', request: { key: b('k'), ignoreValue: true, lease: 7 } }, 'put');
    assert.deepEqual(h.get('k'), { key: 'k', value: 'kept', create: 2, mod: 3, version: 2, lease: 7 });
  });

  it('ignore_lease keeps the attached lease and takes the new value', () => {
    const h = new Harness();
    h.grant(7, 60, 0);
    h.put('k', 'old', 7);
    h.expect({ type: 'put', request: { key: b('k'), value: b('new'), ignoreLease: true } }, 'put');
    assert.deepEqual(h.get('k'), { key: 'k', value: 'new', create: 2, mod: 3, version: 2, lease: 7 });
    const ttl = h.machine.leaseTimeToLive({ id: 7, keys: true }, 0);
    assert.deepEqual(ttl.keys.map((key) => new TextDecoder().decode(key)), ['k']);
  });

  const refusals: { name: string; request: PutRequest; kind: string; message: string; status: string }[] = [
    { name: 'ignore_value on a missing key', request: { key: b('nope'), ignoreValue: true }, kind: 'key-not-found', message: 'etcdserver: key not found', status: 'InvalidArgument' },
    { name: 'ignore_lease on a missing key', request: { key: b('nope'), value: b('v'), ignoreLease: true }, kind: 'key-not-found', message: 'etcdserver: key not found', status: 'InvalidArgument' },
    { name: 'ignore_value with a value', request: { key: b('k'), value: b('v'), ignoreValue: true }, kind: 'value-provided', message: 'etcdserver: value is provided', status: 'InvalidArgument' },
    { name: 'ignore_lease with a lease', request: { key: b('k'), lease: 7, ignoreLease: true }, kind: 'lease-provided', message: 'etcdserver: lease is provided', status: 'InvalidArgument' },
    { name: 'a lease that does not exist', request: { key: b('k'), value: b('v'), lease: 99 }, kind: 'lease-not-found', message: 'etcdserver: requested lease not found', status: 'NotFound' },
    { name: 'an empty key', request: { key: new Uint8Array(0), value: b('v') }, kind: 'empty-key', message: 'etcdserver: key is not provided', status: 'InvalidArgument' },
  ];
  for (const { name, request, kind, message, status } of refusals) {
    it(`${name} is refused with "${message}" and changes nothing`, () => {
      const h = new Harness();
      h.grant(7, 60, 0);
      h.put('k', 'v');
      const before = h.machine.digest();
      expectError(h.apply({ type: 'put', request }), kind, message, status);
      assert.equal(h.machine.digest(), before);
      assert.equal(h.machine.currentRevision, 2);
    });
  }

  it('a put emits one PUT event carrying the new pair and the previous one', () => {
    const h = new Harness();
    h.put('k', '1');
    const output = h.put('k', '2');
    assert.equal(output.events.length, 1);
    const event = output.events[0];
    assert.ok(event !== undefined);
    assert.equal(event.type, 'PUT');
    assert.deepEqual(plain(event.kv), { key: 'k', value: '2', create: 2, mod: 3, version: 2, lease: 0 });
    assert.deepEqual(event.prevKv && plain(event.prevKv), { key: 'k', value: '1', create: 2, mod: 2, version: 1, lease: 0 });
  });
});

describe('delete range', () => {
  function fixture(): Harness {
    const h = new Harness();
    for (const key of ['a', 'b', 'ba', 'c']) h.put(key, key.toUpperCase());
    return h;
  }

  it('prev_kv returns the deleted pairs in key order and deleted counts them', () => {
    const h = fixture();
    const output = h.expect({ type: 'delete-range', request: { key: b('b'), rangeEnd: b('c'), prevKv: true } }, 'delete-range');
    assert.equal(output.response.deleted, 2);
    assert.deepEqual(plainAll(output.response.prevKvs).map((kv) => [kv.key, kv.value]), [['b', 'B'], ['ba', 'BA']]);
    assert.equal(output.response.header.revision, 6);
    assert.equal(h.get('b'), null);
    assert.equal(h.get('c')?.value, 'C');
  });

  it('without prev_kv the deleted pairs are not returned', () => {
    const h = fixture();
    const output = h.del('a', '\0');
    assert.equal(output.response.deleted, 4);
    assert.deepEqual(output.response.prevKvs, []);
  });

  it('a delete emits DELETE events whose kv holds only the key and the deleting revision, with the previous pair', () => {
    const h = fixture();
    const output = h.del('a');
    assert.equal(output.events.length, 1);
    const event = output.events[0];
    assert.ok(event !== undefined);
    assert.equal(event.type, 'DELETE');
    assert.deepEqual(plain(event.kv), { key: 'a', value: '', create: 0, mod: 6, version: 0, lease: 0 });
    assert.deepEqual(event.prevKv && plain(event.prevKv), { key: 'a', value: 'A', create: 2, mod: 2, version: 1, lease: 0 });
  });

  it('deleting a key with a lease detaches it from the lease', () => {
    const h = new Harness();
    h.grant(5, 60, 0);
    h.put('k', 'v', 5);
    h.del('k');
    assert.deepEqual(h.machine.leaseTimeToLive({ id: 5, keys: true }, 0).keys, []);
  });

  it('an empty key is refused', () => {
    const h = fixture();
    expectError(h.apply({ type: 'delete-range', request: { key: new Uint8Array(0) } }), 'empty-key', 'etcdserver: key is not provided', 'InvalidArgument');
  });
});
