/**
 * The decoders face untrusted bytes. For random inputs, every truncation of a
 * valid encoding and random mutations of valid encodings, decoding must either
 * throw a WireError or return a value whose encoding is exactly the input (the
 * encoding is canonical, so "decodes" implies "is the encoding of a valid
 * value"). Any other exception, or a hang (the test timeout), is a bug.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { bytesCommandCodec, jsonCommandCodec } from '../../src/wire/command-codec.js';
import { WireError } from '../../src/wire/errors.js';
import { decodeHandshake, encodeHandshake } from '../../src/wire/frame.js';
import { MESSAGE_TAGS, decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { RECORD_TAGS, decodeRecord, encodeRecord } from '../../src/wire/record.js';
import { bytesCommandArb, isKvCommand, kvCommandArb, messageArb, nodeIdArb, recordArb } from './arbitraries.js';

const TIMEOUT_MS = 15_000;

interface Tally {
  tried: number;
  decoded: number;
  rejected: number;
}

function tally(): Tally {
  return { tried: 0, decoded: 0, rejected: 0 };
}

/** Decodes `bytes`; on success `reencode` must give them back. Counts outcomes. */
function probe<T>(counts: Tally, bytes: Uint8Array, decode: (b: Uint8Array) => T, reencode: (v: T) => Uint8Array): void {
  counts.tried++;
  let value: T;
  try {
    value = decode(bytes);
  } catch (error) {
    if (!(error instanceof WireError)) throw new Error(`non-WireError ${String(error)} for input ${Buffer.from(bytes).toString('hex')}`, { cause: error });
    counts.rejected++;
    return;
  }
  counts.decoded++;
  assert.deepStrictEqual(reencode(value), bytes, `input ${Buffer.from(bytes).toString('hex')} decoded but is not canonical`);
}

const decodeBytesMessage = (b: Uint8Array) => decodeMessage(b, bytesCommandCodec);
const encodeBytesMessage = (m: ReturnType<typeof decodeBytesMessage>) => encodeMessage(m, bytesCommandCodec);
const decodeBytesRecord = (b: Uint8Array) => decodeRecord(b, bytesCommandCodec);
const encodeBytesRecord = (r: ReturnType<typeof decodeBytesRecord>) => encodeRecord(r, bytesCommandCodec);

/** Random bytes that start with a real tag, so the fuzzer gets past the first byte. */
function taggedBytesArb(tags: readonly number[], maxLength = 96): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.constantFrom(...tags), fc.uint8Array({ maxLength }))
    .map(([tag, rest]) => Uint8Array.from([tag, ...rest]));
}

type Mutation = { op: 'set'; index: number; byte: number } | { op: 'insert'; index: number; byte: number } | { op: 'delete'; index: number };

const mutationsArb: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ op: fc.constant('set' as const), index: fc.nat(), byte: fc.nat({ max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), index: fc.nat(), byte: fc.nat({ max: 255 }) }),
    fc.record({ op: fc.constant('delete' as const), index: fc.nat() }),
  ),
  { minLength: 1, maxLength: 3 },
);

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  const out = [...bytes];
  for (const m of mutations) {
    const index = out.length === 0 ? 0 : m.index % (out.length + (m.op === 'insert' ? 1 : 0));
    if (m.op === 'set' && out.length > 0) out[index] = m.byte;
    else if (m.op === 'insert') out.splice(index, 0, m.byte);
    else if (m.op === 'delete' && out.length > 0) out.splice(index, 1);
  }
  return Uint8Array.from(out);
}

