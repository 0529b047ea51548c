// Real node processes, real files, loopback only: what a replicated node must
// survive. Every loop is bounded; every process is killed at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { TestCluster, until, type KvClient } from './harness.js';

const UNAVAILABLE = grpc.status.UNAVAILABLE;

/** Puts with bounded retries on unavailability; returns true if acknowledged. */
async function putAcknowledged(clients: KvClient[], key: string, value: string, attempt = 0): Promise<boolean> {
  const client = clients[attempt % clients.length] as KvClient;
  try {
    await client.put(key, value);
    return true;
  } catch (error) {
    const code = (error as grpc.ServiceError).code;
    if (attempt >= 20 || (code !== UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED)) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
    return putAcknowledged(clients, key, value, attempt + 1);
  }
}

async function runPool(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        await work(index);
      }
    }),
  );
}

test('1,000 acknowledged writes survive kill -9 of the leader, and the killed node catches up on restart', { timeout: 120_000 }, async () => {
  const cluster = await TestCluster.create(3, ['--snapshot-count', '300']);
  try {
    cluster.startAll();
    const firstLeader = await cluster.leader();
    const clients = cluster.members.map((m) => cluster.client(m.name));
    const acknowledged = new Map<string, string>();
    let killed: Promise<void> | null = null;
    await runPool(1_000, 16, async (i) => {
      const key = `key-${String(i).padStart(4, '0')}`;
      if (i === 500 && killed === null) killed = cluster.kill(firstLeader);
      const survivors = clients.filter((c) => killed === null || !c.endpoint.endsWith(`:${cluster.member(firstLeader).clientPort}`));
      if (await putAcknowledged(survivors, key, `value-${i}`)) acknowledged.set(key, `value-${i}`);
    });
    await killed;
    assert.ok(acknowledged.size >= 900, `most writes were acknowledged (${acknowledged.size})`);
    const newLeader = await cluster.leader();
    assert.notEqual(newLeader, firstLeader);
    const reader = cluster.client(newLeader);
    for (const [key, value] of acknowledged) assert.equal(await reader.get(key), value, `acknowledged ${key} is readable`);
    // The killed node restarts from its log and catches up with the others.
    cluster.start(firstLeader);
    const target = (await cluster.status(newLeader)).decidedThrough;
    await until('the restarted node to catch up', async () => ((await cluster.status(firstLeader)).appliedThrough >= target ? true : undefined), 20_000);
    const restarted = cluster.client(firstLeader);
    // This client's channel saw the node die; it may still be backing off
    // before it reconnects (grpc-js fails calls at once meanwhile), however
    // quickly the node caught up.
    await until('the restarted node to answer this client', () => restarted.get('key-0000', true).then(() => true, () => undefined), 10_000);
    for (const [key, value] of [...acknowledged].slice(-50)) assert.equal(await restarted.get(key, true), value, `${key} on the restarted node`);
  } finally {
    await cluster.destroy();
  }
});

test('a node that missed compacted slots catches up by state transfer from a snapshot', { timeout: 60_000 }, async () => {
  const cluster = await TestCluster.create(3, ['--snapshot-count', '40']);
  try {
    cluster.startAll();
    await cluster.leader();
    await cluster.stop('n3');
    const clients = [cluster.client('n1'), cluster.client('n2')];
    await runPool(300, 8, async (i) => {
      assert.ok(await putAcknowledged(clients, `k${i}`, `v${i}`), `k${i} acknowledged`);
    });
    const leader = await cluster.leader();
    const leaderStatus = await cluster.status(leader);
    assert.ok(leaderStatus.compactedThrough > 0, 'the leader compacted its log');
    cluster.start('n3');
    await until('n3 to catch up', async () => ((await cluster.status('n3')).appliedThrough >= leaderStatus.decidedThrough ? true : undefined), 20_000);
    assert.ok((await cluster.status('n3')).compactedThrough > 0, 'n3 installed a snapshot');
    assert.equal(await cluster.client('n3').get('k0', true), 'v0');
    assert.equal(await cluster.client('n3').get('k299', true), 'v299');
  } finally {
    await cluster.destroy();
  }
});

