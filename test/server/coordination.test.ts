// Leases, locks and elections over real node processes, through raw gRPC:
// keep-alives through a follower, expiry seen by watchers on every member,
// lock and election queues across members, waiters that lose their lease or
// give up, and the answers side by side with a real etcd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type * as pb from '../../src/server/proto.js';
import { EtcdProcess, etcdAvailable } from './etcd-process.js';
import { EtcdGrpc, failure } from './etcd-grpc.js';
import { TestCluster, until } from './harness.js';

const B = (text: string): Buffer => Buffer.from(text);
const prefixEnd = (prefix: string): Buffer => {
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
};

/** Whether `promise` is still pending after `ms`. */
async function stillPending(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const marker = Symbol('pending');
  const outcome = await Promise.race([promise.then(() => 'settled', () => 'settled'), new Promise((resolve) => setTimeout(() => resolve(marker), ms))]);
  return outcome === marker;
}

test('a lease kept alive through a follower lives; once let go it expires and watchers on every member see its keys deleted at one revision', { timeout: 25_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    const leader = await cluster.leader();
    const follower = cluster.members.map((m) => m.name).find((name) => name !== leader) as string;
    const clients = cluster.members.map((m) => new EtcdGrpc(cluster.endpoint(m.name)));
    const onFollower = new EtcdGrpc(cluster.endpoint(follower));
    const granted = await onFollower.call<pb.LeaseGrantResponse>('Lease', 'LeaseGrant', { TTL: '2' });
    assert.equal(granted.TTL, '2');
    await onFollower.put('lease/a', '1', granted.ID);
    await onFollower.put('lease/b', '2', granted.ID);
    const watches = clients.map((client) => {
      const watch = client.watch();
      watch.create({ key: B('lease/'), range_end: prefixEnd('lease/') });
      return watch;
    });
    // Keep it alive for twice its TTL through the follower.
    const keepAlive = onFollower.keepAlive();
    for (let i = 0; i < 8; i += 1) {
      keepAlive.call.write({ ID: granted.ID });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    await keepAlive.responses.waitFor('eight renewals', (items) => items.length >= 8);
    assert.ok(keepAlive.responses.items.every((r) => r.ID === granted.ID && r.TTL === '2'), 'each renewal answers the granted TTL');
    const alive = await onFollower.call<pb.LeaseTimeToLiveResponse>('Lease', 'LeaseTimeToLive', { ID: granted.ID, keys: true });
    assert.deepEqual(alive.keys.map((k) => k.toString()), ['lease/a', 'lease/b']);
    assert.equal(alive.grantedTTL, '2');
    keepAlive.call.end();
    for (const watch of watches) await watch.responses.waitFor('the expiry deletes', () => watch.events().length >= 2, 8_000);
    const seen = watches.map((watch) => watch.events().map((e) => `${e.type} ${e.kv?.key.toString()} @${e.kv?.mod_revision}`));
    assert.equal(seen[0]?.length, 2);
    assert.ok(seen.every((events) => JSON.stringify(events) === JSON.stringify(seen[0])), `every member saw the same deletes: ${JSON.stringify(seen)}`);
    assert.ok(seen[0]?.every((e) => e.startsWith('DELETE') && e.endsWith((seen[0]?.[0] as string).split('@')[1] as string)), 'both keys went at one revision');
    const gone = await onFollower.call<pb.LeaseTimeToLiveResponse>('Lease', 'LeaseTimeToLive', { ID: granted.ID });
    assert.equal(gone.TTL, '-1');
    for (const watch of watches) watch.close();
    for (const client of clients) client.close();
    onFollower.close();
  } finally {
    await cluster.destroy();
  }
});

