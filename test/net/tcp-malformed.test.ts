/**
 * Hostile or confused connections: each kind of bad input closes THAT
 * connection with a logged reason, is counted, and the transport keeps
 * delivering from its real peers.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ballot } from '../../src/core/ballot.js';
import { nodeId } from '../../src/core/ids.js';
import { bytesCommandCodec } from '../../src/wire/command-codec.js';
import { PROTOCOL_VERSION, encodeFrame, encodeHandshake, encodeMessageFrame } from '../../src/wire/frame.js';
import { CLUSTER_ID, closeAll, heartbeat, rawSocket, startCluster, waitFor, within, type Node } from './helpers.js';

const FRAME_BYTES_MAX = 64 * 1024;

let nodes: Node[] = [];
let a: Node;
let b: Node;
let c: Node;
let round = 0;

before(async () => {
  nodes = await startCluster(['a', 'b', 'c'], { frameBytesMax: FRAME_BYTES_MAX, queueBytesMax: FRAME_BYTES_MAX, handshakeTimeoutMs: 300 });
  [a, b, c] = nodes as [Node, Node, Node];
});
after(() => closeAll(nodes));

/**
 * b and c each get a message through to a: the real peers are unaffected.
 * Resent every 50 ms until both arrive, because a test that claimed b's name
 * displaced b's connection, and what b wrote into it before noticing is lost
 * (as Paxos allows); the claim is that delivery resumes, not that nothing is lost.
 */
async function realPeersStillDeliver(): Promise<void> {
  round++;
  const mine = (from: Node) => a.received.some((m) => m.from === from.id && m.type === 'heartbeat' && m.readRound === round);
  let lastSentMs = -Infinity;
  await waitFor('b and c to reach a', () => {
    if (performance.now() - lastSentMs >= 50) {
      lastSentMs = performance.now();
      if (!mine(b)) assert.ok(b.transport.send(heartbeat(b.id, a.id, round)));
      if (!mine(c)) assert.ok(c.transport.send(heartbeat(c.id, a.id, round)));
    }
    return mine(b) && mine(c);
  });
}

/** Opens a raw connection to a, writes `chunks`, and expects a to close it with a reason matching `reason`. */
async function expectRefused(chunks: readonly Uint8Array[], reason: RegExp, end = false): Promise<void> {
  const reasonsBefore = a.logger.closeReasons().length;
  const { socket, closed } = await rawSocket(a.transport.listenAddress().port);
  for (const chunk of chunks) socket.write(chunk);
  if (end) socket.end();
  await within('a to close the raw connection', closed);
  await waitFor('the reason to be logged', () => a.logger.closeReasons().length > reasonsBefore);
  const logged = a.logger.closeReasons().slice(reasonsBefore);
  assert.equal(logged.length, 1, JSON.stringify(logged));
  assert.match(logged[0] as string, reason);
  await realPeersStillDeliver();
}

const handshake = (from: string, to = 'a', clusterId = CLUSTER_ID) =>
  encodeFrame(encodeHandshake({ clusterId, from: nodeId(from), to: nodeId(to), incarnation: '' }));

