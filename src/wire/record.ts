/**
 * The binary encoding of DurableRecord<C>, what a replica persists.
 *
 *   record := tag:u8 fields...
 *
 * The storage layer adds its own framing, checksums and format version; this is
 * only the record body. The same rules as messages are checked (see message.ts):
 * known tag, valid ballots (ZERO_BALLOT allowed: a log rewrite may record it),
 * vote and decision slots >= 1, bounded lengths, no trailing bytes.
 *
 * Adding a variant: a new number in RECORD_TAGS (never reuse one: the tags are
 * on disk), then the compiler points at the two switches to extend.
 */
import { assertNever } from '../core/assert.js';
import type { DurableRecord } from '../core/multipaxos/types.js';
import { DEFAULT_WIRE_LIMITS, Reader, Writer, type WireLimits } from './buffer.js';
import type { CommandCodec } from './command-codec.js';
import { WireError } from './errors.js';
import {
  readBallot,
  readConfigEntries,
  readEntrySlot,
  readSlot,
  readSlotValue,
  writeBallot,
  writeConfigEntries,
  writeEntrySlot,
  writeSlot,
  writeSlotValue,
} from './fields.js';

export type RecordKind = DurableRecord<unknown>['kind'];

export const RECORD_TAGS = Object.freeze({
  promise: 1,
  accept: 2,
  decide: 3,
  snapshot: 4,
  genesis: 5,
} as const satisfies Record<RecordKind, number>);

const KIND_OF_TAG: ReadonlyMap<number, RecordKind> = new Map(
  Object.entries(RECORD_TAGS).map(([kind, tag]) => [tag, kind as RecordKind]),
);

export function writeRecord<C>(writer: Writer, record: DurableRecord<C>, codec: CommandCodec<C>): void {
  writer.u8(RECORD_TAGS[record.kind]);
  const r = record;
  switch (r.kind) {
    case 'promise':
      writeBallot(writer, r.ballot, 'ballot');
      return;
    case 'accept':
      writeEntrySlot(writer, r.slot);
      writeBallot(writer, r.ballot, 'ballot');
      writeSlotValue(writer, r.value, codec, 'value');
      return;
    case 'decide':
      writeEntrySlot(writer, r.slot);
      writeSlotValue(writer, r.value, codec, 'value');
      return;
    case 'snapshot':
      writeSlot(writer, r.throughSlot);
      writer.bytes(r.data, 'snapshot data');
      writeConfigEntries(writer, r.configs, 'configs');
      return;
    case 'genesis':
      writeConfigEntries(writer, r.configs, 'configs');
      return;
    default:
      assertNever(r, 'durable record');
  }
}

export function readRecord<C>(reader: Reader, codec: CommandCodec<C>): DurableRecord<C> {
  const tag = reader.u8('record tag');
  const kind = KIND_OF_TAG.get(tag);
  if (kind === undefined) throw new WireError('unknown-tag', `unknown durable record tag ${tag}`);
  try {
    switch (kind) {
      case 'promise':
        return { kind, ballot: readBallot(reader, 'ballot') };
      case 'accept':
        return { kind, slot: readEntrySlot(reader, 'slot'), ballot: readBallot(reader, 'ballot'), value: readSlotValue(reader, codec, 'value') };
      case 'decide':
        return { kind, slot: readEntrySlot(reader, 'slot'), value: readSlotValue(reader, codec, 'value') };
      case 'snapshot':
        return { kind, throughSlot: readSlot(reader, 'throughSlot'), data: reader.bytes('data'), configs: readConfigEntries(reader, 'configs') };
      case 'genesis':
        return { kind, configs: readConfigEntries(reader, 'configs') };
      default:
        return assertNever(kind, 'durable record kind');
    }
  } catch (error) {
    if (error instanceof WireError) throw new WireError(error.code, `${kind} record: ${error.message}`);
    throw error;
  }
}

export function encodeRecord<C>(record: DurableRecord<C>, codec: CommandCodec<C>, limits: WireLimits = DEFAULT_WIRE_LIMITS): Uint8Array {
  const writer = new Writer(limits);
  writeRecord(writer, record, codec);
  return writer.finish();
}

/** Decodes exactly one record: trailing bytes are an error. */
export function decodeRecord<C>(bytes: Uint8Array, codec: CommandCodec<C>, limits: WireLimits = DEFAULT_WIRE_LIMITS): DurableRecord<C> {
  const reader = new Reader(bytes, limits);
  const record = readRecord(reader, codec);
  reader.end(`${record.kind} record`);
  return record;
}
