// The same random operations against Synod and against a real etcd give the
// same answers: revisions, versions, values, counts, branches and errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { Random } from '../../src/core/random.js';
import { TestCluster, type KvClient } from './harness.js';
import { EtcdProcess, etcdAvailable } from './etcd-process.js';

const KEYS = ['a', 'b', 'b1', 'b2', 'c'];

interface Call {
  method: string;
  request: object;
  describe: string;
}

// Single-key requests leave range_end out rather than sending it empty: etcd
// 3.4 reads an explicitly encoded empty range_end as "to the end of the
// keyspace", while clients (etcdctl, etcd3) never send one. Synod, like proto3,
// cannot tell the two apart and gives the single key.
function rangeEnd(key: string, prefix: boolean): { range_end?: Buffer } {
  return prefix ? { range_end: prefixEnd(key) } : {};
}

function prefixEnd(key: string): Buffer {
  const bytes = Buffer.from(key);
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) + 1;
  return bytes;
}

/** A random operation over a small key space, so keys collide often. */
function randomCall(random: Random, step: number, revision: number): Call {
  const key = random.pick(KEYS);
  const roll = random.nextFloat();
  if (roll < 0.3) {
    return { method: 'Put', request: { key: Buffer.from(key), value: Buffer.from(`v${step}`), prev_kv: random.chance(0.5) }, describe: `put ${key}` };
  }
  if (roll < 0.5) {
    const prefix = random.chance(0.4);
    const request = {
      key: Buffer.from(key),
      ...rangeEnd(key, prefix),
      limit: String(random.intBetween(0, 2)),
      revision: String(random.chance(0.3) ? random.intBetween(0, revision + 2) : 0),
      sort_order: random.pick(['NONE', 'ASCEND', 'DESCEND']),
      sort_target: random.pick(['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']),
      keys_only: random.chance(0.2),
      count_only: random.chance(0.1),
    };
    return { method: 'Range', request, describe: `range ${key}${prefix ? '*' : ''}` };
  }
  if (roll < 0.62) {
    const prefix = random.chance(0.3);
    return { method: 'DeleteRange', request: { key: Buffer.from(key), ...rangeEnd(key, prefix), prev_kv: random.chance(0.5) }, describe: `del ${key}` };
  }
  if (roll < 0.7) {
    return { method: 'Compact', request: { revision: String(random.intBetween(1, revision + 1)) }, describe: 'compact' };
  }
  const target = random.pick(['VERSION', 'CREATE', 'MOD', 'VALUE'] as const);
  const compare: Record<string, unknown> = { key: Buffer.from(key), target, result: random.pick(['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL']) };
  if (target === 'VALUE') compare.value = Buffer.from(`v${random.intBetween(0, step)}`);
  else compare[target === 'VERSION' ? 'version' : target === 'CREATE' ? 'create_revision' : 'mod_revision'] = String(random.intBetween(0, revision));
  const other = random.pick(KEYS.filter((k) => k !== key));
  return {
    method: 'Txn',
    request: {
      compare: [compare],
      success: [{ request_put: { key: Buffer.from(other), value: Buffer.from(`t${step}`) } }, { request_range: { key: Buffer.from(key) } }],
      failure: [{ request_delete_range: { key: Buffer.from(other), prev_kv: true } }],
    },
    describe: `txn on ${key}`,
  };
}

/** The response without what legitimately differs (ids, terms). */
function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (Buffer.isBuffer(value)) return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [field, inner] of Object.entries(value)) {
    if (field === 'cluster_id' || field === 'member_id' || field === 'raft_term') continue;
    out[field] = normalize(inner);
  }
  return out;
}

async function outcome(client: KvClient, call: Call): Promise<unknown> {
  try {
    return { ok: normalize(await client.call(call.method, call.request)) };
  } catch (error) {
    const e = error as grpc.ServiceError;
    return { error: e.code, details: e.details };
  }
}

test('random operations give the same responses from Synod and from a real etcd', { timeout: 120_000, skip: etcdAvailable() ? false : 'etcd (Debian etcd-server) is not installed; run npm run setup' }, async () => {
  const etcd = await EtcdProcess.start();
  const synod = await TestCluster.create(1);
  try {
    synod.start('n1');
    await synod.leader();
    const { KvClient: Client } = await import('./harness.js');
    const etcdClient = new Client(etcd.endpoint);
    const synodClient = synod.client('n1');
    const seed = Number(process.env.SYNOD_DIFF_SEED ?? 20261123);
    const random = new Random(seed);
    let revision = 1;
    for (let step = 0; step < 400; step += 1) {
      const call = randomCall(random, step, revision);
      const expected = await outcome(etcdClient, call);
      const actual = await outcome(synodClient, call);
      assert.deepEqual(actual, expected, `step ${step} (${call.describe}: ${JSON.stringify(normalize(call.request))}) differs; replay with SYNOD_DIFF_SEED=${seed}`);
      const header = (expected as { ok?: { header?: { revision?: string } } }).ok?.header;
      if (header?.revision !== undefined) revision = Number(header.revision);
    }
    etcdClient.close();
  } finally {
    await synod.destroy();
    await etcd.stop();
  }
});
