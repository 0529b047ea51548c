/**
 * Fuzzing the client API (etcd v3 gRPC) of a live cluster: raw garbage and
 * mutated valid payloads to every method (sent as bytes with a pass-through
 * serializer), and well-typed requests with out-of-range fields. Every call
 * must end with a response or a gRPC status before its deadline (only calls
 * that may legitimately wait, such as Lock on a held lock, may time out), the
 * nodes never exit, and the cluster still serves afterwards.
 *
 * A status INTERNAL raised by a handler (not by grpc-js failing to parse the
 * bytes) means a handler threw something it did not expect; those are listed
 * and fail the test, since each is a validation gap at the boundary.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { CallFailure, EtcdClient } from '../../src/chaos/client.js';
import { loadEtcdProtos, SERVICE_NAMES, type EtcdServiceName } from '../../src/server/proto.js';
import { until, type TestCluster } from '../server/harness.js';
import { startFuzzCluster } from './fuzz-cluster.js';
import { fuzzParameters, Tally } from './fuzz-options.js';
import { mutate, type Mutation } from './peer-inputs.js';

const MEMBERS = ['n1', 'n2', 'n3'];
const DEADLINE_MS = 3_000;
/** For calls that may wait by design (streams, Lock, Campaign): long enough to see an error, short enough to keep the suite quick. */
const WAITING_DEADLINE_MS = 1_000;

interface Method {
  readonly service: EtcdServiceName;
  readonly name: string;
  readonly path: string;
  readonly kind: 'unary' | 'server-stream' | 'bidi';
  readonly serialize: (value: object) => Buffer;
}

/** Calls that may wait for someone else (a held lock, an election), so a timeout is not a hang. */
const MAY_WAIT = new Set(['Lock/Lock', 'Election/Campaign']);

function methods(): Method[] {
  const { services } = loadEtcdProtos();
  const list: Method[] = [];
  for (const service of Object.keys(SERVICE_NAMES) as EtcdServiceName[]) {
    for (const [name, definition] of Object.entries(services[service])) {
      const kind = definition.requestStream ? 'bidi' : definition.responseStream ? 'server-stream' : 'unary';
      list.push({ service, name, path: definition.path, kind, serialize: definition.requestSerialize as (value: object) => Buffer });
    }
  }
  return list;
}

/** A plausible valid request per method, to mutate; methods without one get an empty request. */
function validRequest(method: Method): object {
  const key = Buffer.from('fuzz/key');
  switch (`${method.service}/${method.name}`) {
    case 'KV/Range':
      return { key, range_end: Buffer.from('fuzz/kez'), limit: 10, revision: 0, sort_order: 'ASCEND', sort_target: 'KEY' };
    case 'KV/Put':
      return { key, value: Buffer.from('value'), prev_kv: true };
    case 'KV/DeleteRange':
      return { key, range_end: Buffer.from('fuzz/kez'), prev_kv: true };
    case 'KV/Txn':
      return {
        compare: [{ result: 'EQUAL', target: 'VERSION', key, version: 0 }],
        success: [{ request_put: { key, value: Buffer.from('v') } }, { request_range: { key } }],
        failure: [{ request_txn: { compare: [], success: [{ request_delete_range: { key } }], failure: [] } }],
      };
    case 'KV/Compact':
      return { revision: 1 };
    case 'Lease/LeaseGrant':
      return { TTL: 5, ID: 0 };
    case 'Lease/LeaseRevoke':
    case 'Lease/LeaseTimeToLive':
      return { ID: 12345, keys: true };
    case 'Lock/Lock':
      return { name: Buffer.from('fuzz/lock'), lease: 0 };
    case 'Lock/Unlock':
      return { key: Buffer.from('fuzz/lock/abc') };
    case 'Election/Campaign':
      return { name: Buffer.from('fuzz/election'), lease: 0, value: Buffer.from('me') };
    case 'Election/Leader':
      return { name: Buffer.from('fuzz/election') };
    case 'Maintenance/HashKV':
      return { revision: 0 };
    case 'Maintenance/Alarm':
      return { action: 'GET', memberID: 0, alarm: 'NONE' };
    case 'Watch/Watch':
      return { create_request: { key, start_revision: 1, prev_kv: true } };
    default:
      return {};
  }
}

