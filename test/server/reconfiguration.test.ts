// Membership changes on real processes through etcdctl: a killed member is
// replaced by a fresh one (remove, add as learner, catch up, promote) while
// clients keep writing, and no acknowledged write is lost.
import { test } from 'node:test';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { ETCDCTL_MISSING, etcdctl } from './etcdctl.js';
import { TestCluster, until } from './harness.js';

interface MemberRow {
  id: string;
  status: string;
  name: string;
  peer: string;
  learner: boolean;
}

async function memberList(endpoint: string): Promise<MemberRow[]> {
  const result = await etcdctl(endpoint, ['member', 'list']);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout
    .trim()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [id, status, name, peer, , learner] = line.split(', ');
      return { id: id ?? '', status: status ?? '', name: name ?? '', peer: peer ?? '', learner: learner === 'true' };
    });
}

/** Writers that keep putting fresh keys (bounded in count and time) and record what was acknowledged. */
function startWriters(cluster: TestCluster, endpoints: string[], perWriterMax: number): { stop: () => Promise<string[]> } {
  let running = true;
  const acknowledged: string[] = [];
  const loops = endpoints.map(async (name, w) => {
    const client = cluster.client(name);
    const deadline = Date.now() + 60_000;
    for (let i = 0; running && i < perWriterMax && Date.now() < deadline; i += 1) {
      const key = `w${w}/k${i}`;
      try {
        await client.put(key, `v${i}`);
        acknowledged.push(key);
      } catch {
        // Unacknowledged writes may or may not have happened; only acknowledged ones are checked.
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return acknowledged;
    },
  };
}

test('a killed member is replaced by a fresh one through etcdctl while clients write; nothing acknowledged is lost', { skip: ETCDCTL_MISSING, timeout: 120_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    await cluster.leader();
    const writers = startWriters(cluster, ['n2', 'n3'], 2_000);
    await new Promise((resolve) => setTimeout(resolve, 500));

    await cluster.kill('n1');
    const before = await until('a member list without n1 answering', async () => {
      const rows = await memberList(cluster.endpoint('n2')).catch(() => undefined);
      return rows?.length === 3 ? rows : undefined;
    });
    const n1 = before.find((row) => row.name === 'n1');
    assert.ok(n1 !== undefined);
    const removed = await until('n1 removed', async () => {
      const result = await etcdctl(cluster.endpoint('n2'), ['member', 'remove', n1.id]);
      return result.code === 0 ? result : undefined;
    }, 30_000, 500);
    assert.match(removed.stdout, /removed from cluster/);

    const n4 = await cluster.addMember('n4');
    const added = await until('n4 added as a learner', async () => {
      const result = await etcdctl(cluster.endpoint('n3'), ['member', 'add', 'n4', '--learner', `--peer-urls=http://127.0.0.1:${n4.peerPort}`]);
      return result.code === 0 ? result : undefined;
    }, 30_000, 500);
    assert.match(added.stdout, /ETCD_INITIAL_CLUSTER_STATE="existing"/);
    cluster.start('n4', ['--initial-cluster-state', 'existing']);

    // The learner catches up and publishes its name; then it is promoted (refused until in sync).
    const learner = await until('n4 listed as a started learner', async () => {
      const rows = await memberList(cluster.endpoint('n2'));
      return rows.find((row) => row.name === 'n4' && row.status === 'started' && row.learner);
    }, 30_000, 250);
    await until('n4 promoted', async () => {
      const result = await etcdctl(cluster.endpoint('n2'), ['member', 'promote', learner.id]);
      return result.code === 0 ? result : undefined;
    }, 30_000, 500);

    const acknowledged = await writers.stop();
    assert.ok(acknowledged.length > 20, `only ${acknowledged.length} writes were acknowledged`);

    const after = await memberList(cluster.endpoint('n4'));
    assert.deepEqual(after.map((row) => `${row.name}:${row.learner}`).sort(), ['n2:false', 'n3:false', 'n4:false']);

    // Every acknowledged write is on the new member (linearizable reads go through the log).
    const fresh = cluster.client('n4');
    for (const key of acknowledged) assert.notEqual(await fresh.get(key), null, `acknowledged ${key} is missing on n4`);

    // The new configuration works without the old member: n2 down, n3 and n4 are a majority.
    await cluster.kill('n2');
    await until('a write with n2 down', async () => fresh.put('after', 'yes').then(() => true, () => undefined), 20_000, 200);
    assert.equal(await cluster.client('n3').get('after'), 'yes');

    // Replace n2 too, this time adding a voter directly: the new member learns
    // the configuration (with n4's derived id) from the log.
    const n2 = after.find((row) => row.name === 'n2');
    assert.ok(n2 !== undefined);
    await until('n2 removed', async () => ((await etcdctl(cluster.endpoint('n4'), ['member', 'remove', n2.id])).code === 0 ? true : undefined), 30_000, 500);
    const n5 = await cluster.addMember('n5');
    await until('n5 added', async () => {
      const result = await etcdctl(cluster.endpoint('n3'), ['member', 'add', 'n5', `--peer-urls=http://127.0.0.1:${n5.peerPort}`]);
      return result.code === 0 ? true : undefined;
    }, 30_000, 500);
    cluster.start('n5', ['--initial-cluster-state', 'existing']);
    await until('n5 serves the writes made before it joined', async () => ((await cluster.client('n5').get('after').catch(() => null)) === 'yes' ? true : undefined), 30_000, 250);
    const final = await until('n5 listed as a started voter', async () => {
      const rows = await memberList(cluster.endpoint('n5')).catch(() => undefined);
      return rows?.some((row) => row.name === 'n5' && row.status === 'started' && !row.learner) === true ? rows : undefined;
    }, 30_000, 250);
    assert.deepEqual(final.map((row) => row.name).sort(), ['n3', 'n4', 'n5']);
  } finally {
    await cluster.destroy();
  }
});

test('removing the leader hands leadership to a remaining member, and the removed process exits', { skip: ETCDCTL_MISSING, timeout: 60_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    const leader = await cluster.leader();
    const other = cluster.members.map((m) => m.name).find((name) => name !== leader) as string;
    await cluster.client(other).put('before', '1');
    const rows = await memberList(cluster.endpoint(other));
    const target = rows.find((row) => row.name === leader);
    assert.ok(target !== undefined);
    const removed = await etcdctl(cluster.endpoint(other), ['member', 'remove', target.id]);
    assert.equal(removed.code, 0, removed.stderr);
    const exit = await cluster.exited(leader, 15_000);
    assert.equal(exit.code, 0, `the removed member exits cleanly: ${exit.stderr}`);
    const remaining = cluster.members.map((m) => m.name).filter((name) => name !== leader);
    await until('a write after the hand-over', async () => cluster.client(other).put('after', '2').then(() => true, () => undefined), 15_000, 100);
    for (const name of remaining) assert.equal(await cluster.client(name).get('after'), '2');
    const listed = await memberList(cluster.endpoint(other));
    assert.deepEqual(listed.map((row) => row.name).sort(), remaining.sort());

    // The other member commands, and etcd's refusals.
    const mine = listed.find((row) => row.name === other) as MemberRow;
    const updated = await etcdctl(cluster.endpoint(other), ['member', 'update', mine.id, `--peer-urls=${mine.peer}`]);
    assert.equal(updated.code, 0, updated.stderr);
    const promoteVoter = await etcdctl(cluster.endpoint(other), ['member', 'promote', mine.id]);
    assert.notEqual(promoteVoter.code, 0);
    assert.match(promoteVoter.stderr, /can only promote a learner member/);
    const unknown = await etcdctl(cluster.endpoint(other), ['member', 'remove', '123456789abcdef']);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /member not found/);
    const duplicate = await etcdctl(cluster.endpoint(other), ['member', 'add', 'again', `--peer-urls=${mine.peer}`]);
    assert.notEqual(duplicate.code, 0);
    assert.match(duplicate.stderr, /Peer URLs already exists/);
  } finally {
    await cluster.destroy();
  }
});

