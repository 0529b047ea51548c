/**
 * The fault proxy on real sockets: frames pass whole and in order, a
 * blackhole swallows messages but keeps the connection (and never the
 * handshake), a reset closes connections and refuses new ones, delay keeps
 * order, and drops lose whole frames only.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FrameSplitter } from '../../src/chaos/frame-splitter.js';
import { FaultProxy, HEALTHY_LINK } from '../../src/chaos/proxy.js';
import { Random } from '../../src/core/random.js';
import { encodeFrame } from '../../src/wire/frame.js';

/** A receiving end that cuts what arrives into frames and records their first payload byte. */
class Receiver {
  readonly server: net.Server;
  readonly received: number[] = [];
  readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor() {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      const splitter = new FrameSplitter(1 << 20);
      socket.on('data', (chunk: Buffer) => {
        for (const frame of splitter.push(chunk)) this.received.push(frame[5] as number);
      });
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    const address = this.server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function frame(tag: number, size = 10): Uint8Array {
  const payload = new Uint8Array(size).fill(0xaa);
  payload[0] = tag;
  return encodeFrame(payload);
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function dial(port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, closed };
}

describe('fault proxy', () => {
  let receiver: Receiver;
  let proxy: FaultProxy;

  before(async () => {
    receiver = new Receiver();
    await receiver.listen();
    proxy = new FaultProxy('a->b', receiver.port, new Random(7));
    await proxy.listen();
  });
  after(async () => {
    await proxy.close();
    await receiver.close();
  });

  it('passes frames whole and in order, even when split across writes', async () => {
    receiver.received.length = 0;
    proxy.set(HEALTHY_LINK);
    const { socket } = await dial(proxy.port);
    const bytes = Buffer.concat([frame(0), frame(1, 3000), frame(2), frame(3, 70_000)]);
    // Cut the stream at awkward places: inside headers and bodies.
    for (const [from, to] of [[0, 3], [3, 17], [17, 2000], [2000, bytes.length]] as const) socket.write(bytes.subarray(from, to));
    await waitFor('four frames', () => receiver.received.length === 4);
    assert.deepEqual(receiver.received, [0, 1, 2, 3]);
    socket.destroy();
  });

  it('blackhole: the handshake gets through, later frames vanish, the connection stays open; healing resumes delivery', async () => {
    receiver.received.length = 0;
    proxy.set({ ...HEALTHY_LINK, block: 'blackhole' });
    const { socket, closed } = await dial(proxy.port);
    socket.write(frame(10));
    socket.write(frame(11));
    socket.write(frame(12));
    await waitFor('the handshake', () => receiver.received.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(receiver.received, [10]);
    proxy.heal();
    socket.write(frame(13));
    await waitFor('the frame after healing', () => receiver.received.length === 2);
    assert.deepEqual(receiver.received, [10, 13]);
    const state = await Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('open'), 50))]);
    assert.equal(state, 'open');
    socket.destroy();
  });

  it('reset: open connections are closed and new ones refused until healed', async () => {
    proxy.heal();
    const first = await dial(proxy.port);
    proxy.set({ ...HEALTHY_LINK, block: 'reset' });
    await first.closed;
    const second = await dial(proxy.port);
    await second.closed;
    proxy.heal();
    receiver.received.length = 0;
    const third = await dial(proxy.port);
    third.socket.write(frame(20));
    await waitFor('delivery after healing', () => receiver.received.length === 1);
    third.socket.destroy();
  });

  it('delay keeps the order of frames and delivers them late', async () => {
    receiver.received.length = 0;
    proxy.set({ ...HEALTHY_LINK, delayMs: 80, jitterMs: 60 });
    const { socket } = await dial(proxy.port);
    const started = performance.now();
    for (let i = 0; i < 20; i += 1) socket.write(frame(i));
    await waitFor('twenty delayed frames', () => receiver.received.length === 20);
    assert.ok(performance.now() - started >= 80, 'frames arrived before the delay');
    assert.deepEqual(receiver.received, Array.from({ length: 20 }, (_, i) => i));
    proxy.heal();
    socket.destroy();
  });

  it('drops lose whole frames only: what arrives is an in-order subsequence', async () => {
    receiver.received.length = 0;
    proxy.set({ ...HEALTHY_LINK, dropProbability: 0.5 });
    const { socket } = await dial(proxy.port);
    const droppedBefore = proxy.counters.framesDropped;
    for (let i = 0; i < 200; i += 1) socket.write(frame(i % 256));
    await waitFor('every frame forwarded or dropped', () => receiver.received.length + (proxy.counters.framesDropped - droppedBefore) === 200);
    const dropped = proxy.counters.framesDropped - droppedBefore;
    assert.ok(dropped > 50 && dropped < 150, `dropped ${dropped} of 200 (the handshake is never dropped)`);
    assert.equal(receiver.received[0], 0, 'the first frame (the handshake) was dropped');
    for (let i = 1; i < receiver.received.length; i += 1) assert.ok((receiver.received[i] as number) > (receiver.received[i - 1] as number));
    proxy.heal();
    socket.destroy();
  });
});

describe('frame splitter', () => {
  it('passes everything through once a length is out of bounds', () => {
    const splitter = new FrameSplitter(100);
    assert.deepEqual(splitter.push(Buffer.from(frame(1))).length, 1);
    const huge = Buffer.from([0, 0, 1, 0, 1, 2, 3]);
    const out = splitter.push(huge);
    assert.equal(splitter.passingThrough, true);
    assert.deepEqual(Buffer.concat(out), huge);
    assert.deepEqual(splitter.push(Buffer.from([9])), [Buffer.from([9])]);
  });
});
