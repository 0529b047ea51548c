/**
 * TcpTransport over loopback: delivery between three nodes in FIFO order,
 * reconnection to a restarted peer, the send-queue bound, counters, and a
 * clean close (no handle left, the process exits).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { nodeId } from '../../src/core/ids.js';
import type { Message } from '../../src/core/multipaxos/types.js';
import { closeAll, heartbeat, makeNode, startCluster, waitFor, type Node } from './helpers.js';

const open: Node[] = [];
after(() => closeAll(open));

async function cluster(ids: readonly string[], limits = {}): Promise<Node[]> {
  const nodes = await startCluster(ids, limits);
  open.push(...nodes);
  return nodes;
}

const rounds = (messages: readonly Message<Uint8Array>[], from: string) =>
  messages.filter((m) => m.from === from && m.type === 'heartbeat').map((m) => (m.type === 'heartbeat' ? m.readRound : -1));

describe('TcpTransport', { timeout: 15_000 }, () => {
  it('delivers between three nodes, every direction, in send order', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const perLink = 200;
    for (let round = 0; round < perLink; round++) {
      for (const from of nodes) for (const to of nodes) if (from !== to) assert.ok(from.transport.send(heartbeat(from.id, to.id, round)));
    }
    await waitFor('every message', () => nodes.every((n) => n.received.length === 2 * perLink));
    const expected = Array.from({ length: perLink }, (_, i) => i);
    for (const to of nodes) {
      for (const from of nodes) if (from !== to) assert.deepEqual(rounds(to.received, from.id), expected, `${from.id} -> ${to.id}`);
      assert.ok(to.received.every((m) => m.to === to.id));
    }
    const stats = nodes[0]?.transport.stats();
    assert.equal(stats?.peers.b?.framesSent, perLink);
    assert.equal(stats?.peers.b?.framesReceived, perLink);
    assert.ok((stats?.peers.b?.bytesSent ?? 0) > perLink * 10);
    assert.equal(stats?.peers.b?.connected, true);
    assert.equal(stats?.peers.b?.messagesDropped, 0);
    await closeAll(nodes);
  });

  it('refuses a message to an unknown peer, and one over the frame bound', async () => {
    const [a, b] = await cluster(['a', 'b'], { frameBytesMax: 1024, queueBytesMax: 4096 });
    assert.ok(a && b);
    assert.equal(a.transport.send(heartbeat(a.id, nodeId('zz'), 1)), false);
    assert.equal(a.transport.stats().messagesUnroutable, 1);
    const big: Message<Uint8Array> = { type: 'snapshot', from: a.id, to: b.id, throughSlot: 1 as never, offset: 0, total: 2000, data: new Uint8Array(2000), configs: [] };
    assert.equal(a.transport.send(big), false);
    assert.equal(a.transport.stats().peers.b?.messagesDropped, 1);
    assert.ok(a.logger.entries.some((e) => e.level === 'warn' && /over the 1024-byte bound/.test(String(e.fields.reason))));
    assert.throws(() => a.transport.send(heartbeat(b.id, a.id, 1)), /cannot send a message from b/);
    await closeAll([a, b]);
  });

  it('bounds the send queue while a peer is unreachable, dropping the newest', async () => {
    const a = makeNode('a', { queueMessagesMax: 10, queueBytesMax: 64 * 1024 * 1024, reconnectMinMs: 20, reconnectMaxMs: 40 });
    open.push(a);
    await a.transport.start();
    // A port nobody listens on: bind one, note it, close it.
    const ghost = makeNode('ghost');
    await ghost.transport.start();
    const port = ghost.transport.listenAddress().port;
    await ghost.transport.close();
    a.transport.setPeerAddress(nodeId('b'), { host: '127.0.0.1', port });
    const accepted = Array.from({ length: 25 }, (_, i) => a.transport.send(heartbeat(a.id, nodeId('b'), i)));
    assert.deepEqual(accepted, [...Array<boolean>(10).fill(true), ...Array<boolean>(15).fill(false)]);
    const stats = a.transport.stats().peers.b;
    assert.equal(stats?.queuedMessages, 10);
    assert.equal(stats?.messagesDropped, 15);
    assert.equal(stats?.connected, false);
    // The peer comes up on that port: the queued prefix (oldest ten) is delivered.
    const b = makeNode('b', {}, port);
    open.push(b);
    await b.transport.start();
    b.transport.setPeerAddress(a.id, a.transport.listenAddress());
    await waitFor('the queued messages', () => b.received.length === 10);
    assert.deepEqual(rounds(b.received, 'a'), Array.from({ length: 10 }, (_, i) => i));
    assert.ok(a.logger.entries.some((e) => e.message === 'cannot connect to peer'));
    await closeAll([a, b]);
  });

  it('reconnects to a peer that restarts on the same address', async () => {
    const [a, b] = await cluster(['a', 'b'], { reconnectMinMs: 10, reconnectMaxMs: 100 });
    assert.ok(a && b);
    a.transport.send(heartbeat(a.id, b.id, 1));
    await waitFor('first message', () => b.received.length === 1);
    const port = b.transport.listenAddress().port;
    await b.transport.close();
    await waitFor('a to notice', () => a.transport.stats().peers.b?.connected === false);
    // Both directions count: a's connection to b and b's connection to a.
    await waitFor('both resets', () => a.transport.stats().peers.b?.connectionResets === 2);

    const b2 = makeNode('b', {}, port);
    open.push(b2);
    await b2.transport.start();
    b2.transport.setPeerAddress(a.id, a.transport.listenAddress());
    // Keep sending until one gets through: messages written into the dying connection are lost, as Paxos allows.
    let round = 2;
    await waitFor('a message through the new connection', () => {
      a.transport.send(heartbeat(a.id, b2.id, round++));
      return b2.received.length > 0;
    });
    b2.transport.send(heartbeat(b2.id, a.id, 7));
    await waitFor('the reverse direction', () => a.received.length > 0);
    // a's inbound connection from the old b is gone; the new one replaced it.
    assert.equal(a.received[0]?.from, 'b');
    await closeAll([a, b2]);
  });

  it('coalesces the sends of one event-loop turn into few writes', async () => {
    const [a, b] = await cluster(['a', 'b']);
    assert.ok(a && b);
    a.transport.send(heartbeat(a.id, b.id, 0));
    await waitFor('connection', () => b.received.length === 1);
    for (let i = 1; i <= 2000; i++) a.transport.send(heartbeat(a.id, b.id, i));
    await waitFor('all 2000', () => b.received.length === 2001);
    assert.deepEqual(rounds(b.received, 'a'), Array.from({ length: 2001 }, (_, i) => i));
    await closeAll([a, b]);
  });

  it('leaves no handles behind: a process that runs three nodes and closes them exits', () => {
    const helpers = fileURLToPath(new URL('./helpers.js', import.meta.url));
    const script = `
      import { startCluster, closeAll, heartbeat, waitFor } from ${JSON.stringify(helpers)};
      const nodes = await startCluster(['a', 'b', 'c']);
      for (const from of nodes) for (const to of nodes) if (from !== to) from.transport.send(heartbeat(from.id, to.id, 1));
      await waitFor('delivery', () => nodes.every((n) => n.received.length === 2));
      // One peer closes first, so the others have reconnect timers pending when they close.
      await nodes[2].transport.close();
      await new Promise((r) => setTimeout(r, 30));
      await closeAll(nodes);
      const left = process.getActiveResourcesInfo().filter((r) => r !== 'PipeWrap' && r !== 'TTYWrap');
      console.log(JSON.stringify(left));
    `;
    const started = performance.now();
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 8_000 });
    assert.equal(result.error, undefined, `the child did not exit: ${String(result.error)}`);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout.trim()), []);
    assert.ok(performance.now() - started < 8_000);
  });
});
