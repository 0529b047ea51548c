/**
 * The on-disk format of a write-ahead log segment, and the scan that recovery
 * runs over it. Shared by the file log and its in-memory twin, so both recover
 * (and report damage) byte for byte alike.
 *
 * A segment is a header followed by records:
 *
 *   header (20 bytes, little-endian):
 *     magic u32 = "SYNW" | version u16 = 1 | flags u16 (bit 0: base) |
 *     sequence u64 | crc32 of the preceding 16 bytes u32
 *   record (8 + length bytes):
 *     length u32 | crc u32 | payload (length bytes)
 *
 * A "base" segment starts the log: nothing before it is part of the log. The
 * first segment and every segment written by a rewrite are bases; segments made
 * by rotation continue the one before them (see wal-recovery.ts).
 *
 * The record crc is CRC-32 (IEEE, zlib's polynomial) from `zlib.crc32`: it is
 * native code in Node 20, where a CRC-32C would have to be computed in
 * JavaScript at a fraction of the speed, and both detect every burst of up to
 * 32 bits. It covers the length field as well as the payload: a damaged length
 * is caught rather than trusted, and a zero-filled region (length 0, crc 0)
 * does not pass as a run of empty records, because the crc of four zero bytes
 * is not 0.
 */
import { crc32 } from 'node:zlib';
import { CorruptLogError } from './errors.js';

export const SEGMENT_MAGIC = 0x574e5953; // "SYNW" read as a little-endian u32
export const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 20;
export const RECORD_HEADER_BYTES = 8;
const FLAG_BASE = 1;
const KNOWN_FLAGS = FLAG_BASE;

export interface SegmentHeader {
  readonly sequence: number;
  readonly base: boolean;
}

const SEGMENT_NAME = /^(\d{16})\.seg$/;

/** `0000000000000042.seg`: fixed width, so names sort in sequence order. */
export function segmentFileName(sequence: number): string {
  return `${String(sequence).padStart(16, '0')}.seg`;
}

export function parseSegmentFileName(name: string): number | null {
  const match = SEGMENT_NAME.exec(name);
  if (match === null || match[1] === undefined) return null;
  const sequence = Number(match[1]);
  return Number.isSafeInteger(sequence) && sequence > 0 ? sequence : null;
}

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SEGMENT_MAGIC, true);
  view.setUint16(4, SEGMENT_FORMAT_VERSION, true);
  view.setUint16(6, header.base ? FLAG_BASE : 0, true);
  view.setBigUint64(8, BigInt(header.sequence), true);
  view.setUint32(16, crc32(bytes.subarray(0, 16)), true);
  return bytes;
}