const identity = (value: Buffer): Buffer => value;

function summarize(request: object): string {
  const text = JSON.stringify(request, (_key, value: unknown) => (value instanceof Object && 'type' in value && (value as { type: unknown }).type === 'Buffer' ? '<bytes>' : value));
  return text.length > 160 ? `${text.slice(0, 160)}...` : text;
}

/** A protobuf length-delimited field: tag, varint length, bytes. */
function lengthDelimited(field: number, body: Buffer): Buffer {
  const header: number[] = [(field << 3) | 2];
  let length = body.length;
  while (length >= 0x80) {
    header.push((length & 0x7f) | 0x80);
    length >>>= 7;
  }
  header.push(length);
  return Buffer.concat([Buffer.from(header), body]);
}

/**
 * A TxnRequest nested `depth` deep (success[0].request_txn, repeatedly),
 * encoded by hand: protobufjs refuses to encode more than 100 levels, and the
 * point is to see what the server does with more.
 */
function nestedTxnBytes(depth: number): Buffer {
  // Innermost: success = [ { request_put: { key: "k", value: "v" } } ].
  const put = Buffer.concat([lengthDelimited(1, Buffer.from('fuzz/deep')), lengthDelimited(2, Buffer.from('v'))]);
  let txn = lengthDelimited(2, lengthDelimited(2, put));
  for (let i = 0; i < depth; i += 1) txn = lengthDelimited(2, lengthDelimited(4, txn));
  return txn;
}

