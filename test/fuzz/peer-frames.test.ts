/**
 * Fuzzing a live node's peer port with raw sockets: random bytes, bad
 * handshakes, bad frame headers, garbage and mutated message payloads,
 * truncated and oversized frames. Each input either makes the node close
 * THAT connection (when the input is complete and wrong) or is cut by our
 * end-of-stream (when the node would rightly wait for more); the node never
 * exits, and the cluster serves reads and writes afterwards.
 *
 * Counts per property: SYNOD_FUZZ_RUNS (see fuzz-options.ts).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { nodeCommandCodec } from '../../src/server/command.js';
import { decodeHandshake, encodeFrame } from '../../src/wire/frame.js';
import { until, type TestCluster } from '../server/harness.js';
import { startFuzzCluster } from './fuzz-cluster.js';
import { fuzzParameters, Tally } from './fuzz-options.js';
import { handshakeFrame, localVerdict, messageFrame, mutate, payloadOf, sampleMessages, wireClusterId, type Mutation } from './peer-inputs.js';

const TARGET = 'n1';
const MEMBERS = ['n1', 'n2', 'n3'];
/** How long a node may take to close a connection it must refuse. */
const REFUSE_WITHIN_MS = 3_000;

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
);

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('peer port fuzzing against a live node', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let port: number;
  const clusterId = wireClusterId(MEMBERS);
  const sent = new Tally();

  before(async () => {
    cluster = await startFuzzCluster(MEMBERS.length);
    await until('a first write', () => cluster.client(TARGET).put('fuzz/alive', 'before').then(() => true));
    port = cluster.member(TARGET).peerPort;
  });
  after(async () => {
    await cluster.destroy();
  });

  /**
   * Writes `chunks` on a new connection. 'wait': leave it open and report
   * whether the node closed it within `waitMs`. 'end': half-close after
   * writing (the node may wait for more bytes otherwise) and report likewise.
   */
  async function send(chunks: readonly Uint8Array[], finish: 'wait' | 'end', waitMs = REFUSE_WITHIN_MS): Promise<'closed' | 'open'> {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    const closed = new Promise<'closed'>((resolve) => socket.once('close', () => resolve('closed')));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    for (const chunk of chunks) socket.write(chunk);
    if (finish === 'end') socket.end();
    const outcome = await Promise.race([closed, sleep(waitMs).then(() => 'open' as const)]);
    socket.destroy();
    return outcome;
  }

  async function assertNodeUp(after: string): Promise<void> {
    const status = await cluster.status(TARGET).catch((error: unknown) => error);
    assert.ok(!(status instanceof Error), `${TARGET} stopped answering after ${after}: ${String(status)}`);
  }

  it('random bytes before any handshake: the connection is closed and the node stays up', async (t) => {
    const tally = new Tally();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 3_000 }), async (bytes) => {
        const outcome = await send([bytes], 'end');
        tally.add(outcome);
        return outcome === 'closed';
      }),
      fuzzParameters(150),
    );
    await assertNodeUp('random bytes');
    sent.add('random', tally.total);
    t.diagnostic(`random byte strings sent: ${tally.total} (${tally})`);
  });

  it('malformed handshakes are refused: the node closes the connection', async (t) => {
    const tally = new Tally();
    const valid = handshakeFrame(clusterId, 'n2', TARGET);
    const handshakes = fc.oneof(
      fc.string({ maxLength: 40 }).map((id) => handshakeFrame(id === clusterId ? `${id}x` : id, 'n2', TARGET)),
      fc.constantFrom('n2', 'n3', 'n9', 'stranger').map((to) => handshakeFrame(clusterId, 'n2', to)),
      fc.constantFrom(TARGET, 'n4', 'x').map((from) => handshakeFrame(clusterId, from, TARGET)),
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }).map((mutations) => encodeFrame(mutate(payloadOf(valid), mutations))),
    );
    await fc.assert(
      fc.asyncProperty(handshakes, async (frame) => {
        if (handshakeIsAcceptable(frame)) {
          tally.add('still valid, not sent');
          return true;
        }
        const outcome = await send([frame], 'wait');
        tally.add(outcome === 'closed' ? 'refused' : 'left open');
        return outcome === 'closed';
      }),
      fuzzParameters(150),
    );
    await assertNodeUp('bad handshakes');
    sent.add('handshakes', tally.total);
    t.diagnostic(`handshakes tried: ${tally.total} (${tally})`);
  });

  function handshakeIsAcceptable(frame: Uint8Array): boolean {
    if (frame.length < 5 || frame[4] !== 1) return false;
    try {
      const handshake = decodeHandshake(payloadOf(frame));
      return handshake.clusterId === clusterId && handshake.to === TARGET && handshake.from !== TARGET && MEMBERS.includes(handshake.from);
    } catch {
      return false;
    }
  }

  it('frame headers out of bounds (zero, oversized, other version) are refused before and after the handshake', async (t) => {
    const tally = new Tally();
    const header = (length: number, version: number): Uint8Array => {
      const bytes = new Uint8Array(5);
      new DataView(bytes.buffer).setUint32(0, length, false);
      bytes[4] = version;
      return bytes;
    };
    const bad = fc.oneof(
      fc.record({ afterHandshake: fc.boolean(), length: fc.constant(0), version: fc.constant(1) }),
      fc.record({ afterHandshake: fc.constant(false), length: fc.integer({ min: 1_025, max: 0xffff_ffff }), version: fc.constant(1) }),
      fc.record({ afterHandshake: fc.constant(true), length: fc.integer({ min: 64 * 1024 * 1024 + 1, max: 0xffff_ffff }), version: fc.constant(1) }),
      fc.record({ afterHandshake: fc.boolean(), length: fc.integer({ min: 1, max: 64 }), version: fc.integer({ min: 0, max: 255 }).filter((v) => v !== 1) }),
    );
    await fc.assert(
      fc.asyncProperty(bad, async ({ afterHandshake, length, version }) => {
        const chunks = afterHandshake ? [handshakeFrame(clusterId, 'n3', TARGET), header(length, version)] : [header(length, version)];
        const outcome = await send(chunks, 'wait');
        tally.add(outcome === 'closed' ? 'refused' : 'left open');
        return outcome === 'closed';
      }),
      fuzzParameters(100),
    );
    await assertNodeUp('bad frame headers');
    sent.add('headers', tally.total);
    t.diagnostic(`bad frame headers sent: ${tally.total} (${tally})`);
  });

  it('garbage and mutated message payloads after a valid handshake are refused', async (t) => {
    const tally = new Tally();
    const bugs: string[] = [];
    const samples = sampleMessages('n2', TARGET).map(messageFrame);
    const payloads = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 2_000 }),
      fc.record({ index: fc.nat({ max: samples.length - 1 }), mutations: fc.array(mutationArb, { minLength: 1, maxLength: 5 }) }).map(({ index, mutations }) =>
        mutate(payloadOf(samples[index] as Uint8Array), mutations),
      ),
    );
    await fc.assert(
      fc.asyncProperty(payloads, async (payload) => {
        const verdict = localVerdict(payload, 'n2', TARGET);
        if (verdict === 'delivered') {
          tally.add('still well-formed, not sent');
          return true;
        }
        if (verdict === 'decoder-bug') bugs.push(Buffer.from(payload).toString('hex'));
        const outcome = await send([handshakeFrame(clusterId, 'n2', TARGET), encodeFrame(payload)], 'wait');
        tally.add(outcome === 'closed' ? 'refused' : 'left open');
        return outcome === 'closed';
      }),
      fuzzParameters(300),
    );
    await assertNodeUp('mutated messages');
    sent.add('payloads', tally.total);
    t.diagnostic(`message payloads tried: ${tally.total} (${tally})`);
    assert.deepEqual(bugs, [], 'the decoder threw something other than a WireError (the transport would not catch it)');
  });

  it('truncated frames followed by end-of-stream leave the node up', async (t) => {
    const tally = new Tally();
    const samples = sampleMessages('n3', TARGET).map(messageFrame);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: samples.length - 1 }), fc.nat(), fc.boolean(), async (index, cutAt, withHandshake) => {
        const frame = samples[index] as Uint8Array;
        const cut = frame.subarray(0, cutAt % frame.length);
        const chunks = withHandshake ? [handshakeFrame(clusterId, 'n3', TARGET), cut] : [handshakeFrame(clusterId, 'n3', TARGET).subarray(0, cutAt % 20)];
        const outcome = await send(chunks, 'end');
        tally.add(outcome);
        return outcome === 'closed';
      }),
      fuzzParameters(100),
    );
    await assertNodeUp('truncated frames');
    sent.add('truncated', tally.total);
    t.diagnostic(`truncated frames sent: ${tally.total} (${tally})`);
  });

  it('oversized frames with garbage are refused without the node holding them', async (t) => {
    const tally = new Tally();
    for (const [afterHandshake, bytes] of [
      [false, 64 * 1024],
      [true, 2 * 1024 * 1024],
      [true, 8 * 1024 * 1024],
    ] as const) {
      const garbage = new Uint8Array(bytes).fill(0xee);
      const chunks = afterHandshake ? [handshakeFrame(clusterId, 'n2', TARGET), encodeFrame(garbage)] : [encodeFrame(garbage)];
      const outcome = await send(chunks, 'wait', 10_000);
      tally.add(outcome === 'closed' ? 'refused' : 'left open');
      assert.equal(outcome, 'closed', `a ${bytes}-byte garbage frame ${afterHandshake ? 'after' : 'before'} the handshake was not refused`);
    }
    await assertNodeUp('oversized frames');
    sent.add('oversized', tally.total);
    t.diagnostic(`oversized frames sent: ${tally.total} (${tally})`);
  });

  it('well-formed requests any member may send, with extreme values, leave the node up', async (t) => {
    // Not forgeries of protocol state (promises, votes, decisions), which Paxos
    // must trust, but requests: a catch-up over any range, a forward of client commands.
    const tally = new Tally();
    const MAX = Number.MAX_SAFE_INTEGER;
    const encoder = new TextEncoder();
    /** Sends one frame from a member to the current leader, and checks the leader is still up. */
    const sendToLeader = async (build: (from: string, to: string) => Uint8Array): Promise<void> => {
      const leader = await cluster.leader();
      const member = MEMBERS.find((name) => name !== leader) as string;
      const socket = net.connect({ host: '127.0.0.1', port: cluster.member(leader).peerPort });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(handshakeFrame(clusterId, member, leader));
      socket.write(build(member, leader));
      await sleep(300);
      socket.destroy();
      const status = await cluster.status(leader).catch((error: unknown) => error);
      assert.ok(!(status instanceof Error), `${leader} died after a well-formed request`);
      tally.add('served or ignored');
    };
    for (const [fromSlot, throughSlot] of [[0, 0], [1, MAX], [MAX, 1], [MAX, MAX], [0, MAX]]) {
      await sendToLeader((from, to) => messageFrame({ type: 'catchup-request', from: from as never, to: to as never, fromSlot: fromSlot as never, throughSlot: throughSlot as never }));
    }
    // A forward reaches only a leader; if leadership moved meanwhile, send it again.
    const forward = (from: string, to: string): Uint8Array =>
      messageFrame({
        type: 'forward',
        from: from as never,
        to: to as never,
        commands: Array.from({ length: 200 }, (_, i) => ({ id: `${from}.fuzz-forward.${i}`, op: { type: 'put' as const, request: { key: encoder.encode(`fuzz/fwd/${i}`), value: encoder.encode('v') } } })),
      });
    await until(
      'the forwarded commands to be applied',
      async () => {
        await sendToLeader(forward);
        return (await cluster.client('n1').get('fuzz/fwd/199')) === 'v' ? true : undefined;
      },
      20_000,
      500,
    );
    sent.add('requests', tally.total);
    t.diagnostic(`well-formed extreme requests sent: ${tally.total} (${tally})`);
  });

  it('after the barrage the cluster still serves writes and linearizable reads on every node', async (t) => {
    for (const name of MEMBERS) {
      const value = `after-${name}`;
      await until(`a write through ${name}`, () => cluster.client(name).put(`fuzz/alive/${name}`, value).then(() => true), 20_000);
      assert.equal(await cluster.client(MEMBERS[(MEMBERS.indexOf(name) + 1) % MEMBERS.length] as string).get(`fuzz/alive/${name}`), value);
    }
    t.diagnostic(`peer inputs sent in total: ${sent.total} (${sent})`);
  });
});