test('lease edge cases answer as etcd does: keep-alive of an unknown lease gets TTL 0, revoke twice is NotFound, an ID beyond 2^53 is InvalidArgument', { timeout: 20_000 }, async () => {
  const cluster = await TestCluster.create(1);
  try {
    cluster.start('n1');
    await cluster.leader();
    const client = new EtcdGrpc(cluster.endpoint('n1'));
    const keepAlive = client.keepAlive();
    keepAlive.call.write({ ID: '12345' });
    await keepAlive.responses.waitFor('the answer', (items) => items.length === 1);
    assert.equal(keepAlive.responses.items[0]?.TTL, '0');
    keepAlive.call.end();
    const granted = await client.call<pb.LeaseGrantResponse>('Lease', 'LeaseGrant', { TTL: '30', ID: '77' });
    assert.equal(granted.ID, '77');
    await client.put('r', 'v', '77');
    await client.call('Lease', 'LeaseRevoke', { ID: '77' });
    assert.deepEqual(await client.keys('r'), [], 'revoking deletes the attached key');
    assert.deepEqual(await failure(client.call('Lease', 'LeaseRevoke', { ID: '77' })), { code: grpc.status.NOT_FOUND, details: 'etcdserver: requested lease not found' });
    const beyond = await failure(client.call('Lease', 'LeaseGrant', { TTL: '10', ID: '9007199254740993' }));
    assert.equal(beyond.code, grpc.status.INVALID_ARGUMENT);
    const beyondKeepAlive = client.keepAlive();
    beyondKeepAlive.call.write({ ID: '9223372036854775807' });
    await beyondKeepAlive.responses.waitFor('the stream to fail', () => beyondKeepAlive.responses.error !== null);
    assert.equal(beyondKeepAlive.responses.error?.code, grpc.status.INVALID_ARGUMENT);
    client.close();
  } finally {
    await cluster.destroy();
  }
});

test('a lock waiting on another member is granted only once the holder unlocks, with a later create revision as its fencing token', { timeout: 20_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    await cluster.leader();
    const [a, b] = [new EtcdGrpc(cluster.endpoint('n1')), new EtcdGrpc(cluster.endpoint('n2'))] as [EtcdGrpc, EtcdGrpc];
    await a.call('Lease', 'LeaseGrant', { TTL: '30', ID: '10' });
    await a.call('Lease', 'LeaseGrant', { TTL: '30', ID: '11' });
    const first = await a.call<pb.LockResponse>('Lock', 'Lock', { name: B('job'), lease: '10' });
    assert.equal(first.key.toString(), 'job/a');
    const again = await a.call<pb.LockResponse>('Lock', 'Lock', { name: B('job'), lease: '10' });
    assert.equal(again.key.toString(), 'job/a', 'locking again with the same lease returns the held key at once');
    const second = b.call<pb.LockResponse>('Lock', 'Lock', { name: B('job'), lease: '11' }, 15_000);
    assert.ok(await stillPending(second, 700), 'the second contender waits');
    const unlocked = await a.call<pb.HeaderOnlyResponse>('Lock', 'Unlock', { key: first.key });
    const granted = await second;
    assert.equal(granted.key.toString(), 'job/b');
    assert.ok(Number(granted.header?.revision) >= Number(unlocked.header?.revision), 'granted no earlier than the unlock');
    const kvs = await b.call<pb.RangeResponse>('KV', 'Range', { key: B('job/'), range_end: prefixEnd('job/') });
    assert.deepEqual(kvs.kvs.map((kv) => kv.key.toString()), ['job/b']);
    assert.ok(Number(kvs.kvs[0]?.create_revision) > Number(first.header?.revision), 'the fencing token grows');
    a.close();
    b.close();
  } finally {
    await cluster.destroy();
  }
});

test('a lock waiter whose lease is revoked fails with "mutex: session is expired"; one whose client gives up leaves no key behind', { timeout: 20_000 }, async () => {
  const cluster = await TestCluster.create(1);
  try {
    cluster.start('n1');
    await cluster.leader();
    const client = new EtcdGrpc(cluster.endpoint('n1'));
    for (const id of ['20', '21', '22']) await client.call('Lease', 'LeaseGrant', { TTL: '30', ID: id });
    await client.call('Lock', 'Lock', { name: B('m'), lease: '20' });
    // failure() takes the rejection at once, so it is never unhandled meanwhile.
    const doomed = failure(client.call('Lock', 'Lock', { name: B('m'), lease: '21' }, 10_000));
    await until('the waiter to queue', async () => ((await client.keys('m/')).length === 2 ? true : undefined), 5_000, 50);
    await client.call('Lease', 'LeaseRevoke', { ID: '21' });
    assert.deepEqual(await doomed, { code: grpc.status.UNKNOWN, details: 'mutex: session is expired' });
    const abandoned = client.callCancelable('Lock', 'Lock', { name: B('m'), lease: '22' }, 10_000);
    await until('the second waiter to queue', async () => ((await client.keys('m/')).length === 2 ? true : undefined), 5_000, 50);
    const abandonedOutcome = failure(abandoned.result);
    abandoned.cancel();
    assert.equal((await abandonedOutcome).code, grpc.status.CANCELLED);
    await until('the abandoned key to go', async () => ((await client.keys('m/')).length === 1 ? true : undefined), 5_000, 50);
    assert.deepEqual(await client.keys('m/'), ['m/14']);
    assert.deepEqual(await failure(client.call('Lock', 'Lock', { name: B('m'), lease: '999' })), { code: grpc.status.UNKNOWN, details: 'etcdserver: requested lease not found' });
    client.close();
  } finally {
    await cluster.destroy();
  }
});

