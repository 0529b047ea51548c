/**
 * The binary encoding of Message<C>, the peer-to-peer messages of Multi-Paxos.
 *
 *   message := tag:u8 from:string to:string fields...
 *
 * Each variant's fields follow in the order of writeFields below. Integers are
 * canonical unsigned LEB128 varints, strings and byte strings are
 * varint-length-prefixed, booleans are one byte 0/1 (see buffer.ts).
 *
 * What decodeMessage checks, beyond "well-formed and nothing left over":
 *   - the tag is known; node ids are non-empty UTF-8 of at most nodeIdBytesMax
 *     bytes; from !== to (the core never messages itself);
 *   - ballots: see ballotProblem (non-empty node unless ZERO_BALLOT);
 *   - slots are non-negative integers, and the slot of a vote or decision is >= 1;
 *   - promise.accepted, promise.decided and catchup-reply.decided are strictly
 *     increasing by slot; lists hold at most entriesMax entries, byte strings at
 *     most bytesMax bytes;
 *   - every command passes the command codec.
 * It does not check relations the receiving replica already handles (a
 * catch-up range with fromSlot > throughSlot is just empty; a vote in a ballot
 * above the promise's is the acceptor's problem to report, not the wire's).
 *
 * Adding a variant: give it a new number in MESSAGE_TAGS (never reuse one: tags
 * are the protocol), then the compiler points at the two switches to extend.
 */
import { assertNever } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import type { Message, MessageType, ReconfigureRejection, SnapshotMessage } from '../core/multipaxos/types.js';
import { DEFAULT_WIRE_LIMITS, Reader, Writer, type WireLimits } from './buffer.js';
import type { CommandCodec } from './command-codec.js';
import { WireError } from './errors.js';
import {
  readAcceptedEntries,
  readBallot,
  readCommands,
  readConfigEntries,
  readCounter,
  readMembership,
  readDecidedEntries,
  readEntrySlot,
  readNodeId,
  readSlot,
  readSlotValue,
  writeAcceptedEntries,
  writeBallot,
  writeCommands,
  writeConfigEntries,
  writeCounter,
  writeMembership,
  writeDecidedEntries,
  writeEntrySlot,
  writeNodeId,
  writeSlot,
  writeSlotValue,
} from './fields.js';

export const MESSAGE_TAGS = Object.freeze({
  prepare: 1,
  promise: 2,
  accept: 3,
  accepted: 4,
  reject: 5,
  heartbeat: 6,
  'heartbeat-ack': 7,
  'catchup-request': 8,
  'catchup-reply': 9,
  snapshot: 10,
  forward: 11,
  'timeout-now': 12,
  reconfigure: 13,
  'reconfigure-rejected': 14,
  'snapshot-request': 15,
} as const satisfies Record<MessageType, number>);

/** A snapshot chunk: its bytes must lie within the snapshot (offset + length <= total). */
function readSnapshot(reader: Reader, from: NodeId, to: NodeId): SnapshotMessage {
  const throughSlot = readSlot(reader, 'throughSlot');
  const offset = reader.varuint('offset');
  const total = reader.varuint('total');
  const data = reader.bytes('data');
  if (offset + data.length > total) throw new WireError('invalid', `chunk of ${data.length} bytes at ${offset} lies beyond the snapshot's ${total} bytes`);
  return { type: 'snapshot', from, to, throughSlot, offset, total, data, configs: readConfigEntries(reader, 'configs') };
}

function readNodeIds(reader: Reader, what: string): NodeId[] {
  const count = reader.count(what, 2);
  const ids: NodeId[] = [];
  for (let index = 0; index < count; index++) ids.push(readNodeId(reader, `${what}[${index}]`));
  return ids;
}

/** Rejection reasons by their number on the wire (append only). */
const REJECTIONS: readonly ReconfigureRejection[] = ['not-leader', 'in-progress', 'stale', 'invalid', 'stepped-down', 'behind'];

const TYPE_OF_TAG: ReadonlyMap<number, MessageType> = new Map(
  Object.entries(MESSAGE_TAGS).map(([type, tag]) => [tag, type as MessageType]),
);

