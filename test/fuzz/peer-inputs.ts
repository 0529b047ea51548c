// Inputs for the peer-port fuzzer: valid handshakes and one valid message of
// every type (built with src/wire's encoders), and the mutations applied to
// them. The fuzzer decides locally, with the node's own decoder, whether a
// mutated frame is still a well-formed message; only those that are not are
// sent, since a well-formed message from a member is trusted by Paxos (a
// forged promise or vote is a Byzantine fault, which Synod does not claim to
// survive).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ballot } from '../../src/core/ballot.js';
import { nodeId, slot, type NodeId } from '../../src/core/ids.js';
import type { Message } from '../../src/core/multipaxos/types.js';
import { nodeCommandCodec, type NodeCommand } from '../../src/server/command.js';
import { clusterIdOf } from '../../src/server/identity.js';
import { encodeFrame, encodeHandshake, encodeMessageFrame } from '../../src/wire/frame.js';
import { isWireError } from '../../src/wire/errors.js';
import { decodeMessage } from '../../src/wire/message.js';

export const TOKEN = 'synod-cluster';

/** The cluster id a node puts in its handshakes (see SynodNode's transport options): the token's alone. */
export function wireClusterId(_members: readonly string[], token = TOKEN): string {
  return `${token}/${clusterIdOf(token, []).toString(16)}`;
}

/** Data-directory incarnations of the live members, so the fuzzer can speak as one of them. */
const incarnations = new Map<string, string>();

export function learnIncarnations(dir: string, members: readonly string[]): void {
  for (const name of members) {
    const file = JSON.parse(readFileSync(join(dir, name, 'member.json'), 'utf8')) as { incarnation: string };
    incarnations.set(name, file.incarnation);
  }
}

/** A handshake as member `from` (with its real incarnation, when the fuzzer learned it). */
export function handshakeFrame(clusterId: string, from: string, to: string): Uint8Array {
  return encodeFrame(encodeHandshake({ clusterId, from: nodeId(from), to: nodeId(to), incarnation: incarnations.get(from) ?? 'not-a-member' }));
}

function command(id: string, key: string, value: string): NodeCommand {
  const encoder = new TextEncoder();
  return { id, op: { type: 'put', request: { key: encoder.encode(key), value: encoder.encode(value) } } };
}

/** One message of every type from `from` to `to`, with plausible contents. */
export function sampleMessages(fromName: string, toName: string): Message<NodeCommand>[] {
  const from: NodeId = nodeId(fromName);
  const to: NodeId = nodeId(toName);
  const b = ballot(3, from);
  const batch = { kind: 'batch' as const, commands: [command(`${fromName}.fuzz.1`, 'fuzz/a', 'one'), command(`${fromName}.fuzz.2`, 'fuzz/b', 'two')] };
  return [
    { type: 'prepare', from, to, ballot: b, fromSlot: slot(5), transfer: null },
    {
      type: 'promise',
      from,
      to,
      ballot: b,
      fromSlot: slot(5),
      accepted: [{ slot: slot(6), ballot: ballot(2, to), value: batch }],
      decided: [{ slot: slot(5), value: { kind: 'noop' } }],
      decidedTruncated: false,
      compactedThrough: slot(0),
    },
    { type: 'accept', from, to, ballot: b, slot: slot(7), value: batch, commitThrough: slot(6) },
    { type: 'accepted', from, to, ballot: b, slot: slot(7) },
    { type: 'reject', from, to, ballot: b, promised: ballot(4, to) },
    { type: 'heartbeat', from, to, ballot: b, commitThrough: slot(6), readRound: 9 },
    { type: 'heartbeat-ack', from, to, ballot: b, readRound: 9, decidedThrough: slot(6) },
    { type: 'catchup-request', from, to, fromSlot: slot(1), throughSlot: slot(4) },
    { type: 'catchup-reply', from, to, decided: [{ slot: slot(1), value: batch }, { slot: slot(2), value: { kind: 'noop' } }] },
    { type: 'snapshot', from, to, throughSlot: slot(3), offset: 0, total: 25, data: new TextEncoder().encode('{"not":"a real snapshot"}'), configs: [] },
    { type: 'snapshot-request', from, to, throughSlot: slot(3), offset: 10 },
    { type: 'timeout-now', from, to, ballot: b },
    { type: 'reconfigure', from, to, request: { id: 'c1', basedOn: slot(1), membership: { members: [{ id: from, voter: true, info: '' }] }, caughtUp: [to] } },
    { type: 'reconfigure-rejected', from, to, id: 'c1', reason: 'stale' },
    { type: 'forward', from, to, commands: batch.commands },
  ];
}

export function messageFrame(message: Message<NodeCommand>): Uint8Array {
  return encodeMessageFrame(message, nodeCommandCodec);
}

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; length: number };

/** Applies `mutations` to a copy of `payload`; positions wrap around its length. */
export function mutate(payload: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let bytes = [...payload];
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    switch (m.kind) {
      case 'flip':
        if (bytes.length > 0) bytes[at] = ((bytes[at] as number) ^ (1 << m.bit)) & 0xff;
        break;
      case 'set':
        if (bytes.length > 0) bytes[at] = m.value & 0xff;
        break;
      case 'insert':
        bytes.splice(at, 0, m.value & 0xff);
        break;
      case 'delete':
        bytes.splice(at, 1);
        break;
      case 'truncate':
        bytes = bytes.slice(0, at);
        break;
      case 'duplicate':
        bytes.splice(at, 0, ...bytes.slice(at, at + m.length));
        break;
    }
  }
  return Uint8Array.from(bytes);
}

/** `decoder-bug`: the decoder threw something other than a WireError, which the transport does not catch. */
export type LocalVerdict = 'delivered' | 'refused' | 'decoder-bug';

/**
 * What the node must do with a complete frame carrying `payload` on a
 * connection that identified as `peer`: deliver it (a well-formed message
 * from that peer to `self`) or refuse it and close the connection.
 */
export function localVerdict(payload: Uint8Array, peer: string, self: string): LocalVerdict {
  try {
    const message = decodeMessage(payload, nodeCommandCodec);
    return message.from === peer && message.to === self ? 'delivered' : 'refused';
  } catch (error) {
    return isWireError(error) ? 'refused' : 'decoder-bug';
  }
}

/** The payload of a frame (after the 4-byte length and the version byte). */
export function payloadOf(frame: Uint8Array): Uint8Array {
  return frame.subarray(5);
}