describe('TcpTransport refuses a bad connection and keeps serving the others', { timeout: 15_000 }, () => {
  it('delivers from the real peers to begin with', realPeersStillDeliver);

  it('garbage instead of a handshake', async () => {
    const rejected = a.transport.stats().connectionsRejected;
    await expectRefused([new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n')], /bad frame: frame of \d+ bytes is over the 1024-byte bound/);
    assert.equal(a.transport.stats().connectionsRejected, rejected + 1);
  });

  it('an oversized frame header, refused before the body arrives', () =>
    expectRefused([Uint8Array.from([0x7f, 0xff, 0xff, 0xff, PROTOCOL_VERSION])], /over the 1024-byte bound/));

  it('a wrong protocol version', () =>
    expectRefused([encodeFrame(encodeHandshake({ clusterId: CLUSTER_ID, from: nodeId('b'), to: nodeId('a'), incarnation: '' }), 9)], /protocol version 9, this node speaks 1/));

  it('a handshake for another cluster', () => expectRefused([handshake('b', 'a', 'other-cluster')], /handshake for cluster "other-cluster", this is "test-cluster"/));

  it('a handshake addressed to another node', () => expectRefused([handshake('b', 'c')], /handshake addressed to "c", this is "a"/));

  it('a handshake from a node that is not a peer', () => expectRefused([handshake('mallory')], /handshake from "mallory", which is not a peer/));

  it('a frame that is not a handshake', () => expectRefused([encodeFrame(Uint8Array.from([1, 2, 3]))], /bad handshake: handshake: bad magic/));

  it('no handshake at all within the timeout', () => expectRefused([], /no handshake within 300 ms/));

  it('a truncated handshake frame, then the end of the stream', () =>
    expectRefused([handshake('b').subarray(0, 9)], /connection ended inside a frame \(9 bytes/, true));

  it('after a valid handshake: a message frame that does not decode', async () => {
    const malformed = a.transport.stats().peers.b?.malformedFrames ?? 0;
    await expectRefused([handshake('b'), encodeFrame(Uint8Array.from([0xee, 1, 2]))], /bad message: unknown message tag 238/);
    assert.equal(a.transport.stats().peers.b?.malformedFrames, malformed + 1);
  });

  it('after a valid handshake: a frame over the frame bound', () =>
    expectRefused([handshake('b'), Uint8Array.from([0, 0x10, 0, 0, PROTOCOL_VERSION])], /frame of 1048576 bytes is over the 65536-byte bound/));

  it('after a valid handshake: a message forged as from another node', () =>
    expectRefused([handshake('b'), encodeMessageFrame(heartbeat(nodeId('c'), a.id, 1), bytesCommandCodec)], /heartbeat claims to be from "c"/));

  it('after a valid handshake: a message addressed to another node', () =>
    expectRefused([handshake('b'), encodeMessageFrame(heartbeat(b.id, c.id, 1), bytesCommandCodec)], /heartbeat is addressed to "c"/));

  it('after a valid handshake: a truncated message frame at the end of the stream', () => {
    const frame = encodeMessageFrame(heartbeat(b.id, a.id, 1), bytesCommandCodec);
    return expectRefused([handshake('b'), frame.subarray(0, frame.byteLength - 2)], /connection ended inside a frame/, true);
  });

  it('an impostor with a valid handshake replaces the real connection until the real peer redials', async () => {
    // Anyone who knows the cluster id can claim a member's name (no TLS yet); its
    // messages must still be well-formed and carry that name. The newest inbound
    // connection per peer wins, so the impostor displaces b's, and b's redial
    // displaces the impostor's.
    const resetsBefore = b.transport.stats().peers.a?.connectionResets ?? 0;
    const { socket, closed } = await rawSocket(a.transport.listenAddress().port);
    const before = a.received.length;
    const accepted = { type: 'accepted' as const, from: b.id, to: a.id, ballot: ballot(3, a.id), slot: 9 as never };
    socket.write(handshake('b'));
    socket.write(encodeMessageFrame(accepted, bytesCommandCodec));
    await waitFor('the message', () => a.received.length === before + 1);
    assert.deepEqual(a.received[before], accepted);
    await waitFor('b to lose its connection and redial', () => {
      const stats = b.transport.stats().peers.a;
      return stats !== undefined && stats.connectionResets > resetsBefore && stats.connected;
    });
    await within('the impostor to be displaced', closed);
    await realPeersStillDeliver();
  });

  it('stops accepting unidentified connections past the bound', async () => {
    const limit = 64;
    const rejectedBefore = a.transport.stats().connectionsRejected;
    const refusedLog = () => a.logger.entries.filter((e) => e.message === 'too many connections awaiting a handshake; refused').length;
    const sockets = await Promise.all(Array.from({ length: limit + 3 }, () => rawSocket(a.transport.listenAddress().port)));
    // The three over the bound are closed at once, well before the 300 ms handshake timeout...
    await waitFor('the three extra connections to be refused', () => refusedLog() === 3, 250);
    // ...the first `limit` wait for a handshake that never comes, and are closed too.
    await within('every raw connection to close', Promise.all(sockets.map((s) => s.closed)));
    assert.equal(a.transport.stats().connectionsRejected, rejectedBefore + limit + 3);
    await realPeersStillDeliver();
  });
});