test('a member restarted with a wiped data directory is refused by its peers until it is removed and added again', { skip: ETCDCTL_MISSING, timeout: 90_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    await cluster.leader();
    await cluster.client('n2').put('before', '1');
    const rows = await memberList(cluster.endpoint('n2'));
    const n1 = rows.find((row) => row.name === 'n1') as MemberRow;

    // Same flags, empty disk: it has forgotten its promises and votes.
    await cluster.stop('n1');
    rmSync(join(cluster.dir, 'n1'), { recursive: true, force: true });
    cluster.start('n1');
    await until('a peer refusing the wiped member', () => {
      const log = readFileSync(join(cluster.dir, 'n2.log'), 'utf8') + readFileSync(join(cluster.dir, 'n3.log'), 'utf8');
      return log.includes('refusing a member whose data directory was replaced') ? true : undefined;
    }, 15_000, 200);
    // It cannot be counted, so it cannot learn anything either; the others carry on.
    // (A put may time out while n2 and n3 elect a leader if n1 was leading.)
    await until('a write while the wiped member is refused', async () => cluster.client('n3').put('during', '2').then(() => true, () => undefined), 20_000, 100);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(await cluster.client('n1').get('before', true), null, 'the wiped member took part');

    // The way back: remove it, add it again (a new id), start it empty as joining.
    await cluster.stop('n1');
    rmSync(join(cluster.dir, 'n1'), { recursive: true, force: true });
    await until('n1 removed', async () => ((await etcdctl(cluster.endpoint('n2'), ['member', 'remove', n1.id])).code === 0 ? true : undefined), 30_000, 500);
    await until('n1 added again', async () => ((await etcdctl(cluster.endpoint('n2'), ['member', 'add', 'n1', `--peer-urls=${n1.peer}`])).code === 0 ? true : undefined), 30_000, 500);
    cluster.start('n1', ['--initial-cluster-state', 'existing']);
    await until('the new n1 caught up', async () => ((await cluster.client('n1').get('during', true).catch(() => null)) === '2' ? true : undefined), 30_000, 250);
    assert.equal(await cluster.client('n1').get('before'), '1');
  } finally {
    await cluster.destroy();
  }
});

test('a member removed while it was down learns it when it comes back, even from a snapshot, and exits', { skip: ETCDCTL_MISSING, timeout: 60_000 }, async () => {
  const cluster = await TestCluster.create(3, ['--snapshot-count', '16']);
  try {
    cluster.startAll();
    await cluster.leader();
    await cluster.client('n1').put('k', '0');
    const n3 = (await memberList(cluster.endpoint('n1'))).find((row) => row.name === 'n3') as MemberRow;
    await cluster.stop('n3');
    await until('n3 removed', async () => ((await etcdctl(cluster.endpoint('n1'), ['member', 'remove', n3.id])).code === 0 ? true : undefined), 30_000, 500);
    // Enough writes that the others compact the removal into a snapshot.
    for (let i = 0; i < 80; i += 1) await cluster.client('n1').put(`k${i}`, String(i));
    cluster.start('n3');
    const exit = await cluster.exited('n3', 20_000);
    assert.equal(exit.code, 0, exit.stderr);
    const log = readFileSync(join(cluster.dir, 'n3.log'), 'utf8');
    assert.match(log, /this member was removed from the cluster/);
  } finally {
    await cluster.destroy();
  }
});
