/**
 * The v3lock/election helpers against the real store: the first-created key
 * holds, each waiter waits on the key created just before its own, and a
 * revoked lease hands the lock on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeText } from '../../src/kv/bytes.js';
import {
  acquireTxn,
  contenderKey,
  contenderOrder,
  contenderPrefix,
  holder,
  holderRequest,
  lockState,
  predecessor,
  predecessorRequest,
  prefixRangeEnd,
} from '../../src/kv/lock-election.js';
import type { KeyValue } from '../../src/kv/types.js';
import { b, Harness, keysOf } from './helpers.js';

const NAME = b('job');

function contenders(h: Harness): KeyValue[] {
  const prefix = contenderPrefix(NAME);
  const result = h.machine.range({ key: prefix, rangeEnd: prefixRangeEnd(prefix) });
  assert.ok(result.ok);
  return [...result.value.kvs];
}

function acquire(h: Harness, lease: number): number {
  const output = h.expect({ type: 'txn', request: acquireTxn(NAME, lease) }, 'txn');
  const own = output.response.responses[0];
  if (own?.type === 'put') return output.response.header.revision;
  assert.ok(own?.type === 'range');
  return own.response.kvs[0]?.createRevision ?? 0;
}

describe('lock and election helpers', () => {
  it('prefixRangeEnd increments the last byte below 0xff and drops trailing 0xff bytes', () => {
    assert.deepEqual(prefixRangeEnd(b('a')), b('b'));
    assert.deepEqual(prefixRangeEnd(new Uint8Array([0x61, 0xff])), b('b'));
    assert.deepEqual(prefixRangeEnd(new Uint8Array([0xff, 0xff])), new Uint8Array([0]));
  });

  it('the contender key is <name>/<lease in lower-case hex>', () => {
    assert.equal(decodeText(contenderKey(NAME, 0x1f2e)), 'job/1f2e');
  });

  it('the first contender holds; each later one waits on the contender created just before it', () => {
    const h = new Harness();
    for (const lease of [0xa, 0xb, 0xc]) h.grant(lease, 30, 0);
    const revisions = [0xa, 0xb, 0xc].map((lease) => acquire(h, lease));
    const kvs = contenders(h);
    assert.equal(decodeText(holder(kvs)!.key), 'job/a');
    assert.deepEqual(keysOf(contenderOrder(kvs)), ['job/a', 'job/b', 'job/c']);
    assert.equal(lockState(kvs, contenderKey(NAME, 0xa)).phase, 'held');
    const second = lockState(kvs, contenderKey(NAME, 0xb));
    const third = lockState(kvs, contenderKey(NAME, 0xc));
    assert.ok(second.phase === 'waiting' && third.phase === 'waiting');
    assert.equal(decodeText(second.waitFor.key), 'job/a');
    assert.equal(decodeText(third.waitFor.key), 'job/b');
    assert.equal(predecessor(kvs, revisions[0]!), null);
  });

  it('the range requests find the same holder and predecessor as the helpers', () => {
    const h = new Harness();
    for (const lease of [0xa, 0xb, 0xc]) h.grant(lease, 30, 0);
    const revisions = [0xc, 0xa, 0xb].map((lease) => acquire(h, lease));
    const holderResult = h.machine.range(holderRequest(NAME));
    assert.ok(holderResult.ok);
    assert.deepEqual(keysOf(holderResult.value.kvs), ['job/c']);
    const waitResult = h.machine.range(predecessorRequest(NAME, revisions[2]!));
    assert.ok(waitResult.ok);
    assert.deepEqual(keysOf(waitResult.value.kvs), ['job/a']);
    assert.equal(decodeText(predecessor(contenders(h), revisions[2]!)!.key), 'job/a');
  });

  it('revoking the holder\'s lease hands the lock to the next contender; a contender whose key is gone has lost', () => {
    const h = new Harness();
    for (const lease of [0xa, 0xb, 0xc]) h.grant(lease, 30, 0);
    for (const lease of [0xa, 0xb, 0xc]) acquire(h, lease);
    h.expect({ type: 'lease-revoke', request: { id: 0xa } }, 'lease-revoke');
    const kvs = contenders(h);
    assert.equal(lockState(kvs, contenderKey(NAME, 0xb)).phase, 'held');
    const third = lockState(kvs, contenderKey(NAME, 0xc));
    assert.ok(third.phase === 'waiting' && decodeText(third.waitFor.key) === 'job/b');
    assert.equal(lockState(kvs, contenderKey(NAME, 0xa)).phase, 'lost');
  });

  it('a retried acquire with the same lease keeps its key and create revision', () => {
    const h = new Harness();
    h.grant(0xa, 30, 0);
    const first = acquire(h, 0xa);
    const retry = acquire(h, 0xa);
    assert.equal(retry, first);
    assert.equal(h.machine.currentRevision, 2);
  });
});
