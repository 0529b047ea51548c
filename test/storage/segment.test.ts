/**
 * The segment scan's torn-versus-corrupt decisions, on hand-made bytes: which
 * damage a crash during the final write can explain (that write is cut off),
 * and which it cannot (recovery stops, naming the offset).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { CorruptLogError } from '../../src/storage/errors.js';
import {
  decodeSegmentHeader,
  encodeSegmentHeader,
  encodeWrite,
  parseSegmentFileName,
  RECORD_HEADER_BYTES,
  scanSegment,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  usableSalt,
  WRITE_FLAG_END,
  WRITE_FLAG_SEAL,
  WRITE_HEADER_BYTES,
} from '../../src/storage/segment.js';
import { bytes, texts, versionOneSegmentHeader } from './helpers.js';

const salt = usableSalt(0x5eed);

function write(records: readonly string[], flags = 0, withSalt = salt): Buffer {
  return Buffer.concat(encodeWrite(records.map(bytes), withSalt, flags));
}

/** A segment (sequence 7) holding `writes`; the first `createdWrites` of them are its created bytes, as a rewrite makes. */
function segment(writes: readonly Uint8Array[], createdWrites = 0): Buffer {
  const createdBytes = SEGMENT_HEADER_BYTES + writes.slice(0, createdWrites).reduce((sum, w) => sum + w.length, 0);
  return Buffer.concat([encodeSegmentHeader({ sequence: 7, base: createdWrites > 0, createdBytes, salt }), ...writes]);
}

const scan = (content: Uint8Array) => scanSegment(content, 'seg', { sequence: 7, recordBytesMax: 1000 });

function corruptAt(offset: number, pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof CorruptLogError, `expected CorruptLogError, got ${String(error)}`);
    assert.equal(error.file, 'seg');
    assert.equal(error.offset, offset, error.message);
    assert.match(error.message, pattern);
    return true;
  };
}

/** Offset of the first record of the write at `writeOffset`. */
const firstRecord = (writeOffset: number) => writeOffset + WRITE_HEADER_BYTES;

describe('segment format', () => {
  it('names sort in sequence order and parse back', () => {
    assert.equal(segmentFileName(42), '0000000000000042.seg');
    assert.equal(parseSegmentFileName('0000000000000042.seg'), 42);
    assert.equal(parseSegmentFileName('0000000000000042.seg.tmp'), null);
    assert.equal(parseSegmentFileName('0000000000000000.seg'), null);
    assert.ok(segmentFileName(9) < segmentFileName(10));
  });

  it('a header round-trips, and one with the wrong sequence for its name is refused', () => {
    const fields = { sequence: 3, base: true, createdBytes: 100, salt };
    const header = encodeSegmentHeader(fields);
    assert.equal(header.length, SEGMENT_HEADER_BYTES);
    assert.deepEqual(decodeSegmentHeader(header, 'f', 3), fields);
    assert.throws(() => decodeSegmentHeader(header, 'f', 4), /f at byte offset 8: segment header says sequence 3, the file name says 4/);
  });

  it('an unknown format version is refused by name', () => {
    const header = Buffer.from(encodeSegmentHeader({ sequence: 1, base: true, createdBytes: SEGMENT_HEADER_BYTES, salt }));
    header.writeUInt16LE(3, 4);
    // Recompute the header checksum so only the version is wrong.
    header.writeUInt32LE(crc32(header.subarray(0, 28)), 28);
    assert.throws(() => decodeSegmentHeader(header, 'f', 1), /unsupported segment format version 3/);
  });

  it('a segment of the old format (version 1) is refused with a message that says so', () => {
    const v1 = versionOneSegmentHeader();
    assert.throws(
      () => decodeSegmentHeader(v1, 'old.seg', 1),
      corruptOld('old.seg'),
    );
    // With records after it, as an old log would have them.
    assert.throws(() => scanSegment(Buffer.concat([v1, Buffer.alloc(40, 7)]), 'old.seg', { sequence: 1, recordBytesMax: 1000 }), corruptOld('old.seg'));
  });

  it('intact writes scan clean to the end, and a seal after the last record write marks the segment sealed', () => {
    const open = scan(segment([write(['a', 'bc']), write([''])]));
    assert.deepEqual(texts(open.payloads), ['a', 'bc', '']);
    assert.equal(open.torn, null);
    assert.equal(open.sealed, false);
    assert.equal(open.endOffset, SEGMENT_HEADER_BYTES + 2 * WRITE_HEADER_BYTES + 3 * RECORD_HEADER_BYTES + 3);
    const sealed = scan(segment([write(['a', 'bc']), write([], WRITE_FLAG_SEAL)]));
    assert.equal(sealed.sealed, true);
    assert.equal(sealed.torn, null);
  });
});