test('an election hands leadership over in campaign order; observers on every member see each leader and proclamation', { timeout: 20_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    await cluster.leader();
    const clients = cluster.members.map((m) => new EtcdGrpc(cluster.endpoint(m.name)));
    const [a, b] = clients as [EtcdGrpc, EtcdGrpc];
    assert.deepEqual(await failure(a.call('Election', 'Leader', { name: B('e') })), { code: grpc.status.UNKNOWN, details: 'election: no leader' });
    const observers = clients.map((client) => client.observe('e'));
    await a.call('Lease', 'LeaseGrant', { TTL: '30', ID: '30' });
    await a.call('Lease', 'LeaseGrant', { TTL: '30', ID: '31' });
    const won = await a.call<pb.CampaignResponse>('Election', 'Campaign', { name: B('e'), lease: '30', value: B('one') });
    assert.equal(won.leader?.key.toString(), 'e/1e');
    const waiting = b.call<pb.CampaignResponse>('Election', 'Campaign', { name: B('e'), lease: '31', value: B('two') }, 15_000);
    assert.ok(await stillPending(waiting, 500), 'the second candidate waits');
    await a.call('Election', 'Proclaim', { leader: won.leader, value: B('one-b') });
    const stale = { ...won.leader, rev: '1' };
    assert.deepEqual(await failure(a.call('Election', 'Proclaim', { leader: stale, value: B('x') })), { code: grpc.status.UNKNOWN, details: 'election: not leader' });
    const leader = await b.call<pb.LeaderResponse>('Election', 'Leader', { name: B('e') });
    assert.equal(leader.kv?.value.toString(), 'one-b');
    await a.call('Election', 'Resign', { leader: won.leader });
    const second = await waiting;
    assert.equal(second.leader?.key.toString(), 'e/1f');
    for (const observer of observers) {
      await observer.responses.waitFor('three leader values', (items) => items.length >= 3);
      assert.deepEqual(observer.responses.items.map((r) => `${r.kv?.key.toString()}=${r.kv?.value.toString()}`), ['e/1e=one', 'e/1e=one-b', 'e/1f=two']);
      observer.cancel();
    }
    for (const client of clients) client.close();
  } finally {
    await cluster.destroy();
  }
});

/** Assigned lease IDs replaced by placeholders (decimal and hex), and header fields the two servers legitimately differ in dropped. */
class Normalizer {
  private readonly names = new Map<string, string>();

  lease(id: string): void {
    if (!this.names.has(id)) this.names.set(id, `<lease${this.names.size + 1}>`);
  }