/** Appends the encoding of `message` to `writer` (the transport frames it in place). */
export function writeMessage<C>(writer: Writer, message: Message<C>, codec: CommandCodec<C>): void {
  writer.u8(MESSAGE_TAGS[message.type]);
  writeNodeId(writer, message.from, 'from');
  writeNodeId(writer, message.to, 'to');
  const m = message;
  switch (m.type) {
    case 'prepare':
      writeBallot(writer, m.ballot, 'ballot');
      writeSlot(writer, m.fromSlot);
      writer.bool(m.transfer !== null);
      if (m.transfer !== null) writeBallot(writer, m.transfer, 'transfer');
      return;
    case 'promise':
      writeBallot(writer, m.ballot, 'ballot');
      writeSlot(writer, m.fromSlot);
      writeAcceptedEntries(writer, m.accepted, codec, 'accepted');
      writeDecidedEntries(writer, m.decided, codec, 'decided');
      writer.bool(m.decidedTruncated);
      writeSlot(writer, m.compactedThrough);
      return;
    case 'accept':
      writeBallot(writer, m.ballot, 'ballot');
      writeEntrySlot(writer, m.slot);
      writeSlotValue(writer, m.value, codec, 'value');
      writeSlot(writer, m.commitThrough);
      return;
    case 'accepted':
      writeBallot(writer, m.ballot, 'ballot');
      writeEntrySlot(writer, m.slot);
      return;
    case 'reject':
      writeBallot(writer, m.ballot, 'ballot');
      writeBallot(writer, m.promised, 'promised');
      return;
    case 'heartbeat':
      writeBallot(writer, m.ballot, 'ballot');
      writeSlot(writer, m.commitThrough);
      writeCounter(writer, m.readRound);
      return;
    case 'heartbeat-ack':
      writeBallot(writer, m.ballot, 'ballot');
      writeCounter(writer, m.readRound);
      writeSlot(writer, m.decidedThrough);
      return;
    case 'catchup-request':
      writeSlot(writer, m.fromSlot);
      writeSlot(writer, m.throughSlot);
      return;
    case 'catchup-reply':
      writeDecidedEntries(writer, m.decided, codec, 'decided');
      return;
    case 'snapshot':
      writeSlot(writer, m.throughSlot);
      writer.varuint(m.offset);
      writer.varuint(m.total);
      writer.bytes(m.data, 'snapshot data');
      writeConfigEntries(writer, m.configs, 'configs');
      return;
    case 'snapshot-request':
      writeSlot(writer, m.throughSlot);
      writer.varuint(m.offset);
      return;
    case 'forward':
      writeCommands(writer, m.commands, codec, 'commands');
      return;
    case 'timeout-now':
      writeBallot(writer, m.ballot, 'ballot');
      return;
    case 'reconfigure':
      writer.string(m.request.id, 'id', writer.limits.nodeIdBytesMax);
      writeSlot(writer, m.request.basedOn);
      writeMembership(writer, m.request.membership, 'membership');
      writer.count(m.request.caughtUp.length, 'caughtUp');
      for (const id of m.request.caughtUp) writeNodeId(writer, id, 'caughtUp');
      return;
    case 'reconfigure-rejected':
      writer.string(m.id, 'id', writer.limits.nodeIdBytesMax);
      writer.u8(REJECTIONS.indexOf(m.reason));
      return;
    default:
      assertNever(m, 'message');
  }
}

