/**
 * Leases: grant (deterministic IDs, minimum and maximum TTL), revoke (keys go
 * in one revision), expiry by command, renew, leader change, TTL queries.
 * Time is the `now` carried by commands, in milliseconds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { leaseIdCandidate } from '../../src/kv/leases.js';
import { b, Harness, keysOf } from './helpers.js';

const text = (bytes: readonly Uint8Array[]): string[] => bytes.map((x) => new TextDecoder().decode(x));

describe('lease grant', () => {
  it('ID 0 gets an ID every replica assigns alike: a non-zero safe integer, different on each grant', () => {
    const one = new Harness();
    const two = new Harness();
    const first = one.grant(0, 10, 0);
    assert.equal(two.grant(0, 10, 5_000), first);
    const second = one.grant(0, 10, 0);
    assert.notEqual(second, first);
    for (const id of [first, second]) assert.ok(Number.isSafeInteger(id) && id > 0);
    assert.equal(first, leaseIdCandidate(0));
  });

  it('an assigned ID skips one a client already took', () => {
    const h = new Harness();
    h.grant(leaseIdCandidate(0), 10, 0);
    assert.equal(h.grant(0, 10, 0), leaseIdCandidate(1));
  });

  it('a TTL below the minimum is raised to it (2 s by default, configurable)', () => {
    assert.equal(new Harness().expect({ type: 'lease-grant', request: { id: 1, ttl: 1 }, now: 0 }, 'lease-grant').response.ttl, 2);
    assert.equal(new Harness().expect({ type: 'lease-grant', request: { id: 1, ttl: -5 }, now: 0 }, 'lease-grant').response.ttl, 2);
    assert.equal(new Harness({ minLeaseTtlSeconds: 5 }).expect({ type: 'lease-grant', request: { id: 1, ttl: 3 }, now: 0 }, 'lease-grant').response.ttl, 5);
  });

  it('a TTL above etcd\'s maximum is refused with "etcdserver: too large lease TTL", OutOfRange', () => {
    const output = new Harness().apply({ type: 'lease-grant', request: { id: 1, ttl: 9_000_000_001 }, now: 0 });
    assert.deepEqual(output.type === 'error' && [output.error.message, output.error.status], ['etcdserver: too large lease TTL', 'OutOfRange']);
  });

  it('granting an existing ID is refused with "etcdserver: lease already exists", FailedPrecondition', () => {
    const h = new Harness();
    h.grant(7, 10, 0);
    const output = h.apply({ type: 'lease-grant', request: { id: 7, ttl: 10 }, now: 0 });
    assert.deepEqual(output.type === 'error' && [output.error.message, output.error.status], ['etcdserver: lease already exists', 'FailedPrecondition']);
  });

  it('a grant does not move the revision', () => {
    const h = new Harness();
    const output = h.expect({ type: 'lease-grant', request: { id: 3, ttl: 10 }, now: 0 }, 'lease-grant');
    assert.equal(output.response.header.revision, 1);
    assert.equal(h.machine.currentRevision, 1);
  });
});

describe('lease revoke and expiry', () => {
  function withKeys(): Harness {
    const h = new Harness();
    h.grant(1, 10, 0);
    h.grant(2, 10, 0);
    h.put('c', '1', 1); // 2
    h.put('a', '1', 1); // 3
    h.put('b', '1', 2); // 4
    return h;
  }

  it('revoke deletes every attached key in one revision, in key order, and the lease is gone', () => {
    const h = withKeys();
    const output = h.expect({ type: 'lease-revoke', request: { id: 1 } }, 'lease-revoke');
    assert.equal(output.response.header.revision, 5);
    assert.equal(h.machine.currentRevision, 5);
    assert.deepEqual(output.events.map((e) => [e.type, new TextDecoder().decode(e.kv.key), e.kv.modRevision]), [['DELETE', 'a', 5], ['DELETE', 'c', 5]]);
    assert.equal(h.get('a'), null);
    assert.equal(h.get('b')?.value, '1');
    assert.equal(h.machine.leaseTimeToLive({ id: 1 }, 0).ttl, -1);
  });

  it('revoking a lease without keys does not move the revision', () => {
    const h = new Harness();
    h.grant(1, 10, 0);
    assert.equal(h.expect({ type: 'lease-revoke', request: { id: 1 } }, 'lease-revoke').response.header.revision, 1);
  });

  it('revoking a missing lease is refused with "etcdserver: requested lease not found", NotFound', () => {
    const output = new Harness().apply({ type: 'lease-revoke', request: { id: 1 } });
    assert.deepEqual(output.type === 'error' && [output.error.message, output.error.status], ['etcdserver: requested lease not found', 'NotFound']);
  });

  it('a key put again without a lease is detached and survives the revoke', () => {
    const h = withKeys();
    h.put('a', '2');
    h.expect({ type: 'lease-revoke', request: { id: 1 } }, 'lease-revoke');
    assert.equal(h.get('a')?.value, '2');
  });

  it('expiredLeases lists the leases at or past their deadline, soonest first', () => {
    const h = new Harness();
    h.grant(1, 10, 1_000); // deadline 11 000
    h.grant(2, 5, 1_000); // deadline 6 000
    h.grant(3, 30, 1_000); // deadline 31 000
    assert.deepEqual(h.machine.expiredLeases(5_999), []);
    assert.deepEqual(h.machine.expiredLeases(6_000), [2]);
    assert.deepEqual(h.machine.expiredLeases(20_000), [2, 1]);
    assert.deepEqual(h.machine.expiredLeases(40_000, 2), [2, 1]);
  });

  it('an expire command revokes the listed leases that are past their deadline at its now, each in its own revision', () => {
    const h = withKeys(); // both leases: deadline 10 000
    h.grant(3, 60, 0);
    const output = h.expect({ type: 'lease-expire', ids: [2, 1, 3, 42], now: 10_000 }, 'lease-expire');
    assert.deepEqual(output.response.expired, [2, 1]);
    assert.deepEqual(output.events.map((e) => [new TextDecoder().decode(e.kv.key), e.kv.modRevision]), [['b', 5], ['a', 6], ['c', 6]]);
    assert.equal(h.machine.currentRevision, 6);
    assert.equal(h.machine.leaseTimeToLive({ id: 3 }, 10_000).ttl, 50);
  });

  it('a renewal ordered before the expire command saves the lease', () => {
    const h = withKeys();
    h.expect({ type: 'lease-renew', request: { id: 1 }, now: 9_000 }, 'lease-renew'); // deadline 19 000
    const output = h.expect({ type: 'lease-expire', ids: [1, 2], now: 10_000 }, 'lease-expire');
    assert.deepEqual(output.response.expired, [2]);
    assert.equal(h.get('a')?.value, '1');
  });
});

describe('lease renew, leader change and queries', () => {
  it('renew moves the deadline to now + TTL and answers the TTL', () => {
    const h = new Harness();
    h.grant(1, 10, 0);
    const output = h.expect({ type: 'lease-renew', request: { id: 1 }, now: 8_000 }, 'lease-renew');
    assert.deepEqual(output.response, { header: { revision: 1 }, id: 1, ttl: 10 });
    assert.deepEqual(h.machine.expiredLeases(17_999), []);
    assert.deepEqual(h.machine.expiredLeases(18_000), [1]);
  });

  it('renewing a missing lease, or one already past its deadline, is refused as not found', () => {
    const h = new Harness();
    h.grant(1, 10, 0);
    for (const [id, now] of [[2, 0], [1, 10_000]] as const) {
      const output = h.apply({ type: 'lease-renew', request: { id }, now });
      assert.equal(output.type === 'error' && output.error.kind, 'lease-not-found');
    }
  });

  it('leader-changed moves every deadline to at least now + extension + TTL, and never earlier', () => {
    const h = new Harness();
    h.grant(1, 10, 0); // deadline 10 000
    h.grant(2, 10, 50_000); // deadline 60 000, stamped by an old leader whose clock ran ahead
    h.expect({ type: 'leader-changed', now: 9_000, extendMs: 3_000 }, 'leader-changed');
    // Lease 1: 9 000 + 3 000 + 10 000; lease 2 keeps its later deadline.
    assert.deepEqual(h.machine.expiredLeases(21_999), []);
    assert.deepEqual(h.machine.expiredLeases(22_000), [1]);
    assert.deepEqual(h.machine.expiredLeases(59_999), [1]);
    assert.deepEqual(h.machine.expiredLeases(60_000), [1, 2]);
  });

  it('time-to-live reports truncated remaining seconds, the granted TTL and, when asked, the keys in order', () => {
    const h = new Harness();
    h.grant(1, 10, 0);
    h.put('z', '1', 1);
    h.put('m', '1', 1);
    const response = h.machine.leaseTimeToLive({ id: 1, keys: true }, 2_500);
    assert.deepEqual([response.ttl, response.grantedTtl, text(response.keys)], [7, 10, ['m', 'z']]);
    assert.deepEqual(h.machine.leaseTimeToLive({ id: 1 }, 2_500).keys, []);
  });

  it('time-to-live of a missing lease answers ttl -1 rather than an error, as etcd does', () => {
    assert.deepEqual(new Harness().machine.leaseTimeToLive({ id: 5, keys: true }, 0), { header: { revision: 1 }, id: 5, ttl: -1, grantedTtl: 0, keys: [] });
  });

  it('the lease list is ordered by deadline', () => {
    const h = new Harness();
    h.grant(1, 30, 0);
    h.grant(2, 10, 0);
    h.grant(3, 20, 0);
    assert.deepEqual(h.machine.leaseLeases().leases.map((lease) => lease.id), [2, 3, 1]);
  });

  it('keys attached to a lease are listed by a prefix range with their lease', () => {
    const h = new Harness();
    h.grant(4, 10, 0);
    h.put('p/1', 'x', 4);
    const result = h.machine.range({ key: b('p/'), rangeEnd: b('p0') });
    assert.ok(result.ok);
    assert.deepEqual([keysOf(result.value.kvs), result.value.kvs[0]?.lease], [['p/1'], 4]);
  });
});