  text(value: unknown): string {
    let text = JSON.stringify(value, (key, v: unknown) => {
      if (key === 'cluster_id' || key === 'member_id' || key === 'raft_term') return undefined;
      if (v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer') return Buffer.from((v as { data: number[] }).data).toString();
      return v;
    });
    for (const [id, name] of this.names) {
      text = text.split(id).join(name).split(BigInt(id).toString(16)).join(name);
    }
    return text;
  }
}

async function coordinationTranscript(endpoint: string): Promise<string[]> {
  const client = new EtcdGrpc(endpoint);
  const normalizer = new Normalizer();
  const lines: string[] = [];
  const record = async (what: string, call: Promise<unknown>): Promise<unknown> => {
    let result: unknown;
    try {
      result = await call;
    } catch (error) {
      result = { code: (error as grpc.ServiceError).code, details: (error as grpc.ServiceError).details };
    }
    lines.push(`${what}: ${normalizer.text(result)}`);
    return result;
  };
  try {
    const assigned = (await client.call<pb.LeaseGrantResponse>('Lease', 'LeaseGrant', { TTL: '60' })).ID;
    normalizer.lease(assigned);
    lines.push(`assigned lease granted: ${normalizer.text(assigned)}`);
    await record('grant ttl 0 gets the minimum', client.call('Lease', 'LeaseGrant', { TTL: '0', ID: '101' }));
    await record('revoke it', client.call('Lease', 'LeaseRevoke', { ID: '101' }));
    await record('grant with id', client.call('Lease', 'LeaseGrant', { TTL: '30', ID: '100' }));
    await record('grant taken id', client.call('Lease', 'LeaseGrant', { TTL: '30', ID: '100' }));
    await record('grant huge ttl', client.call('Lease', 'LeaseGrant', { TTL: '9000000001' }));
    await record('grant negative id', client.call('Lease', 'LeaseGrant', { TTL: '20', ID: '-5' }));
    await record('put on lease', client.call('KV', 'Put', { key: B('lk'), value: B('v'), lease: '100' }));
    await record('put on unknown lease', client.call('KV', 'Put', { key: B('lk2'), value: B('v'), lease: '777' }));
    const ttl = await client.call<pb.LeaseTimeToLiveResponse>('Lease', 'LeaseTimeToLive', { ID: '100', keys: true });
    lines.push(`timetolive: granted ${ttl.grantedTTL}, keys ${ttl.keys.map(String).join(',')}, remaining within two seconds of 30: ${Number(ttl.TTL) >= 28 && Number(ttl.TTL) <= 30}`);
    await record('timetolive unknown', client.call('Lease', 'LeaseTimeToLive', { ID: '12345', keys: true }));
    await record('revoke unknown', client.call('Lease', 'LeaseRevoke', { ID: '12345' }));
    await record('leases, soonest expiry first', client.call('Lease', 'LeaseLeases', {}));
    await record('lock unknown lease', client.call('Lock', 'Lock', { name: B('L'), lease: '4242' }));
    await record('lock', client.call('Lock', 'Lock', { name: B('L'), lease: '100' }));
    await record('lock again', client.call('Lock', 'Lock', { name: B('L'), lease: '100' }));
    await record('unlock', client.call('Lock', 'Unlock', { key: B('L/64') }));
    await record('unlock missing', client.call('Lock', 'Unlock', { key: B('nope') }));
    await record('leader none', client.call('Election', 'Leader', { name: B('E') }));
    const won = (await record('campaign', client.call('Election', 'Campaign', { name: B('E'), lease: '100', value: B('one') }))) as pb.CampaignResponse;
    await record('campaign again, new value', client.call('Election', 'Campaign', { name: B('E'), lease: '100', value: B('two') }));
    await record('leader', client.call('Election', 'Leader', { name: B('E') }));
    const stale = { ...won.leader, rev: '2' };
    await record('proclaim', client.call('Election', 'Proclaim', { leader: won.leader, value: B('three') }));
    await record('proclaim stale', client.call('Election', 'Proclaim', { leader: stale, value: B('x') }));
    await record('proclaim without leader', client.call('Election', 'Proclaim', { value: B('x') }));
    await record('resign stale', client.call('Election', 'Resign', { leader: stale }));
    await record('resign', client.call('Election', 'Resign', { leader: won.leader }));
    await record('campaign unknown lease', client.call('Election', 'Campaign', { name: B('E'), lease: '999', value: B('z') }));
    await record('revoke', client.call('Lease', 'LeaseRevoke', { ID: '100' }));
    await record('keys left', client.call('KV', 'Range', { key: B('\0'), range_end: B('\0') }));
  } finally {
    client.close();
  }
  return lines;
}

test('lease, lock and election calls answer as a real etcd does, error codes and messages included', { timeout: 40_000, skip: etcdAvailable() ? false : 'etcd is not installed' }, async () => {
  const etcd = await EtcdProcess.start();
  const cluster = await TestCluster.create(1);
  try {
    cluster.start('n1');
    await cluster.leader();
    const [expected, actual] = await Promise.all([coordinationTranscript(etcd.endpoint), coordinationTranscript(cluster.endpoint('n1'))]);
    assert.deepEqual(actual, expected);
  } finally {
    await cluster.destroy();
    await etcd.stop();
  }
});