describe('decoders under fuzzing', { timeout: TIMEOUT_MS }, () => {
  it('random bytes never escape as anything but a WireError (messages)', (t) => {
    const counts = tally();
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), taggedBytesArb(Object.values(MESSAGE_TAGS))), (bytes) => {
        probe(counts, bytes, decodeBytesMessage, encodeBytesMessage);
      }),
      { numRuns: 20_000 },
    );
    t.diagnostic(`messages: ${JSON.stringify(counts)}`);
    assert.equal(counts.tried, 20_000);
    assert.ok(counts.rejected > 0);
  });

  it('random bytes never escape as anything but a WireError (records)', (t) => {
    const counts = tally();
    fc.assert(
      // Short tagged inputs too, so some decode whole (a promise, an empty genesis) and the canonicity check runs.
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), taggedBytesArb(Object.values(RECORD_TAGS)), taggedBytesArb(Object.values(RECORD_TAGS), 2)), (bytes) => {
        probe(counts, bytes, decodeBytesRecord, encodeBytesRecord);
      }),
      { numRuns: 20_000 },
    );
    t.diagnostic(`records: ${JSON.stringify(counts)}`);
    assert.equal(counts.tried, 20_000);
    // Short record bodies are easy to hit at random: the canonicity check ran on real values.
    assert.ok(counts.decoded > 0, 'no random input decoded: the re-encoding check never ran');
  });

  it('every strict prefix of a valid encoding is refused as truncated', (t) => {
    let prefixes = 0;
    const check = (bytes: Uint8Array, decode: (b: Uint8Array) => unknown) => {
      for (let length = 0; length < bytes.byteLength; length++) {
        prefixes++;
        assert.throws(
          () => decode(bytes.subarray(0, length)),
          (error: unknown) => error instanceof WireError && error.code === 'truncated',
          `prefix of ${length}/${bytes.byteLength} bytes of ${Buffer.from(bytes).toString('hex')}`,
        );
      }
    };
    fc.assert(fc.property(messageArb(bytesCommandArb), (m) => check(encodeBytesMessage(m), decodeBytesMessage)), { numRuns: 400 });
    fc.assert(fc.property(recordArb(bytesCommandArb), (r) => check(encodeBytesRecord(r), decodeBytesRecord)), { numRuns: 400 });
    t.diagnostic(`prefixes tried: ${prefixes}`);
    assert.ok(prefixes > 5_000);
  });

  it('mutated valid encodings decode canonically or throw a WireError', (t) => {
    const messages = tally();
    const records = tally();
    fc.assert(
      fc.property(messageArb(bytesCommandArb), mutationsArb, (m, mutations) => {
        probe(messages, mutate(encodeBytesMessage(m), mutations), decodeBytesMessage, encodeBytesMessage);
      }),
      { numRuns: 10_000 },
    );
    fc.assert(
      fc.property(recordArb(bytesCommandArb), mutationsArb, (r, mutations) => {
        probe(records, mutate(encodeBytesRecord(r), mutations), decodeBytesRecord, encodeBytesRecord);
      }),
      { numRuns: 5_000 },
    );
    t.diagnostic(`mutated messages: ${JSON.stringify(messages)}; mutated records: ${JSON.stringify(records)}`);
    // Both outcomes must occur, or the test is not exercising the decoder.
    assert.ok(messages.decoded > 100 && messages.rejected > 100, JSON.stringify(messages));
    assert.ok(records.decoded > 100 && records.rejected > 100, JSON.stringify(records));
  });

  it('mutated encodings with JSON commands decode to a value that round-trips, or throw a WireError', (t) => {
    const codec = jsonCommandCodec(isKvCommand);
    const counts = tally();
    fc.assert(
      fc.property(messageArb(kvCommandArb), mutationsArb, (m, mutations) => {
        const bytes = mutate(encodeMessage(m, codec), mutations);
        counts.tried++;
        let decoded;
        try {
          decoded = decodeMessage(bytes, codec);
        } catch (error) {
          if (!(error instanceof WireError)) throw error;
          counts.rejected++;
          return;
        }
        counts.decoded++;
        // JSON text is not canonical (whitespace), so compare values, not bytes.
        assert.deepStrictEqual(decodeMessage(encodeMessage(decoded, codec), codec), decoded);
      }),
      { numRuns: 5_000 },
    );
    t.diagnostic(`mutated JSON messages: ${JSON.stringify(counts)}`);
    assert.ok(counts.decoded > 0 && counts.rejected > 0);
  });

  it('handshakes: random and mutated bytes decode canonically or throw a WireError', (t) => {
    const counts = tally();
    const handshakeArb = fc.record({ clusterId: fc.string({ maxLength: 10 }), from: nodeIdArb, to: nodeIdArb, incarnation: fc.string({ maxLength: 16 }) });
    fc.assert(
      fc.property(handshakeArb, mutationsArb, (handshake, mutations) => {
        const bytes = encodeHandshake(handshake);
        assert.deepStrictEqual(decodeHandshake(bytes), { ...handshake });
        probe(counts, mutate(bytes, mutations), decodeHandshake, (h) => encodeHandshake(h));
        probe(counts, mutate(Uint8Array.from([0x53, 0x59, 0x4e, 0x4f, 0x44]), mutations), decodeHandshake, (h) => encodeHandshake(h));
      }),
      { numRuns: 3_000 },
    );
    t.diagnostic(`handshakes: ${JSON.stringify(counts)}`);
    assert.ok(counts.decoded > 0 && counts.rejected > 0);
  });
});
