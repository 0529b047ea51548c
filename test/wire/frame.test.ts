/**
 * Framing over a byte stream: frames come out whole however the stream is cut
 * into chunks; a bad header (zero or oversized length, other version) is refused
 * as soon as its five bytes arrive, before any body is buffered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { nodeId } from '../../src/core/ids.js';
import { bytesCommandCodec } from '../../src/wire/command-codec.js';
import { WireError } from '../../src/wire/errors.js';
import {
  FRAME_HEADER_BYTES,
  FrameDecoder,
  PROTOCOL_VERSION,
  decodeHandshake,
  encodeFrame,
  encodeHandshake,
  encodeMessageFrame,
} from '../../src/wire/frame.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { bytesCommandArb, messageArb } from './arbitraries.js';

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function cut(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.byteLength + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.byteLength]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

function rejectsHeader(header: number[], code: string, pattern: RegExp, frameBytesMax = 1024): void {
  const decoder = new FrameDecoder(frameBytesMax);
  assert.throws(
    () => decoder.push(Uint8Array.from(header)),
    (e: unknown) => e instanceof WireError && e.code === code && pattern.test(e.message),
  );
  // Failed for good: nothing more is accepted or buffered.
  assert.throws(() => decoder.push(new Uint8Array(10)), WireError);
  assert.equal(decoder.bufferedBytes, 0);
}

describe('FrameDecoder', () => {
  it('returns the same frames however the stream is chunked', () => {
    let frames = 0;
    fc.assert(
      fc.property(fc.array(messageArb(bytesCommandArb), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (messages, offsets) => {
        const stream = concat(messages.map((m) => encodeMessageFrame(m, bytesCommandCodec)));
        const decoder = new FrameDecoder();
        const decoded = cut(stream, offsets).flatMap((chunk) =>
          decoder.push(chunk).map((frame) => {
            assert.equal(frame.version, PROTOCOL_VERSION);
            return decodeMessage(frame.payload, bytesCommandCodec);
          }),
        );
        frames += decoded.length;
        assert.deepStrictEqual(decoded, messages);
        assert.equal(decoder.bufferedBytes, 0);
      }),
      { numRuns: 500 },
    );
    assert.ok(frames >= 500);
  });

  it('delivers a frame split into single bytes', () => {
    const payload = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
    const decoder = new FrameDecoder();
    const frames = [...encodeFrame(payload)].flatMap((byte) => decoder.push(Uint8Array.of(byte)));
    assert.equal(frames.length, 1);
    assert.deepStrictEqual(frames[0]?.payload, payload);
  });

  it('accepts an empty payload (length 1: just the version)', () => {
    const frames = new FrameDecoder().push(encodeFrame(new Uint8Array(0)));
    assert.equal(frames.length, 1);
    assert.equal(frames[0]?.payload.byteLength, 0);
  });

  it('refuses a zero length', () => rejectsHeader([0, 0, 0, 0, PROTOCOL_VERSION], 'invalid', /frame length 0/));

  it('refuses an oversized length from the header alone, buffering nothing of the body', () =>
    rejectsHeader([0xff, 0xff, 0xff, 0xff, PROTOCOL_VERSION], 'over-bound', /4294967295 bytes is over the 1024-byte bound/));

  it('refuses another protocol version', () => rejectsHeader([0, 0, 0, 1, 99], 'version', /protocol version 99, this node speaks 1/));

  it('waits for a header split across chunks before judging it', () => {
    const decoder = new FrameDecoder(1024);
    assert.deepEqual(decoder.push(Uint8Array.from([0, 0, 0x10])), []);
    assert.throws(() => decoder.push(Uint8Array.from([0, PROTOCOL_VERSION])), /over the 1024-byte bound/);
  });

  it('refuses a message frame over frameBytesMax when encoding', () => {
    const message = { type: 'snapshot' as const, from: nodeId('a'), to: nodeId('b'), throughSlot: 1 as never, offset: 0, total: 100, data: new Uint8Array(100), configs: [] };
    assert.throws(() => encodeMessageFrame(message, bytesCommandCodec, 50), (e: unknown) => e instanceof WireError && e.code === 'over-bound');
    const frame = encodeMessageFrame(message, bytesCommandCodec, 200);
    assert.deepStrictEqual(frame.subarray(FRAME_HEADER_BYTES), encodeMessage(message, bytesCommandCodec));
  });
});

describe('handshake', () => {
  it('round-trips and refuses a payload that is not a handshake', () => {
    const handshake = { clusterId: 'c1', from: nodeId('n1'), to: nodeId('n2'), incarnation: '5f3a9c' };
    assert.deepEqual(decodeHandshake(encodeHandshake(handshake)), handshake);
    assert.throws(() => decodeHandshake(encodeMessage({ type: 'accepted', from: nodeId('n1'), to: nodeId('n2'), ballot: { round: 1, node: nodeId('n1') }, slot: 1 as never }, bytesCommandCodec)), /bad magic/);
    assert.throws(() => decodeHandshake(encodeHandshake({ ...handshake, from: '' as never })), /cannot encode: node id is empty/);
  });
});
