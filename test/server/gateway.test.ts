// etcd's JSON gateway on the admin port: curl-style requests with base64 bytes
// get the same answers as gRPC, and bad bodies get a clear 4xx.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster } from './harness.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

test('the JSON gateway serves put, range, txn and errors like etcd, with base64 bytes', { timeout: 60_000 }, async () => {
  const cluster = await TestCluster.create(1);
  try {
    cluster.start('n1');
    await cluster.leader();
    const post = async (path: string, body: string): Promise<{ status: number; json: Record<string, unknown> }> => {
      const response = await fetch(`http://127.0.0.1:${cluster.member('n1').adminPort}${path}`, { method: 'POST', body, signal: AbortSignal.timeout(5_000) });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    const put = await post('/v3/kv/put', JSON.stringify({ key: b64('foo'), value: b64('bar') }));
    assert.equal(put.status, 200);
    assert.equal((put.json.header as { revision: string }).revision, '2');
    const range = await post('/v3/kv/range', JSON.stringify({ key: b64('foo') }));
    const kvs = range.json.kvs as { key: string; value: string; version: string }[];
    assert.deepEqual(kvs.map((kv) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString(), kv.version]), [['foo', 'bar', '1']]);
    const txn = await post('/v3/kv/txn', JSON.stringify({
      compare: [{ key: b64('foo'), target: 'VALUE', result: 'EQUAL', value: b64('bar') }],
      success: [{ request_put: { key: b64('foo'), value: b64('baz') } }],
    }));
    assert.equal(txn.json.succeeded, true);
    assert.equal(await cluster.client('n1').get('foo'), 'baz', 'the gateway write is visible over gRPC');
    const future = await post('/v3/kv/range', JSON.stringify({ key: b64('foo'), revision: '999' }));
    assert.equal(future.status, 400);
    assert.equal(future.json.message, 'etcdserver: mvcc: required revision is a future revision');
    const lease = await post('/v3/lease/grant', JSON.stringify({ TTL: '30' }));
    assert.equal(lease.status, 200);
    const ttl = await post('/v3/lease/timetolive', JSON.stringify({ ID: lease.json.ID }));
    assert.equal(ttl.json.ID, lease.json.ID, 'the granted lease is found');
    const garbage = await post('/v3/kv/put', '{not json');
    assert.equal(garbage.status, 400);
    assert.match(String(garbage.json.message), /not JSON/);
  } finally {
    await cluster.destroy();
  }
});
