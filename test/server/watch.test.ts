// The Watch service over real node processes: history and live events meet
// without a gap or a repeat, a client that reconnects with start_revision =
// last seen + 1 loses nothing, progress notifications, slow watchers, and the
// protocol details side by side with a real etcd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as pb from '../../src/server/proto.js';
import { EtcdProcess, etcdAvailable } from './etcd-process.js';
import { EtcdGrpc, type WatchSession } from './etcd-grpc.js';
import { TestCluster } from './harness.js';

const prefixEnd = (prefix: string): Buffer => {
  const end = Buffer.from(prefix);
  end[end.length - 1] = (end[end.length - 1] as number) + 1;
  return end;
};

/** An event as `<revision> <type> <key>=<value>`, for comparing sequences. */
const describe = (event: pb.Event): string => `${event.kv?.mod_revision} ${event.type} ${event.kv?.key.toString()}=${event.kv?.value.toString()}`;

async function follower(cluster: TestCluster): Promise<string> {
  const leader = await cluster.leader();
  return cluster.members.map((m) => m.name).find((name) => name !== leader) as string;
}

test('a watcher on a follower that reconnects with start_revision = last seen + 1 sees every event of a concurrent writer once, in order', { timeout: 30_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    const leader = await cluster.leader();
    const writer = new EtcdGrpc(cluster.endpoint(leader));
    const watcherClient = new EtcdGrpc(cluster.endpoint(await follower(cluster)));
    const written: string[] = [];
    const write = async (i: number): Promise<void> => {
      const key = `w/${i % 17}`;
      if (i % 7 === 6) {
        const response = await writer.call<pb.DeleteRangeResponse>('KV', 'DeleteRange', { key: Buffer.from(key) });
        if (response.deleted !== '0') written.push(`${response.header?.revision} DELETE ${key}=`);
        return;
      }
      const revision = await writer.put(key, `v${i}`);
      written.push(`${revision} PUT ${key}=v${i}`);
    };
    // History first: the watcher starts at the first of these writes, while more follow.
    for (let i = 0; i < 40; i += 1) await write(i);
    const firstRevision = Number((written[0] as string).split(' ')[0]);
    const writerDone = (async () => {
      for (let i = 40; i < 400; i += 1) await write(i);
    })();
    const seen: string[] = [];
    let start = firstRevision;
    for (let session = 0; session < 4; session += 1) {
      const watch: WatchSession = watcherClient.watch();
      watch.create({ key: Buffer.from('w/'), range_end: prefixEnd('w/'), start_revision: String(start) });
      if (session < 3) {
        // Cut the session mid-stream, while the writer goes on.
        await watch.responses.waitFor('60 events on the session', () => watch.events().length >= 60, 15_000);
      } else {
        await writerDone;
        await watch.responses.waitFor('the rest of the writes', () => seen.length + watch.events().length >= written.length, 15_000);
      }
      const events = watch.events();
      watch.close();
      seen.push(...events.map(describe));
      const last = events[events.length - 1];
      if (last !== undefined) start = Number(last.kv?.mod_revision) + 1;
    }
    await writerDone;
    assert.equal(written.length, new Set(written).size);
    assert.deepEqual(seen, written, 'the union of the sessions is exactly the writes, in revision order');
    writer.close();
    watcherClient.close();
  } finally {
    await cluster.destroy();
  }
});

test('progress_notify sends empty responses at the configured interval; a progress request answers watch_id -1; cancel answers canceled', { timeout: 20_000 }, async () => {
  const cluster = await TestCluster.create(1, ['--experimental-watch-progress-notify-interval', '300ms']);
  try {
    cluster.start('n1');
    await cluster.leader();
    const client = new EtcdGrpc(cluster.endpoint('n1'));
    const revision = await client.put('p', '1');
    const watch = client.watch();
    watch.create({ key: Buffer.from('p'), progress_notify: true });
    watch.create({ key: Buffer.from('q') });
    await watch.responses.waitFor('two progress notifications', (items) => items.filter((r) => r.watch_id === '0' && !r.created && r.events.length === 0).length >= 2, 5_000);
    const progress = watch.responses.items.filter((r) => r.watch_id === '0' && !r.created);
    assert.ok(progress.every((r) => r.header?.revision === String(revision) && !r.canceled), 'each carries the current revision');
    assert.equal(watch.responses.items.filter((r) => r.watch_id === '1' && !r.created).length, 0, 'no notifications for a watcher that did not ask');
    watch.requestProgress();
    await watch.responses.waitFor('the progress response', (items) => items.some((r) => r.watch_id === '-1'));
    assert.equal(watch.responses.items.find((r) => r.watch_id === '-1')?.header?.revision, String(revision));
    watch.cancelWatch('1');
    await watch.responses.waitFor('the cancel response', (items) => items.some((r) => r.watch_id === '1' && r.canceled));
    watch.close();
    client.close();
  } finally {
    await cluster.destroy();
  }
});