/** Reads one message from `reader`, leaving any bytes after it unread. */
export function readMessage<C>(reader: Reader, codec: CommandCodec<C>): Message<C> {
  const tag = reader.u8('message tag');
  const type = TYPE_OF_TAG.get(tag);
  if (type === undefined) throw new WireError('unknown-tag', `unknown message tag ${tag}`);
  try {
    const from = readNodeId(reader, 'from');
    const to = readNodeId(reader, 'to');
    if (from === to) throw new WireError('invalid', `from and to are both ${JSON.stringify(from)}`);
    switch (type) {
      case 'prepare':
        return { type, from, to, ballot: readBallot(reader, 'ballot'), fromSlot: readSlot(reader, 'fromSlot'), transfer: reader.bool('transfer') ? readBallot(reader, 'transfer') : null };
      case 'promise':
        return {
          type,
          from,
          to,
          ballot: readBallot(reader, 'ballot'),
          fromSlot: readSlot(reader, 'fromSlot'),
          accepted: readAcceptedEntries(reader, codec, 'accepted'),
          decided: readDecidedEntries(reader, codec, 'decided'),
          decidedTruncated: reader.bool('decidedTruncated'),
          compactedThrough: readSlot(reader, 'compactedThrough'),
        };
      case 'accept':
        return {
          type,
          from,
          to,
          ballot: readBallot(reader, 'ballot'),
          slot: readEntrySlot(reader, 'slot'),
          value: readSlotValue(reader, codec, 'value'),
          commitThrough: readSlot(reader, 'commitThrough'),
        };
      case 'accepted':
        return { type, from, to, ballot: readBallot(reader, 'ballot'), slot: readEntrySlot(reader, 'slot') };
      case 'reject':
        return { type, from, to, ballot: readBallot(reader, 'ballot'), promised: readBallot(reader, 'promised') };
      case 'heartbeat':
        return {
          type,
          from,
          to,
          ballot: readBallot(reader, 'ballot'),
          commitThrough: readSlot(reader, 'commitThrough'),
          readRound: readCounter(reader, 'readRound'),
        };
      case 'heartbeat-ack':
        return {
          type,
          from,
          to,
          ballot: readBallot(reader, 'ballot'),
          readRound: readCounter(reader, 'readRound'),
          decidedThrough: readSlot(reader, 'decidedThrough'),
        };
      case 'catchup-request':
        return { type, from, to, fromSlot: readSlot(reader, 'fromSlot'), throughSlot: readSlot(reader, 'throughSlot') };
      case 'catchup-reply':
        return { type, from, to, decided: readDecidedEntries(reader, codec, 'decided') };
      case 'snapshot':
        return readSnapshot(reader, from, to);
      case 'snapshot-request':
        return { type, from, to, throughSlot: readSlot(reader, 'throughSlot'), offset: reader.varuint('offset') };
      case 'forward':
        return { type, from, to, commands: readCommands(reader, codec, 'commands') };
      case 'timeout-now':
        return { type, from, to, ballot: readBallot(reader, 'ballot') };
      case 'reconfigure':
        return {
          type,
          from,
          to,
          request: {
            id: reader.string('id', reader.limits.nodeIdBytesMax),
            basedOn: readSlot(reader, 'basedOn'),
            membership: readMembership(reader, 'membership'),
            caughtUp: readNodeIds(reader, 'caughtUp'),
          },
        };
      case 'reconfigure-rejected': {
        const id = reader.string('id', reader.limits.nodeIdBytesMax);
        const code = reader.u8('reason');
        const reason = REJECTIONS[code];
        if (reason === undefined) throw new WireError('invalid', `reason: unknown rejection ${code}`);
        return { type, from, to, id, reason };
      }
      default:
        return assertNever(type, 'message type');
    }
  } catch (error) {
    // Name the variant in the message: "promise: accepted[3].ballot: ..." is
    // what an operator reading the log needs.
    if (error instanceof WireError) throw new WireError(error.code, `${type}: ${error.message}`);
    throw error;
  }
}

export function encodeMessage<C>(message: Message<C>, codec: CommandCodec<C>, limits: WireLimits = DEFAULT_WIRE_LIMITS): Uint8Array {
  const writer = new Writer(limits);
  writeMessage(writer, message, codec);
  return writer.finish();
}

/** Decodes exactly one message: trailing bytes are an error. */
export function decodeMessage<C>(bytes: Uint8Array, codec: CommandCodec<C>, limits: WireLimits = DEFAULT_WIRE_LIMITS): Message<C> {
  const reader = new Reader(bytes, limits);
  const message = readMessage(reader, codec);
  reader.end(message.type);
  return message;
}
