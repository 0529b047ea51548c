// Read leases on real processes: a leader serves linearizable reads without a
// quorum round, and a leader frozen past its lease (SIGSTOP, as under a long
// pause) does not serve a stale value when it wakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, until, type NodeStatus } from './harness.js';

type LeaseStatus = NodeStatus & { readonly driver: { readonly reads: number; readonly leaseReads: number } };

async function leaseStatus(cluster: TestCluster, name: string): Promise<LeaseStatus> {
  return (await cluster.status(name)) as LeaseStatus;
}

test('a leader serves linearizable reads under its lease; with --no-read-lease every read takes a round', { timeout: 60_000 }, async () => {
  for (const leases of [true, false]) {
    const cluster = await TestCluster.create(3, leases ? [] : ['--no-read-lease']);
    try {
      cluster.startAll();
      const leader = await cluster.leader();
      await cluster.client(leader).put('k', 'v');
      for (let i = 0; i < 20; i += 1) assert.equal(await cluster.client(leader).get('k'), 'v');
      const { driver } = await leaseStatus(cluster, leader);
      assert.ok(driver.reads >= 20, `reads counted (${driver.reads})`);
      if (leases) assert.ok(driver.leaseReads >= 15, `most reads served under the lease (${driver.leaseReads} of ${driver.reads})`);
      else assert.equal(driver.leaseReads, 0);
    } finally {
      await cluster.destroy();
    }
  }
});

test('a leader frozen past its lease while the others elect a leader and write serves no stale read when it wakes', { timeout: 60_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    const old = await cluster.leader();
    await cluster.client(old).put('k', 'before');
    for (let i = 0; i < 5; i += 1) assert.equal(await cluster.client(old).get('k'), 'before');
    assert.ok((await leaseStatus(cluster, old)).driver.leaseReads > 0, 'the old leader held a lease');
    cluster.pause(old);
    const others = cluster.members.map((m) => m.name).filter((name) => name !== old);
    const next = await until(
      'a new leader among the others',
      async () => {
        const statuses = await Promise.all(others.map((name) => cluster.status(name)));
        return statuses.find((s) => s.role === 'leader')?.member;
      },
      15_000,
    );
    await cluster.client(next).put('k', 'after');
    // Sent while the old leader is frozen, so it waits in its socket with the
    // new leader's messages. Which the woken process handles first is up to
    // the kernel; in practice the peer messages came first, so this shows the
    // whole path on real processes, while the simulator's planted bug
    // lease-on-ticks is what shows that the lease must be timed by a clock.
    const read = cluster.client(old).get('k');
    cluster.resume(old);
    const outcome = await read.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if ('value' in outcome) assert.equal(outcome.value, 'after', 'a read on the woken leader reflects the write made while it was frozen');
    assert.equal(await cluster.client(old).get('k'), 'after');
  } finally {
    for (const member of cluster.members) cluster.resume(member.name);
    await cluster.destroy();
  }
});