test('a watcher whose client stops reading is canceled with the revision to resume from, and resuming there loses nothing', { timeout: 25_000 }, async () => {
  const cluster = await TestCluster.create(1, ['--watch-queue-bytes-max', '1000000']);
  try {
    cluster.start('n1');
    await cluster.leader();
    const client = new EtcdGrpc(cluster.endpoint('n1'));
    const watch = client.watch();
    watch.create({ key: Buffer.from('s/'), range_end: prefixEnd('s/') });
    await watch.responses.waitFor('created', (items) => items.some((r) => r.created));
    watch.call.pause();
    const value = 'x'.repeat(100_000);
    const revisions: number[] = [];
    for (let i = 0; i < 80; i += 1) revisions.push(await client.put(`s/${i}`, value));
    watch.call.resume();
    await watch.responses.waitFor('the slow-watcher cancel', (items) => items.some((r) => r.canceled), 10_000);
    const cancel = watch.responses.items.find((r) => r.canceled) as pb.WatchResponse;
    const resumeFrom = Number(/start_revision (\d+)/.exec(cancel.cancel_reason)?.[1]);
    const before = watch.events().map((e) => Number(e.kv?.mod_revision));
    assert.ok(before.length < revisions.length, `the watcher was cut before the end (${before.length} events)`);
    assert.equal(resumeFrom, (before.length === 0 ? (revisions[0] as number) - 1 : (before[before.length - 1] as number)) + 1, 'the resume point follows the last event sent');
    watch.close();
    const resumed = client.watch();
    resumed.create({ key: Buffer.from('s/'), range_end: prefixEnd('s/'), start_revision: String(resumeFrom) });
    await resumed.responses.waitFor('the rest of the events', () => resumed.events().length >= revisions.length - before.length, 10_000);
    const after = resumed.events().map((e) => Number(e.kv?.mod_revision));
    assert.deepEqual([...before, ...after], revisions);
    resumed.close();
    client.close();
  } finally {
    await cluster.destroy();
  }
});

/** A scripted watch session: the responses with the fields both servers must agree on. */
async function watchTranscript(endpoint: string): Promise<string[]> {
  const client = new EtcdGrpc(endpoint);
  const lines: string[] = [];
  try {
    for (let i = 0; i < 5; i += 1) await client.put(`w${i}`, `v${i}`);
    await client.call('KV', 'Compact', { revision: '4' });
    const watch = client.watch();
    let expected = 0;
    const step = async (what: string, count: number, action: () => void | Promise<unknown>): Promise<void> => {
      await action();
      expected += count;
      await watch.responses.waitFor(what, (items) => items.length >= expected, 5_000);
    };
    await step('compacted start', 2, () => watch.create({ key: Buffer.from('w'), range_end: Buffer.from('x'), start_revision: '2' }));
    await step('start at the compaction point', 2, () => watch.create({ key: Buffer.from('w'), range_end: Buffer.from('x'), start_revision: '4', prev_kv: true }));
    await step('client ids', 3, () => {
      watch.create({ key: Buffer.from('a'), watch_id: '7' });
      watch.create({ key: Buffer.from('b'), watch_id: '7' });
      watch.create({ key: Buffer.from('c') });
    });
    await step('empty range', 1, () => watch.create({ key: Buffer.from('b'), range_end: Buffer.from('a') }));
    await step('filters and prev_kv', 1, () => watch.create({ key: Buffer.from('g'), filters: ['NOPUT'], prev_kv: true }));
    await step('a put the filter drops, then a delete', 1, async () => {
      await client.put('g', '1');
      await client.call('KV', 'DeleteRange', { key: Buffer.from('g') });
    });
    await step('from-key watch', 1, () => watch.create({ key: Buffer.from('t'), range_end: Buffer.from([0]), prev_kv: true }));
    await step('a txn: one response per revision', 2, async () => {
      await client.put('t1', 'old');
      await client.call('KV', 'Txn', { success: [{ request_put: { key: Buffer.from('t1'), value: Buffer.from('1') } }, { request_put: { key: Buffer.from('t2'), value: Buffer.from('2') } }] });
    });
    await step('progress request', 1, () => watch.requestProgress());
    await step('cancel an unknown id, then a known one', 1, () => {
      watch.cancelWatch('99');
      watch.cancelWatch('7');
    });
    watch.close();
    for (const r of watch.responses.items) {
      const events = r.events.map((e) => `${describe(e)}${e.prev_kv === null ? '' : ` prev=${e.prev_kv.value.toString()}@${e.prev_kv.mod_revision}`}`);
      // Synod's deliberate differences on a compaction cancel: the reason and the header revision.
      const compacted = r.compact_revision !== '0';
      lines.push(JSON.stringify({ id: r.watch_id, created: r.created, canceled: r.canceled, compact: r.compact_revision, reason: compacted ? '-' : r.cancel_reason, revision: compacted ? '-' : r.header?.revision, events }));
    }
  } finally {
    client.close();
  }
  return lines;
}

test('the watch protocol answers as a real etcd does: created, compacted, duplicate ids, empty ranges, filters, prev_kv, batches, progress, cancel', { timeout: 40_000, skip: etcdAvailable() ? false : 'etcd is not installed' }, async () => {
  const etcd = await EtcdProcess.start();
  const cluster = await TestCluster.create(1);
  try {
    cluster.start('n1');
    await cluster.leader();
    const [expected, actual] = await Promise.all([watchTranscript(etcd.endpoint), watchTranscript(cluster.endpoint('n1'))]);
    assert.deepEqual(actual, expected);
    assert.ok(expected.length >= 13, 'the transcript covers every step');
  } finally {
    await cluster.destroy();
    await etcd.stop();
  }
});
