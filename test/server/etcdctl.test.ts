// Debian's etcdctl against a Synod cluster: watch, lease, lock and elect, with
// competing etcdctl processes on different members, and the same commands
// side by side with a real etcd. Skips when etcdctl is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdProcess, etcdAvailable } from './etcd-process.js';
import { ETCDCTL_MISSING, EtcdctlProcess, etcdctl } from './etcdctl.js';
import { TestCluster } from './harness.js';

async function withCluster(size: number, body: (cluster: TestCluster, processes: EtcdctlProcess[]) => Promise<void>): Promise<void> {
  const cluster = await TestCluster.create(size);
  const processes: EtcdctlProcess[] = [];
  try {
    cluster.startAll();
    await cluster.leader();
    await body(cluster, processes);
  } finally {
    for (const process of processes) process.kill();
    await cluster.destroy();
  }
}

async function ok(endpoint: string, command: readonly string[]): Promise<string> {
  const result = await etcdctl(endpoint, command);
  assert.equal(result.code, 0, `etcdctl ${command.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

test('etcdctl watch --prefix with --prev-kv on a follower prints a concurrent writer\'s events, and --rev replays them', { timeout: 20_000, skip: ETCDCTL_MISSING }, async () => {
  await withCluster(3, async (cluster, processes) => {
    const leader = await cluster.leader();
    const follower = cluster.members.map((m) => m.name).find((name) => name !== leader) as string;
    const writer = cluster.endpoint(leader);
    const now = JSON.parse(await ok(writer, ['get', 'w/', '-w', 'json'])) as { header: { revision: number } };
    // etcdctl prints nothing once its watch is set up, so it starts at the next
    // revision explicitly: a write that wins the race comes from history.
    const from = `--rev=${now.header.revision + 1}`;
    const watch = EtcdctlProcess.start(cluster.endpoint(follower), ['watch', '--prefix', 'w/', '--prev-kv', from]);
    processes.push(watch);
    await ok(writer, ['put', 'w/a', '1']);
    await watch.waitForText('PUT\nw/a\n1\n');
    // The watch is live now; these arrive as they are applied on the follower.
    await ok(writer, ['put', 'w/a', '2']);
    await ok(writer, ['put', 'w/b', 'x']);
    await ok(writer, ['del', 'w/a']);
    await ok(writer, ['put', 'elsewhere', 'z']);
    const expected = 'PUT\nw/a\n1\nPUT\nw/a\n1\nw/a\n2\nPUT\nw/b\nx\nDELETE\nw/a\n2\nw/a\n\n';
    await watch.waitForText(expected);
    assert.equal(watch.stdout, expected);
    // The same events again from history, on another member.
    const replay = EtcdctlProcess.start(cluster.endpoint(leader), ['watch', '--prefix', 'w/', '--prev-kv', from]);
    processes.push(replay);
    await replay.waitForText(expected);
    assert.equal(replay.stdout, expected);
  });
});

test('etcdctl lease grant, keep-alive --once, timetolive --keys and revoke work, and revoking deletes the lease\'s keys', { timeout: 20_000, skip: ETCDCTL_MISSING }, async () => {
  await withCluster(3, async (cluster) => {
    const endpoint = cluster.endpoint('n2');
    const granted = await ok(endpoint, ['lease', 'grant', '10']);
    const match = /^lease ([0-9a-f]+) granted with TTL\(10s\)\n$/.exec(granted);
    assert.ok(match !== null, granted);
    const id = match[1] as string;
    assert.equal(await ok(endpoint, ['put', `--lease=${id}`, 'leased', 'v']), 'OK\n');
    assert.equal(await ok(cluster.endpoint('n3'), ['lease', 'keep-alive', '--once', id]), `lease ${id} keepalived with TTL(10)\n`);
    assert.match(await ok(endpoint, ['lease', 'timetolive', '--keys', id]), new RegExp(`^lease ${id} granted with TTL\\(10s\\), remaining\\((9|10)s\\), attached keys\\(\\[leased\\]\\)\n$`));
    assert.match(await ok(endpoint, ['lease', 'list']), new RegExp(`^found 1 leases\n${id}\n$`));
    assert.equal(await ok(endpoint, ['lease', 'revoke', id]), `lease ${id} revoked\n`);
    assert.equal(await ok(endpoint, ['get', 'leased']), '');
    assert.equal(await ok(endpoint, ['lease', 'timetolive', id]), `lease ${id} already expired\n`);
    const again = await etcdctl(endpoint, ['lease', 'keep-alive', '--once', id]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /etcdserver: requested lease not found/);
  });
});

test('two etcdctl lock processes on different members: the second runs its command only after the first has finished', { timeout: 20_000, skip: ETCDCTL_MISSING }, async () => {
  await withCluster(3, async (cluster, processes) => {
    const first = EtcdctlProcess.start(cluster.endpoint('n1'), ['lock', 'build', '--', 'sh', '-c', 'echo first-start; sleep 1.5; echo first-end']);
    processes.push(first);
    await first.waitForText('first-start\n');
    const second = EtcdctlProcess.start(cluster.endpoint('n2'), ['lock', 'build', '--', 'sh', '-c', 'echo "second-start $ETCD_LOCK_KEY"']);
    processes.push(second);
    assert.equal(await first.exited(), 0);
    assert.equal(await second.exited(), 0);
    const firstEnd = first.printedAt('first-end') as number;
    const secondStart = second.lines.find((line) => line.text.startsWith('second-start'));
    assert.ok(secondStart !== undefined, second.stdout);
    assert.match(secondStart.text, /^second-start build\/[0-9a-f]+$/);
    assert.ok(secondStart.at > firstEnd, 'the second command started after the first ended');
  });
});

test('a lock held by a killed etcdctl passes to the waiting one when the holder\'s lease expires', { timeout: 20_000, skip: ETCDCTL_MISSING }, async () => {
  await withCluster(3, async (cluster, processes) => {
    const holder = EtcdctlProcess.start(cluster.endpoint('n1'), ['lock', '--ttl=2', 'door']);
    processes.push(holder);
    await holder.waitForLines(1);
    assert.match(holder.lines[0]?.text ?? '', /^door\/[0-9a-f]+$/);
    const waiter = EtcdctlProcess.start(cluster.endpoint('n3'), ['lock', '--ttl=2', 'door']);
    processes.push(waiter);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(waiter.lines.length, 0, 'the waiter does not hold the lock while the holder lives');
    const killedAt = performance.now();
    holder.signal('SIGKILL');
    await waiter.waitForLines(1, 10_000);
    assert.match(waiter.lines[0]?.text ?? '', /^door\/[0-9a-f]+$/);
    assert.notEqual(waiter.lines[0]?.text, holder.lines[0]?.text);
    assert.ok((waiter.lines[0]?.at as number) - killedAt >= 1_000, 'the lock passed on only when the lease ran out');
  });
});

test('etcdctl elect: the second candidate leads once the first resigns, and etcdctl elect -l follows both', { timeout: 20_000, skip: ETCDCTL_MISSING }, async () => {
  await withCluster(3, async (cluster, processes) => {
    const first = EtcdctlProcess.start(cluster.endpoint('n1'), ['elect', 'chair', 'alice']);
    processes.push(first);
    await first.waitForLines(2);
    const firstKey = first.lines[0]?.text ?? '';
    assert.match(firstKey, /^chair\/[0-9a-f]+$/);
    assert.equal(first.lines[1]?.text, 'alice');
    const observer = EtcdctlProcess.start(cluster.endpoint('n3'), ['elect', '-l', 'chair']);
    processes.push(observer);
    await observer.waitForLines(2);
    assert.deepEqual(observer.lines.map((l) => l.text), [firstKey, 'alice']);
    const second = EtcdctlProcess.start(cluster.endpoint('n2'), ['elect', 'chair', 'bob']);
    processes.push(second);
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(second.lines.length, 0, 'bob waits while alice leads');
    // SIGTERM: etcdctl resigns and revokes its lease on the way out.
    first.signal('SIGTERM');
    await first.exited();
    await second.waitForLines(2);
    const secondKey = second.lines[0]?.text ?? '';
    assert.match(secondKey, /^chair\/[0-9a-f]+$/);
    assert.equal(second.lines[1]?.text, 'bob');
    await observer.waitForLines(4);
    assert.deepEqual(observer.lines.map((l) => l.text), [firstKey, 'alice', secondKey, 'bob']);
  });
});

/** One scripted etcdctl session; lease IDs are replaced by <id>. */
async function etcdctlTranscript(endpoint: string): Promise<string> {
  const out: string[] = [];
  const run = async (...command: string[]): Promise<void> => {
    const result = await etcdctl(endpoint, command);
    out.push(`$ etcdctl ${command.join(' ')}\n${result.stdout}${result.stderr.includes('Error:') ? result.stderr.slice(result.stderr.indexOf('Error:')) : ''}[exit ${result.code}]`);
  };
  await run('put', 'k', 'v1');
  await run('put', 'k', 'v2');
  await run('del', 'k');
  await run('put', 'k/x', 'y', '--prev-kv');
  const watch = EtcdctlProcess.start(endpoint, ['watch', '--prefix', 'k', '--rev=2', '--prev-kv']);
  try {
    await watch.waitForText('PUT\nk/x\ny\n');
  } finally {
    watch.kill();
  }
  out.push(`$ etcdctl watch --prefix k --rev=2 --prev-kv\n${watch.stdout}`);
  const grant = await etcdctl(endpoint, ['lease', 'grant', '30']);
  const id = /lease ([0-9a-f]+) granted/.exec(grant.stdout)?.[1] ?? 'none';
  out.push(grant.stdout);
  await run('put', `--lease=${id}`, 'leased', 'v');
  await run('lease', 'keep-alive', '--once', id);
  await run('lease', 'timetolive', '--keys', id);
  await run('lease', 'revoke', id);
  await run('get', 'leased');
  await run('lease', 'timetolive', id);
  await run('lease', 'revoke', id);
  await run('lock', 'mutex', '--', 'sh', '-c', 'echo "holding $ETCD_LOCK_KEY"');
  const elect = EtcdctlProcess.start(endpoint, ['elect', 'office', 'candidate']);
  try {
    await elect.waitForLines(2);
  } finally {
    elect.kill();
  }
  out.push(`$ etcdctl elect office candidate\n${elect.stdout}`);
  return out.join('\n').replace(/\b[0-9a-f]{8,}\b/g, '<id>').replace(/remaining\((9|10)s\)/g, 'remaining(~10s)').replace(/remaining\((29|30)s\)/g, 'remaining(~30s)');
}

test('etcdctl prints the same for Synod as for a real etcd: watch --rev --prev-kv, lease, lock and elect', { timeout: 40_000, skip: ETCDCTL_MISSING || (etcdAvailable() ? false : 'etcd is not installed') }, async () => {
  const etcd = await EtcdProcess.start();
  try {
    await withCluster(1, async (cluster) => {
      const [expected, actual] = await Promise.all([etcdctlTranscript(etcd.endpoint), etcdctlTranscript(cluster.endpoint('n1'))]);
      assert.equal(actual, expected);
    });
  } finally {
    await etcd.stop();
  }
});
