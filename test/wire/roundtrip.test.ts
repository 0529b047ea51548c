/**
 * Every variant of Message<C> and DurableRecord<C> survives encode -> decode
 * unchanged, under both command codecs, and its encoding is canonical
 * (re-encoding the decoded value gives the same bytes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DurableRecord, Message } from '../../src/core/multipaxos/types.js';
import { bytesCommandCodec, jsonCommandCodec, type CommandCodec } from '../../src/wire/command-codec.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { decodeRecord, encodeRecord } from '../../src/wire/record.js';
import { bytesCommandArb, isKvCommand, kvCommandArb, messageArbs, recordArbs, type KvCommand } from './arbitraries.js';

const RUNS_PER_VARIANT = 300;
const kvCodec: CommandCodec<KvCommand> = jsonCommandCodec(isKvCommand);

function checkMessage<C>(message: Message<C>, codec: CommandCodec<C>): void {
  const bytes = encodeMessage(message, codec);
  const decoded = decodeMessage(bytes, codec);
  assert.deepStrictEqual(decoded, message);
  assert.deepStrictEqual(encodeMessage(decoded, codec), bytes);
}

function checkRecord<C>(record: DurableRecord<C>, codec: CommandCodec<C>): void {
  const bytes = encodeRecord(record, codec);
  const decoded = decodeRecord(bytes, codec);
  assert.deepStrictEqual(decoded, record);
  assert.deepStrictEqual(encodeRecord(decoded, codec), bytes);
}

describe('message round trip', () => {
  for (const [type, arbitrary] of Object.entries(messageArbs(bytesCommandArb))) {
    it(`${type} with byte commands decodes to the message it encoded`, () => {
      fc.assert(fc.property(arbitrary as fc.Arbitrary<Message<Uint8Array>>, (m) => checkMessage(m, bytesCommandCodec)), { numRuns: RUNS_PER_VARIANT });
    });
  }
  for (const [type, arbitrary] of Object.entries(messageArbs(kvCommandArb))) {
    it(`${type} with JSON commands decodes to the message it encoded`, () => {
      fc.assert(fc.property(arbitrary as fc.Arbitrary<Message<KvCommand>>, (m) => checkMessage(m, kvCodec)), { numRuns: RUNS_PER_VARIANT / 3 });
    });
  }
});

describe('durable record round trip', () => {
  for (const [kind, arbitrary] of Object.entries(recordArbs(bytesCommandArb))) {
    it(`${kind} record with byte commands decodes to the record it encoded`, () => {
      fc.assert(fc.property(arbitrary as fc.Arbitrary<DurableRecord<Uint8Array>>, (r) => checkRecord(r, bytesCommandCodec)), { numRuns: RUNS_PER_VARIANT });
    });
  }
  for (const [kind, arbitrary] of Object.entries(recordArbs(kvCommandArb))) {
    it(`${kind} record with JSON commands decodes to the record it encoded`, () => {
      fc.assert(fc.property(arbitrary as fc.Arbitrary<DurableRecord<KvCommand>>, (r) => checkRecord(r, kvCodec)), { numRuns: RUNS_PER_VARIANT / 3 });
    });
  }
});