describe('client API fuzzing against a live cluster', { timeout: 150_000 }, () => {
  let cluster: TestCluster;
  const raw = new Map<string, grpc.Client>();
  const typed = new Map<string, EtcdClient>();
  const all = methods();
  const problems: string[] = [];
  const total = new Tally();
  const internals = new Set<string>();

  before(async () => {
    cluster = await startFuzzCluster(MEMBERS.length);
    for (const name of MEMBERS) {
      raw.set(name, new grpc.Client(cluster.endpoint(name), grpc.credentials.createInsecure()));
      typed.set(name, new EtcdClient(cluster.endpoint(name)));
    }
    await until('a first write', () => cluster.client('n1').put('fuzz/alive', 'before').then(() => true));
  });
  after(async () => {
    for (const client of raw.values()) client.close();
    for (const client of typed.values()) client.close();
    await cluster.destroy();
  });

  type Answer = { code: number; details: string; ms: number };

  /** Sends `bytes` as the request of `method`; resolves with the status (0 for a response). */
  function sendRaw(node: string, method: Method, bytes: Buffer): Promise<Answer> {
    const client = raw.get(node) as grpc.Client;
    const started = performance.now();
    const mayWait = method.kind !== 'unary' || MAY_WAIT.has(`${method.service}/${method.name}`);
    const options = { deadline: new Date(Date.now() + (mayWait ? WAITING_DEADLINE_MS : DEADLINE_MS)) };
    return new Promise((resolve) => {
      const done = (code: number, details: string): void => resolve({ code, details, ms: performance.now() - started });
      if (method.kind === 'unary') {
        client.makeUnaryRequest(method.path, identity, identity, bytes, new grpc.Metadata(), options, (error) => done(error?.code ?? 0, error?.details ?? ''));
        return;
      }
      const stream =
        method.kind === 'server-stream'
          ? client.makeServerStreamRequest(method.path, identity, identity, bytes, new grpc.Metadata(), options)
          : client.makeBidiStreamRequest(method.path, identity, identity, new grpc.Metadata(), options);
      if (method.kind === 'bidi') {
        const bidi = stream as grpc.ClientDuplexStream<Buffer, Buffer>;
        bidi.write(bytes);
        bidi.end();
      }
      // A stream that answers at all is alive: one message or a status ends the probe.
      let settled = false;
      const settle = (code: number, details: string): void => {
        if (settled) return;
        settled = true;
        stream.cancel();
        done(code, details);
      };
      stream.on('data', () => settle(0, 'a message'));
      stream.on('error', (error: grpc.ServiceError) => settle(error.code, error.details));
      stream.on('status', (status: grpc.StatusObject) => settle(status.code, status.details));
    });
  }

  /**
   * Judges an answer. A timeout is a hang unless the method may wait, or the
   * request was a stream (watch and keep-alive streams stay open by design).
   * INTERNAL from a handler is a missed validation; grpc-js's own "could not
   * parse" INTERNAL for garbage bytes is expected.
   */
  function judge(label: string, method: Method, answer: Answer): string {
    const id = `${method.service}/${method.name}`;
    if (answer.code === grpc.status.DEADLINE_EXCEEDED) {
      if (MAY_WAIT.has(id) || method.kind !== 'unary') return 'timed out (allowed)';
      problems.push(`${label.slice(0, 300)}: ${id} hung until its deadline`);
      return 'HUNG';
    }
    if (answer.code === grpc.status.INTERNAL && !/deserializ|parse|decode|invalid wire type|index out of range/i.test(answer.details)) {
      problems.push(`${label.slice(0, 300)}: ${id} answered INTERNAL: ${answer.details.slice(0, 200)}`);
      return 'INTERNAL';
    }
    if (answer.code === grpc.status.INTERNAL) internals.add(answer.details.slice(0, 100));
    return answer.code === 0 ? 'answered' : (grpc.status[answer.code] ?? String(answer.code));
  }

  async function assertClusterUp(after: string): Promise<void> {
    for (const name of MEMBERS) {
      const status = await cluster.status(name).catch((error: unknown) => error);
      assert.ok(!(status instanceof Error), `${name} stopped answering after ${after}: ${String(status)}`);
    }
  }

  const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  );

  it('random bytes as the request of every method get a status, never a hang or a crash', async (t) => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: all.length - 1 }), fc.uint8Array({ maxLength: 512 }), fc.constantFrom(...MEMBERS), async (index, bytes, node) => {
        const method = all[index] as Method;
        tally.add(judge('random bytes', method, await sendRaw(node, method, Buffer.from(bytes))));
        return true;
      }),
      fuzzParameters(200),
    );
    await assertClusterUp('random requests');
    total.add('random', tally.total);
    t.diagnostic(`random requests sent: ${tally.total} (${tally})`);
  });

  it('mutated valid requests of every method get a status, never a hang or a crash', async (t) => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: all.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 4 }), fc.constantFrom(...MEMBERS), async (index, mutations, node) => {
        const method = all[index] as Method;
        const valid = method.serialize(validRequest(method));
        const answer = await sendRaw(node, method, Buffer.from(mutate(valid, mutations)));
        tally.add(judge(`mutated ${valid.toString('hex')} by ${JSON.stringify(mutations)}`, method, answer));
        return true;
      }),
      fuzzParameters(300),
    );
    await assertClusterUp('mutated requests');
    total.add('mutated', tally.total);
    t.diagnostic(`mutated requests sent: ${tally.total} (${tally})`);
  });

  it('well-typed requests with out-of-range fields get a status, never a hang or a crash', async (t) => {
    const tally = new Tally();
    const key = Buffer.from('fuzz/range');
    const nested = (depth: number): object => {
      let txn: object = { compare: [], success: [{ request_put: { key, value: Buffer.from('deep') } }], failure: [] };
      for (let i = 0; i < depth; i += 1) txn = { compare: [], success: [{ request_txn: txn }], failure: [] };
      return txn;
    };
    const INT64_MAX = '9223372036854775807';
    const INT64_MIN = '-9223372036854775808';
    const lines: string[] = [];
    const cases: [EtcdServiceName, string, object][] = [
      ['KV', 'Range', { key, limit: -1 }],
      ['KV', 'Range', { key, limit: INT64_MAX }],
      ['KV', 'Range', { key, revision: INT64_MAX }],
      ['KV', 'Range', { key, revision: -5 }],
      ['KV', 'Range', { key, revision: INT64_MIN }],
      ['KV', 'Range', { key, sort_order: 99, sort_target: 77 }],
      ['KV', 'Range', { key, sort_order: -1 }],
      ['KV', 'Range', { key, min_mod_revision: INT64_MAX, max_mod_revision: -1, min_create_revision: -7, max_create_revision: INT64_MAX }],
      ['KV', 'Range', { key: Buffer.alloc(0) }],
      ['KV', 'Range', { key: Buffer.from([0]), range_end: Buffer.from([0]), count_only: true, keys_only: true, serializable: true }],
      ['KV', 'Range', { key: Buffer.from('z'), range_end: Buffer.from('a') }],
      ['KV', 'Put', { key, value: Buffer.from('v'), lease: -1 }],
      ['KV', 'Put', { key, value: Buffer.from('v'), lease: INT64_MAX }],
      ['KV', 'Put', { key, value: Buffer.from('v'), lease: 424242 }],
      ['KV', 'Put', { key, ignore_value: true, ignore_lease: true, lease: 5 }],
      ['KV', 'Put', { key: Buffer.alloc(0), value: Buffer.from('v') }],
      ['KV', 'Put', { key, value: Buffer.alloc(1024 * 1024, 0x61) }],
      ['KV', 'Put', { key, value: Buffer.alloc(3 * 1024 * 1024, 0x62) }],
      ['KV', 'Put', { key: Buffer.alloc(64 * 1024, 0x6b), value: Buffer.from('big key') }],
      ['KV', 'DeleteRange', { key: Buffer.alloc(0) }],
      ['KV', 'DeleteRange', { key: Buffer.from('fuzz/zzz'), range_end: Buffer.from('fuzz/aaa') }],
      ['KV', 'Txn', nested(10)],
      ['KV', 'Txn', nested(17)],
      ['KV', 'Txn', { compare: Array.from({ length: 10_000 }, () => ({ result: 'EQUAL', target: 'VERSION', key, version: 0 })), success: [], failure: [] }],
      ['KV', 'Txn', { compare: [], success: Array.from({ length: 200 }, (_, i) => ({ request_put: { key: Buffer.from(`fuzz/t${i}`), value: Buffer.from('v') } })), failure: [] }],
      ['KV', 'Txn', { compare: [{ result: 99, target: 42, key }], success: [], failure: [] }],
      ['KV', 'Txn', { compare: [{ result: 'LESS', target: 'MOD', key, mod_revision: INT64_MAX }], success: [], failure: [] }],
      ['KV', 'Txn', { compare: [{ result: 'EQUAL', target: 'VALUE', key }], success: [{}], failure: [] }],
      ['KV', 'Txn', { compare: [], success: [{ request_put: { key, value: Buffer.from('a') } }, { request_put: { key, value: Buffer.from('b') } }], failure: [] }],
      ['KV', 'Txn', { compare: [], success: [{ request_range: { key, revision: INT64_MAX } }], failure: [] }],
      ['KV', 'Compact', { revision: INT64_MAX }],
      ['KV', 'Compact', { revision: -3 }],
      ['Lease', 'LeaseGrant', { TTL: -1, ID: 0 }],
      ['Lease', 'LeaseGrant', { TTL: INT64_MAX, ID: 0 }],
      ['Lease', 'LeaseGrant', { TTL: 5, ID: -1 }],
      ['Lease', 'LeaseGrant', { TTL: 5, ID: INT64_MAX }],
      ['Lease', 'LeaseRevoke', { ID: 0 }],
      ['Lease', 'LeaseRevoke', { ID: INT64_MIN }],
      ['Lease', 'LeaseTimeToLive', { ID: -42, keys: true }],
      ['Lease', 'LeaseLeases', {}],
      ['Lock', 'Lock', { name: Buffer.alloc(0), lease: 0 }],
      ['Lock', 'Lock', { name: Buffer.from('fuzz/lock2'), lease: -9 }],
      ['Lock', 'Unlock', { key: Buffer.alloc(0) }],
      ['Election', 'Campaign', { name: Buffer.alloc(0), lease: 0, value: Buffer.from('x') }],
      ['Election', 'Proclaim', { leader: null, value: Buffer.from('x') }],
      ['Election', 'Proclaim', { leader: { name: Buffer.from('fuzz/e'), key: Buffer.from('nope'), rev: INT64_MAX, lease: -1 }, value: Buffer.from('x') }],
      ['Election', 'Resign', { leader: { name: Buffer.alloc(0), key: Buffer.alloc(0), rev: -1, lease: 0 } }],
      ['Election', 'Leader', { name: Buffer.alloc(0) }],
      ['Maintenance', 'HashKV', { revision: INT64_MAX }],
      ['Maintenance', 'HashKV', { revision: -1 }],
      ['Maintenance', 'Alarm', { action: 99, memberID: INT64_MAX, alarm: 42 }],
      ['Maintenance', 'Status', {}],
      ['Maintenance', 'Defragment', {}],
      ['Cluster', 'MemberList', { linearizable: true }],
      ['Cluster', 'MemberRemove', { ID: INT64_MAX }],
    ];
    for (const [index, [service, method, request]] of cases.entries()) {
      const node = MEMBERS[index % MEMBERS.length] as string;
      const started = performance.now();
      let outcome: string;
      try {
        await (typed.get(node) as EtcdClient).call(service, method, request, MAY_WAIT.has(`${service}/${method}`) ? WAITING_DEADLINE_MS : DEADLINE_MS);
        outcome = 'answered';
        lines.push(`${service}/${method} ${summarize(request)} -> answered`);
      } catch (error) {
        if (!(error instanceof CallFailure)) {
          // The client could not encode it (e.g. an int64 out of range): nothing was sent.
          tally.add('not encodable');
          continue;
        }
        const fake: Method = { service, name: method, path: '', kind: 'unary', serialize: () => Buffer.alloc(0) };
        outcome = judge(`${service}/${method} ${summarize(request)}`, fake, { code: error.code, details: error.details, ms: performance.now() - started });
        lines.push(`${service}/${method} ${summarize(request)} -> ${outcome}: ${error.details.slice(0, 100)}`);
      }
      tally.add(outcome);
    }
    const txnMethod = all.find((m) => m.service === 'KV' && m.name === 'Txn') as Method;
    for (const depth of [17, 99, 150, 1_000, 20_000]) {
      const answer = await sendRaw('n1', txnMethod, nestedTxnBytes(depth));
      const outcome = judge(`a txn nested ${depth} deep`, txnMethod, answer);
      tally.add(outcome);
      lines.push(`KV/Txn nested ${depth} deep (raw bytes) -> ${outcome}: ${answer.details.slice(0, 100)}`);
    }
    await assertClusterUp('out-of-range requests');
    total.add('typed', tally.total);
    t.diagnostic(`out-of-range requests sent: ${tally.total} (${tally})`);
    if (process.env.SYNOD_FUZZ_VERBOSE === '1') for (const line of lines) t.diagnostic(line);
  });

  it('after all of it the cluster serves writes and linearizable reads, and no call hung or failed internally', async (t) => {
    for (const name of MEMBERS) {
      await until(`a write through ${name}`, () => cluster.client(name).put(`fuzz/alive/${name}`, 'after').then(() => true), 20_000);
      assert.equal(await cluster.client(name).get(`fuzz/alive/${name}`), 'after');
    }
    t.diagnostic(`client requests sent in total: ${total.total} (${total})`);
    t.diagnostic(`INTERNAL answers from grpc-js's parsing: ${[...internals].join(' | ')}`);
    assert.deepEqual(problems, [], `calls that hung or failed internally:\n${problems.join('\n')}`);
  });
});