describe('segment scan: damage in a synced write is corruption', () => {
  it('a flipped bit in a record length that makes it run past the end of the file is corruption when a later write follows', () => {
    const first = write(['abcdef', 'ghijkl']);
    const content = segment([first, write(['mnop'])]);
    const record = firstRecord(SEGMENT_HEADER_BYTES);
    content[record + 1] = (content[record + 1] ?? 0) ^ 0x80; // the length is now 32774
    const before = Buffer.from(content);
    assert.throws(() => scanSegment(content, 'seg', { sequence: 7, recordBytesMax: 1 << 20 }), corruptAt(record, /record of 32774 bytes runs past the end of its write.*a later write was made/));
    assert.deepEqual(content, before, 'the scan changes nothing');
  });

  it('a flipped payload bit in the first of several writes is corruption at that record', () => {
    const content = segment([write(['one', 'two']), write(['three'])]);
    const second = firstRecord(SEGMENT_HEADER_BYTES) + RECORD_HEADER_BYTES + 3;
    content[second + RECORD_HEADER_BYTES] = (content[second + RECORD_HEADER_BYTES] ?? 0) ^ 0x01;
    assert.throws(() => scan(content), corruptAt(second, /record checksum mismatch .* on a record of 3 bytes, in the write at byte 32/));
  });

  it('a damaged write header is corruption when an intact write begins anywhere after it', () => {
    const content = segment([write(['one', 'two']), write(['three'])]);
    content[SEGMENT_HEADER_BYTES + 9] = (content[SEGMENT_HEADER_BYTES + 9] ?? 0) ^ 0x10; // the write's length field
    const laterWrite = SEGMENT_HEADER_BYTES + write(['one', 'two']).length;
    assert.throws(() => scan(content), corruptAt(SEGMENT_HEADER_BYTES, new RegExp(`write header checksum mismatch.*intact write begins later, at byte ${laterWrite}`)));
  });

  it('damage in the created bytes (a rewrite\'s records, synced before the segment was named) is corruption though nothing follows', () => {
    const content = segment([write(['snapshot', 'promise'])], 1);
    const record = firstRecord(SEGMENT_HEADER_BYTES);
    content[record] = (content[record] ?? 0) ^ 0x04;
    assert.throws(() => scan(content), corruptAt(record, /within the first \d+ bytes, which were synced before the segment was named/));
    const cut = segment([write(['snapshot', 'promise'])], 1).subarray(0, record + 3);
    assert.throws(() => scan(cut), /was created \(and synced\) with \d+: its created bytes were cut off/);
  });

  it('a zero-filled record header inside a synced write is damage, not an empty record', () => {
    const content = segment([write(['abc', 'def']), write([], WRITE_FLAG_SEAL)]);
    const second = firstRecord(SEGMENT_HEADER_BYTES) + RECORD_HEADER_BYTES + 3;
    content.fill(0, second, second + RECORD_HEADER_BYTES);
    assert.throws(() => scan(content), corruptAt(second, /checksum mismatch/));
  });

  it('an empty payload is a record, because the crc covers the length, even one with no backing store', () => {
    // TextEncoder's '' has no backing store, for which Node 20's crc32 ignores its running value.
    assert.equal(new TextEncoder().encode('').buffer.byteLength, 0);
    const result = scan(segment([write(['', 'x'])]));
    assert.deepEqual(texts(result.payloads), ['', 'x']);
    assert.equal(result.torn, null);
  });

  it('bytes after an end write are corruption: nothing is written to a segment after it', () => {
    const content = segment([write(['a'], WRITE_FLAG_END), write(['b'])]);
    assert.throws(() => scan(content), /bytes follow the segment's end write/);
    assert.equal(scan(segment([write(['a'], WRITE_FLAG_END)])).ended, true);
  });
});

describe('segment scan: damage in the final write is a torn write, cut off whole', () => {
  const earlier = write(['kept']);
  const finalAt = SEGMENT_HEADER_BYTES + earlier.length;

  function torn(content: Uint8Array, reason: RegExp): void {
    const result = scan(content);
    assert.deepEqual(texts(result.payloads), ['kept']);
    assert.equal(result.torn?.offset, finalAt);
    assert.equal(result.torn?.bytes, content.length - finalAt);
    assert.equal(result.endOffset, finalAt);
    assert.match(result.torn?.reason ?? '', reason);
  }

  it('cut anywhere: in its header, in a record header, in a payload', () => {
    const full = segment([earlier, write(['abcdef', 'ghijkl'])]);
    for (let keep = finalAt + 1; keep < full.length; keep += 1) torn(full.subarray(0, keep), /cut short|runs past the end of the file/);
  });

  it('a record length flipped far past the end of the file, beyond the record bound', () => {
    const content = segment([earlier, write(['abcdef', 'ghijkl'])]);
    content[firstRecord(finalAt) + 1] = (content[firstRecord(finalAt) + 1] ?? 0) ^ 0x80;
    torn(content, /exceeds the bound of 1000 bytes/);
  });

  it('its first bytes zeroed (its first page never written) while later pages made it', () => {
    const content = segment([earlier, write(['abcdef', 'ghijkl', 'mnopqr'])]);
    content.fill(0, finalAt, finalAt + WRITE_HEADER_BYTES + 5);
    torn(content, /no write header/);
  });

  it('garbled in the middle, and garbage after an intact log', () => {
    const content = segment([earlier, write(['abcdef', 'ghijkl', 'mnopqr'])]);
    for (let at = firstRecord(finalAt) + 4; at < firstRecord(finalAt) + 20; at += 1) content[at] = (at * 37) & 0xff;
    torn(content, /checksum mismatch|exceeds the bound|runs past/);
    torn(Buffer.concat([segment([earlier]), Buffer.from('not a write at all, just bytes')]), /no write header/);
  });

  it('a payload that embeds a write of another segment (another salt) is not taken for a later write', () => {
    const embedded = Buffer.concat([write(['x'], 0, usableSalt(0xbad)), write(['y'], 0, usableSalt(0xbad))]);
    const content = segment([earlier, Buffer.concat(encodeWrite([bytes('aaaa'), embedded], salt))]);
    content.fill(0, finalAt, finalAt + WRITE_HEADER_BYTES); // the final write's header never reached the disk
    torn(content, /no write header/);
    // The same bytes under this segment's salt would be a write, and prove the damaged one had been synced.
    const sameSalt = segment([earlier, Buffer.concat(encodeWrite([bytes('aaaa'), write(['x'])], salt))]);
    sameSalt.fill(0, finalAt, finalAt + WRITE_HEADER_BYTES);
    assert.throws(() => scan(sameSalt), /intact write begins later/);
  });

  it('a torn seal loses no record', () => {
    const content = segment([earlier, write([], WRITE_FLAG_SEAL)]);
    torn(content.subarray(0, content.length - 3), /write header cut short/);
  });
});

function corruptOld(file: string): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof CorruptLogError);
    assert.equal(error.file, file);
    assert.equal(error.offset, 4);
    assert.match(error.message, /segment format version 1, written by an older build; this build reads version 2 only/);
    return true;
  };
}
