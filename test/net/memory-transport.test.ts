/**
 * MemoryTransport and its hub: the same contract as TcpTransport (FIFO per
 * link, bounded link queues, validated copies) plus the fault controls.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nodeId, type NodeId } from '../../src/core/ids.js';
import type { Message } from '../../src/core/multipaxos/types.js';
import { MemoryHub, type MemoryTransport } from '../../src/net/memory-transport.js';
import { bytesCommandCodec } from '../../src/wire/command-codec.js';
import { heartbeat, waitFor } from './helpers.js';

interface Member {
  readonly id: NodeId;
  readonly transport: MemoryTransport<Uint8Array>;
  readonly received: Message<Uint8Array>[];
}

async function hubOf(ids: readonly string[], options: { autoDeliver?: boolean; linkMessagesMax?: number; random?: () => number } = {}) {
  const hub = new MemoryHub<Uint8Array>({ commandCodec: bytesCommandCodec, ...options });
  const members: Member[] = ids.map((id) => {
    const transport = hub.transport(nodeId(id));
    const member: Member = { id: nodeId(id), transport, received: [] };
    transport.onMessage((m) => member.received.push(m));
    return member;
  });
  await Promise.all(members.map((m) => m.transport.start()));
  return { hub, members };
}

function sendAll(members: readonly Member[], round: number): void {
  for (const from of members) for (const to of members) if (from !== to) from.transport.send(heartbeat(from.id, to.id, round));
}

const fromOf = (m: Member) => m.received.map((x) => x.from).sort();

describe('MemoryTransport', () => {
  it('delivers between three nodes asynchronously, in send order per link', async () => {
    const { members } = await hubOf(['a', 'b', 'c']);
    for (let round = 0; round < 50; round++) sendAll(members, round);
    assert.ok(members.every((m) => m.received.length === 0), 'nothing is delivered synchronously');
    await waitFor('delivery', () => members.every((m) => m.received.length === 100));
    for (const to of members) {
      for (const from of members) {
        if (from === to) continue;
        const rounds = to.received.filter((m) => m.from === from.id).map((m) => (m.type === 'heartbeat' ? m.readRound : -1));
        assert.deepEqual(rounds, Array.from({ length: 50 }, (_, i) => i));
      }
    }
    assert.equal(members[0]?.transport.stats().peers.b?.framesSent, 50);
    assert.equal(members[1]?.transport.stats().peers.a?.framesReceived, 50);
    await Promise.all(members.map((m) => m.transport.close()));
  });

  it('delivers a copy that went through the codec, not the sender object', async () => {
    const { hub, members } = await hubOf(['a', 'b'], { autoDeliver: false });
    const [a, b] = members as [Member, Member];
    const message: Message<Uint8Array> = { type: 'forward', from: a.id, to: b.id, commands: [Uint8Array.of(1, 2)] };
    a.transport.send(message);
    (message.commands[0] as Uint8Array)[0] = 99;
    assert.equal(hub.deliverAll(), 1);
    assert.deepEqual(b.received[0], { ...message, commands: [Uint8Array.of(1, 2)] });
  });

  it('cut, isolate and partition lose messages until heal', async () => {
    const { hub, members } = await hubOf(['a', 'b', 'c'], { autoDeliver: false });
    const [a, b, c] = members as [Member, Member, Member];
    hub.cut(a.id, b.id);
    sendAll(members, 1);
    hub.deliverAll();
    assert.deepEqual(fromOf(a), ['c']);
    assert.deepEqual(fromOf(b), ['c']);
    assert.deepEqual(fromOf(c), ['a', 'b']);
    assert.equal(hub.messagesLost, 2);

    hub.heal();
    hub.isolate(c.id);
    sendAll(members, 2);
    hub.deliverAll();
    assert.deepEqual(fromOf(c), ['a', 'b'], 'c heard nothing new');
    assert.deepEqual(fromOf(a), ['b', 'c']);

    hub.heal();
    hub.partition([a.id], [b.id, c.id]);
    sendAll(members, 3);
    hub.deliverAll();
    assert.deepEqual(fromOf(a), ['b', 'c']);
    assert.deepEqual(fromOf(b), ['a', 'c', 'c']);

    hub.heal();
    sendAll(members, 4);
    assert.equal(hub.deliverAll(), 6);
  });

  it('a link cut while a message is in flight loses it', async () => {
    const { hub, members } = await hubOf(['a', 'b'], { autoDeliver: false });
    const [a, b] = members as [Member, Member];
    assert.ok(a.transport.send(heartbeat(a.id, b.id, 1)));
    hub.cut(a.id, b.id);
    assert.equal(hub.deliverAll(), 0);
    assert.equal(b.received.length, 0);
  });

  it('drops the configured fraction of messages', async () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const { hub, members } = await hubOf(['a', 'b'], { autoDeliver: false, random, linkMessagesMax: 10_000 });
    const [a, b] = members as [Member, Member];
    hub.setDropRate(0.3);
    for (let i = 0; i < 2000; i++) a.transport.send(heartbeat(a.id, b.id, i));
    hub.deliverAll();
    assert.ok(b.received.length > 1200 && b.received.length < 1600, `${b.received.length} of 2000 delivered`);
    assert.equal(hub.messagesLost + b.received.length, 2000);
  });

  it('bounds each link: past linkMessagesMax in flight, send() returns false', async () => {
    const { hub, members } = await hubOf(['a', 'b', 'c'], { autoDeliver: false, linkMessagesMax: 3 });
    const [a, b, c] = members as [Member, Member, Member];
    const results = Array.from({ length: 5 }, (_, i) => a.transport.send(heartbeat(a.id, b.id, i)));
    assert.deepEqual(results, [true, true, true, false, false]);
    assert.ok(a.transport.send(heartbeat(a.id, c.id, 0)), 'other links are unaffected');
    assert.equal(a.transport.stats().peers.b?.messagesDropped, 2);
    hub.deliverAll();
    assert.ok(a.transport.send(heartbeat(a.id, b.id, 5)), 'room again once delivered');
  });

  it('refuses unknown peers, and everything after close', async () => {
    const { members } = await hubOf(['a', 'b']);
    const [a, b] = members as [Member, Member];
    assert.equal(a.transport.send(heartbeat(a.id, nodeId('zz'), 1)), false);
    assert.equal(a.transport.stats().messagesUnroutable, 1);
    await a.transport.close();
    assert.equal(a.transport.send(heartbeat(a.id, b.id, 1)), false);
    assert.equal(b.transport.send(heartbeat(b.id, a.id, 1)), false, 'a closed transport is no longer a peer');
    await b.transport.close();
  });
});