describe('a well-formed forwarded command with a malformed op', { timeout: 60_000 }, () => {
  // The forward message carries client commands from a follower to the
  // leader. A structurally broken op (here {type: 'put'} without a request)
  // would make every replica fail while applying it, and again on every
  // restart, since a decided command is replayed. The command codec checks the
  // op's structure (src/server/command-shape.ts), so the frame is refused.
  it('is refused at the boundary, so no replica ever applies it', async () => {
    const cluster = await startFuzzCluster(MEMBERS.length);
    try {
      const leader = await cluster.leader();
      const follower = MEMBERS.find((name) => name !== leader) as string;
      await until('a first write', () => cluster.client(leader).put('fuzz/poison', 'before').then(() => true));
      const socket = net.connect({ host: '127.0.0.1', port: cluster.member(leader).peerPort });
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const malformed = { id: `${follower}.fuzz.poison`, op: { type: 'put' } } as unknown as Parameters<typeof nodeCommandCodec.encode>[0];
      socket.write(handshakeFrame(wireClusterId(MEMBERS), follower, leader));
      socket.write(messageFrame({ type: 'forward', from: follower as never, to: leader as never, commands: [malformed] }));
      await sleep(2_000);
      socket.destroy();
      for (const name of MEMBERS) {
        const status = await cluster.status(name).catch((error: unknown) => error);
        assert.ok(!(status instanceof Error), `${name} died after applying the malformed command`);
      }
      await until('a write after the malformed command', () => cluster.client(leader).put('fuzz/poison', 'after').then(() => true), 10_000);
    } finally {
      await cluster.destroy();
    }
  });
});
