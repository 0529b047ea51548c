// The `etcd3` npm client against a Synod cluster: KV and txn, leases with
// automatic keep-alive, prefix watchers, locks between two clients, and
// elections with observers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Etcd3, EtcdLockFailedError, type Campaign, type ElectionObserver } from 'etcd3';
import { TestCluster, until } from './harness.js';

async function withClients(size: number, body: (clients: Etcd3[], cluster: TestCluster) => Promise<void>): Promise<void> {
  const cluster = await TestCluster.create(size);
  const clients: Etcd3[] = [];
  try {
    cluster.startAll();
    await cluster.leader();
    for (const member of cluster.members) clients.push(new Etcd3({ hosts: `http://${cluster.endpoint(member.name)}`, dialTimeout: 2_000 }));
    await body(clients, cluster);
  } finally {
    for (const client of clients) client.close();
    await cluster.destroy();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('etcd3: put, get, prefix reads, delete and txn if/then/else', { timeout: 20_000 }, async () => {
  await withClients(1, async ([client]) => {
    const etcd = client as Etcd3;
    await etcd.put('fruit/apple').value('red');
    await etcd.put('fruit/banana').value('yellow');
    assert.equal(await etcd.get('fruit/apple').string(), 'red');
    assert.deepEqual(await etcd.getAll().prefix('fruit/').strings(), { 'fruit/apple': 'red', 'fruit/banana': 'yellow' });
    const swapped = await etcd.if('fruit/apple', 'Value', '==', 'red').then(etcd.put('fruit/apple').value('green')).else(etcd.get('fruit/apple')).commit();
    assert.equal(swapped.succeeded, true);
    const refused = await etcd.if('fruit/apple', 'Value', '==', 'red').then(etcd.put('fruit/apple').value('blue')).else(etcd.get('fruit/apple')).commit();
    assert.equal(refused.succeeded, false);
    assert.equal(refused.responses[0]?.response_range?.kvs[0]?.value.toString(), 'green');
    await etcd.delete().key('fruit/banana');
    assert.deepEqual(await etcd.getAll().prefix('fruit/').keys(), ['fruit/apple']);
  });
});

test('etcd3: a lease kept alive automatically outlives its TTL; revoking it deletes its keys', { timeout: 20_000 }, async () => {
  await withClients(3, async ([a, b]) => {
    const lease = (a as Etcd3).lease(2);
    let lost = false;
    lease.on('lost', () => (lost = true));
    await lease.put('session/a').value('here');
    const id = await lease.grant();
    // Twice the TTL: only the client's keep-alives keep the key.
    await sleep(4_500);
    assert.equal(lost, false);
    assert.equal(await (b as Etcd3).get('session/a').string(), 'here');
    const once = await lease.keepaliveOnce();
    assert.equal(once.TTL, '2');
    assert.equal(once.ID, id);
    await lease.revoke();
    assert.equal(await (b as Etcd3).get('session/a').string(), null);
  });
});

test('etcd3: a prefix watcher on another member receives put and delete events with their values', { timeout: 20_000 }, async () => {
  await withClients(3, async ([a, , c]) => {
    const watcher = await (c as Etcd3).watch().prefix('cfg/').create();
    const seen: string[] = [];
    watcher.on('put', (kv) => seen.push(`put ${kv.key.toString()}=${kv.value.toString()}`));
    watcher.on('delete', (kv) => seen.push(`delete ${kv.key.toString()}`));
    await (a as Etcd3).put('cfg/x').value('1');
    await (a as Etcd3).put('other').value('-');
    await (a as Etcd3).put('cfg/y').value('2');
    await (a as Etcd3).delete().key('cfg/x');
    await until('three events', () => (seen.length >= 3 ? true : undefined), 10_000, 20);
    assert.deepEqual(seen, ['put cfg/x=1', 'put cfg/y=2', 'delete cfg/x']);
    await watcher.cancel();
  });
});

test('etcd3: lock(x).do() on two clients never lets their critical sections overlap', { timeout: 20_000 }, async () => {
  await withClients(3, async ([a, b]) => {
    let inside = 0;
    let overlaps = 0;
    let entered = 0;
    let refusals = 0;
    const worker = async (client: Etcd3, rounds: number): Promise<void> => {
      for (let round = 0; round < rounds; ) {
        try {
          await client.lock('shared').ttl(5).do(async () => {
            inside += 1;
            if (inside > 1) overlaps += 1;
            entered += 1;
            await sleep(60);
            inside -= 1;
          });
          round += 1;
        } catch (error) {
          // etcd3's lock is a try-lock: it refuses while another client holds it.
          if (!(error instanceof EtcdLockFailedError)) throw error;
          refusals += 1;
          if (refusals > 500) throw new Error('too many refusals', { cause: error });
          await sleep(10);
        }
      }
    };
    await Promise.all([worker(a as Etcd3, 6), worker(b as Etcd3, 6)]);
    assert.equal(entered, 12);
    assert.equal(overlaps, 0);
    assert.ok(refusals > 0, 'the clients did contend');
  });
});

test('etcd3: election campaigns take turns, and an observer on another member follows the leader', { timeout: 20_000 }, async () => {
  await withClients(3, async ([a, b, c]) => {
    const observer: ElectionObserver = await (c as Etcd3).election('leadership', 5).observe();
    const changes: (string | undefined)[] = [];
    observer.on('change', (value) => changes.push(value));
    const first: Campaign = (a as Etcd3).election('leadership', 5).campaign('alice');
    await first.wait();
    assert.equal(await (b as Etcd3).election('leadership').leader(), 'alice');
    const second: Campaign = (b as Etcd3).election('leadership', 5).campaign('bob');
    let secondElected = false;
    second.on('elected', () => (secondElected = true));
    await sleep(500);
    assert.equal(secondElected, false, 'bob waits while alice leads');
    await first.proclaim('alice-2');
    await until('the proclamation to be observed', () => (observer.leader() === 'alice-2' ? true : undefined), 5_000, 20);
    await first.resign();
    await second.wait();
    await until('the observer to see bob', () => (observer.leader() === 'bob' ? true : undefined), 5_000, 20);
    assert.deepEqual(changes.filter((value) => value !== undefined), ['alice', 'alice-2', 'bob']);
    await second.resign();
    await observer.cancel();
  });
});