function lastSegment(walDir: string): string {
  const segments = readdirSync(walDir).filter((f) => f.endsWith('.seg')).sort();
  const last = segments[segments.length - 1];
  assert.ok(last !== undefined, 'a segment exists');
  return join(walDir, last);
}

test('a torn last record is truncated at start; a flipped byte mid-log stops the node with the file and offset named', { timeout: 60_000 }, async () => {
  const cluster = await TestCluster.create(1);
  try {
    cluster.start('n1');
    await cluster.leader();
    for (let i = 0; i < 30; i += 1) await cluster.client('n1').put(`t${i}`, `v${i}`);
    await cluster.stop('n1');
    const segment = lastSegment(join(cluster.dir, 'n1', 'wal'));
    // A crash mid-write: the start of a record frame, then nothing.
    writeFileSync(segment, Buffer.concat([readFileSync(segment), Buffer.from([0x40, 0x00, 0x00, 0x00, 0x12, 0x34])]));
    cluster.start('n1');
    await cluster.leader();
    assert.equal(await cluster.client('n1').get('t29'), 'v29', 'data before the torn record is intact');
    await cluster.client('n1').put('after', 'recovery');
    await cluster.stop('n1');
    // Now damage a record in the middle of the log.
    const damaged = lastSegment(join(cluster.dir, 'n1', 'wal'));
    const bytes = readFileSync(damaged);
    const offset = Math.floor(statSync(damaged).size / 2);
    bytes[offset] = (bytes[offset] as number) ^ 0xff;
    writeFileSync(damaged, bytes);
    cluster.start('n1');
    const result = await cluster.exited('n1');
    assert.equal(result.code, 1, 'the node refuses to start');
    assert.match(result.stderr, /\.seg/, 'the message names the segment file');
    assert.match(result.stderr, /offset \d+/, 'the message names the offset');
  } finally {
    await cluster.destroy();
  }
});

test('malformed peer frames and garbage client requests do not crash a node; the cluster keeps serving', { timeout: 60_000 }, async () => {
  const cluster = await TestCluster.create(3);
  try {
    cluster.startAll();
    await cluster.leader();
    const target = cluster.member('n1');
    const garbage = async (port: number, payload: Buffer): Promise<void> => {
      const socket = new Socket();
      await new Promise<void>((resolve) => {
        socket.once('error', () => resolve());
        socket.once('close', () => resolve());
        socket.connect(port, '127.0.0.1', () => socket.end(payload));
        setTimeout(() => resolve(), 1_000).unref();
      });
      socket.destroy();
    };
    await garbage(target.peerPort, Buffer.from('this is not a synod frame at all'));
    await garbage(target.peerPort, Buffer.from([0x00, 0x00, 0x00, 0x05, 0x01, 0xff, 0xff, 0xff, 0xff]));
    await garbage(target.clientPort, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await garbage(target.clientPort, Buffer.alloc(64, 0xab));
    // A well-framed gRPC call whose protobuf payload is garbage.
    const raw = new grpc.Client(`127.0.0.1:${target.clientPort}`, grpc.credentials.createInsecure());
    const status = await new Promise<grpc.status>((resolve) => {
      raw.makeUnaryRequest(
        '/etcdserverpb.KV/Put',
        () => Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        (b: Buffer) => b,
        {},
        (error) => resolve(error?.code ?? grpc.status.OK),
      );
    });
    raw.close();
    assert.notEqual(status, grpc.status.OK, 'the garbage request gets an error status');
    await cluster.client('n1').put('still', 'serving');
    assert.equal(await cluster.client('n2').get('still'), 'serving');
    for (const name of ['n1', 'n2', 'n3']) assert.ok(cluster.running(name), `${name} is still running`);
  } finally {
    await cluster.destroy();
  }
});