/** Validates a segment header read from `file`; `expectedSequence` comes from the file name. */
export function decodeSegmentHeader(bytes: Uint8Array, file: string, expectedSequence: number): SegmentHeader {
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    throw new CorruptLogError(file, 0, `segment header cut short: ${bytes.length} of ${SEGMENT_HEADER_BYTES} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  const magic = view.getUint32(0, true);
  if (magic !== SEGMENT_MAGIC) {
    throw new CorruptLogError(file, 0, `bad segment magic 0x${hex(magic)}, expected 0x${hex(SEGMENT_MAGIC)}`);
  }
  const storedCrc = view.getUint32(16, true);
  const actualCrc = crc32(bytes.subarray(0, 16));
  if (storedCrc !== actualCrc) {
    throw new CorruptLogError(file, 16, `segment header checksum mismatch: stored 0x${hex(storedCrc)}, computed 0x${hex(actualCrc)}`);
  }
  const version = view.getUint16(4, true);
  if (version !== SEGMENT_FORMAT_VERSION) {
    throw new CorruptLogError(file, 4, `unsupported segment format version ${version} (this build reads ${SEGMENT_FORMAT_VERSION})`);
  }
  const flags = view.getUint16(6, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new CorruptLogError(file, 6, `unknown segment flags 0x${hex(flags)}`);
  }
  const sequence = view.getBigUint64(8, true);
  if (sequence !== BigInt(expectedSequence)) {
    throw new CorruptLogError(file, 8, `segment header says sequence ${sequence}, the file name says ${expectedSequence}`);
  }
  return { sequence: expectedSequence, base: (flags & FLAG_BASE) !== 0 };
}

export function recordBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + payloadBytes;
}

/** The 8-byte record header for `payload`; the payload itself follows it unchanged. */
export function encodeRecordHeader(payload: Uint8Array): Uint8Array {
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, recordChecksum(header.subarray(0, 4), payload), true);
  return header;
}

/** Header and payload of each record, in order, ready for a vectored write. */
export function encodeRecords(payloads: readonly Uint8Array[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (const payload of payloads) chunks.push(encodeRecordHeader(payload), payload);
  return chunks;
}

function recordChecksum(lengthField: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(lengthField));
}

export interface SegmentScan {
  readonly header: SegmentHeader;
  /** Views into the scanned bytes. */
  readonly payloads: Uint8Array[];
  /** End of the last intact record: where the segment should end. */
  readonly endOffset: number;
  /** What follows `endOffset` when it is a torn tail (only ever in the last segment). */
  readonly torn: { readonly bytes: number; readonly reason: string } | null;
}

/**
 * Reads every record of one segment. In the last segment a damaged tail that a
 * crash during a write can explain is reported as `torn`; anything else, and
 * any damage in an earlier segment (which was synced before its successor was
 * created, so a crash cannot have cut it), throws `CorruptLogError`.
 *
 * A crash can explain, at the first record that does not verify:
 * - a record cut short: fewer than 8 header bytes left, or a length (within
 *   the bound) that runs past the end of the file;
 * - a complete record with a bad crc that ends exactly at the end of the file:
 *   the size grew but the last pages did not reach the disk;
 * - a record header of eight zero bytes: pages of the interrupted write that
 *   never reached the disk read back as zeros. No sync completed after such a
 *   write (a sync would have written those pages too), so nothing from there on
 *   was acknowledged, and dropping the rest of the segment loses no promise.
 * A complete record with a bad crc followed by more data, or a length above the
 * record bound, is corruption.
 *
 * Known limit, shared with every length-prefixed log: a bit flip in the length
 * of a record in the last segment that makes it point past the end of the file
 * looks exactly like a torn write, and the records after it are truncated.
 */
export function scanSegment(
  bytes: Uint8Array,
  file: string,
  options: { readonly sequence: number; readonly last: boolean; readonly recordBytesMax: number },
): SegmentScan {
  const header = decodeSegmentHeader(bytes, file, options.sequence);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloads: Uint8Array[] = [];
  const end = bytes.length;
  let offset = SEGMENT_HEADER_BYTES;
  const cut = (reason: string): SegmentScan => {
    if (!options.last) {
      throw new CorruptLogError(file, offset, `${reason}, in a segment that is not the last (only the last one can be torn by a crash)`);
    }
    return { header, payloads, endOffset: offset, torn: { bytes: end - offset, reason } };
  };
  while (offset < end) {
    const remaining = end - offset;
    if (remaining < RECORD_HEADER_BYTES) return cut(`record header cut short: ${remaining} of ${RECORD_HEADER_BYTES} bytes`);
    const length = view.getUint32(offset, true);
    const storedCrc = view.getUint32(offset + 4, true);
    if (length === 0 && storedCrc === 0) return cut(`zero-filled record header, ${remaining} bytes to the end`);
    if (length > options.recordBytesMax) {
      throw new CorruptLogError(file, offset, `record length ${length} exceeds the bound of ${options.recordBytesMax} bytes`);
    }
    if (length > remaining - RECORD_HEADER_BYTES) {
      return cut(`record of ${length} bytes runs past the end of the file (${remaining - RECORD_HEADER_BYTES} bytes left)`);
    }
    const payload = bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
    const actualCrc = recordChecksum(bytes.subarray(offset, offset + 4), payload);
    if (actualCrc !== storedCrc) {
      const after = remaining - RECORD_HEADER_BYTES - length;
      if (after === 0) return cut(`checksum mismatch on the final record (${length} bytes)`);
      throw new CorruptLogError(
        file,
        offset,
        `record checksum mismatch (stored 0x${hex(storedCrc)}, computed 0x${hex(actualCrc)}) on a record of ${length} bytes followed by ${after} more bytes`,
      );
    }
    payloads.push(payload);
    offset += RECORD_HEADER_BYTES + length;
  }
  return { header, payloads, endOffset: offset, torn: null };
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
