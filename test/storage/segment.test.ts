/**
 * The segment scan's torn-versus-corrupt decisions, on hand-made bytes: which
 * damage a crash during a write can explain (and is truncated), and which it
 * cannot (and stops recovery).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { CorruptLogError } from '../../src/storage/errors.js';
import {
  decodeSegmentHeader,
  encodeRecords,
  encodeSegmentHeader,
  parseSegmentFileName,
  RECORD_HEADER_BYTES,
  scanSegment,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
} from '../../src/storage/segment.js';
import { bytes, texts } from './helpers.js';

function segment(...chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat([encodeSegmentHeader({ sequence: 7, base: false }), ...chunks]);
}

const scan = (content: Uint8Array, last = true) => scanSegment(content, 'seg', { sequence: 7, last, recordBytesMax: 1000 });

describe('segment format', () => {
  it('names sort in sequence order and parse back', () => {
    assert.equal(segmentFileName(42), '0000000000000042.seg');
    assert.equal(parseSegmentFileName('0000000000000042.seg'), 42);
    assert.equal(parseSegmentFileName('0000000000000042.seg.tmp'), null);
    assert.equal(parseSegmentFileName('0000000000000000.seg'), null);
    assert.ok(segmentFileName(9) < segmentFileName(10));
  });

  it('a header round-trips, and one with the wrong sequence for its name is refused', () => {
    const header = encodeSegmentHeader({ sequence: 3, base: true });
    assert.equal(header.length, SEGMENT_HEADER_BYTES);
    assert.deepEqual(decodeSegmentHeader(header, 'f', 3), { sequence: 3, base: true });
    assert.throws(() => decodeSegmentHeader(header, 'f', 4), /f at byte offset 8: segment header says sequence 3, the file name says 4/);
  });

  it('an unknown format version is refused by name', () => {
    const header = encodeSegmentHeader({ sequence: 1, base: true });
    header[4] = 2;
    // Recompute the header checksum so only the version is wrong.
    const fixed = Buffer.from(header);
    fixed.writeUInt32LE(crc32(fixed.subarray(0, 16)), 16);
    assert.throws(() => decodeSegmentHeader(fixed, 'f', 1), /unsupported segment format version 2/);
  });

  it('a zero-filled tail (unwritten pages of an interrupted write) is torn, not records', () => {
    const content = segment(...encodeRecords([bytes('ok')]), new Uint8Array(64));
    const result = scan(content);
    assert.deepEqual(texts(result.payloads), ['ok']);
    assert.equal(result.torn?.bytes, 64);
    assert.match(result.torn?.reason ?? '', /zero-filled/);
  });

  it('zero pages in the middle of the last segment drop what follows them (it was never synced)', () => {
    const content = segment(...encodeRecords([bytes('ok')]), new Uint8Array(16), ...encodeRecords([bytes('unsynced')]));
    assert.deepEqual(texts(scan(content).payloads), ['ok']);
    assert.throws(() => scan(content, false), CorruptLogError);
  });

  it('an empty payload is a record, not mistaken for zeros, because the crc covers the length', () => {
    const result = scan(segment(...encodeRecords([new Uint8Array(0), bytes('x')])));
    assert.deepEqual(texts(result.payloads), ['', 'x']);
    assert.equal(result.torn, null);
  });

  it('a length above the record bound is corruption even at the tail', () => {
    const content = segment(...encodeRecords([bytes('ok')]), Uint8Array.of(0xe9, 0x03, 0, 0, 1, 2, 3, 4));
    assert.throws(() => scan(content), /at byte offset 30: record length 1001 exceeds the bound of 1000 bytes/);
  });

  it('a damaged length inside the segment is caught by the crc, not trusted', () => {
    const records = encodeRecords([bytes('abcdef'), bytes('ghijkl'), bytes('mnopqr')]);
    const content = segment(...records);
    content[SEGMENT_HEADER_BYTES] = 2; // the first record now claims 2 bytes
    assert.throws(() => scan(content), /at byte offset 20: record checksum mismatch .* followed by/);
  });

  it('an intact segment scans clean to its end', () => {
    const content = segment(...encodeRecords([bytes('a'), bytes('bc')]));
    const result = scan(content);
    assert.equal(result.torn, null);
    assert.equal(result.endOffset, SEGMENT_HEADER_BYTES + 2 * RECORD_HEADER_BYTES + 3);
  });
});
