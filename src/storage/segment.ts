/**
 * The on-disk format of a write-ahead log segment, and the scan that recovery
 * runs over it. Shared by the file log and its in-memory twin, so both recover
 * (and report damage) byte for byte alike.
 *
 * A segment is a header followed by writes; a write is a write header followed
 * by records. One write is what one `pwritev` + `fdatasync` puts on disk: a
 * group-commit batch (or the part of it that fits in this segment), the
 * records a rewrite starts a segment with, or one of the two record-less
 * markers below.
 *
 *   segment header (32 bytes, little-endian):
 *     magic u32 = "SYNW" | version u16 = 2 | flags u16 (bit 0: base) |
 *     sequence u64 | createdBytes u64 | salt u32 |
 *     crc32 of the preceding 28 bytes u32
 *   write header (20 bytes):
 *     magic u32 = "SYWR" | flags u32 (bit 0: end, bit 1: seal) |
 *     recordsBytes u64 (the records that follow, frames included) |
 *     crc32 of the preceding 16 bytes, seeded with the salt u32
 *   record (8 + length bytes):
 *     length u32 | crc32 of the length field and the payload, seeded with
 *     the salt u32 | payload (length bytes)
 *
 * - A "base" segment starts the log: nothing before it is part of the log. The
 *   first segment and every segment written by a rewrite are bases; segments
 *   made by rotation continue the one before them (see wal-recovery.ts).
 * - `createdBytes` is how much of the file was written and synced before the
 *   file got its name (wal-recovery.ts): the header, plus a rewrite's records.
 *   No crash can tear those bytes.
 * - An "end" write is the last write of a segment that is not the last. The
 *   writer creates the next segment, durably, before it makes that write, so
 *   an end write proves its successor existed: a missing newest segment, and a
 *   segment cut at a write boundary, are found instead of silently read as a
 *   shorter log.
 * - A "seal" write carries no records. A clean close makes one after its last
 *   sync, so that after a clean shutdown even the last batch of records is
 *   followed by a later write (see the rule below).
 * - The salt is a random u32 drawn when the segment is created (the in-memory
 *   twin derives it from its name, to replay byte for byte). Every write and
 *   record checksum is seeded with it, so bytes that merely look like a write
 *   header do not verify: a payload that embeds a copy of a log, or a stale
 *   block of a deleted segment, cannot pass as a write of this segment.
 *
 * The crc is CRC-32 (IEEE, zlib's polynomial) from `zlib.crc32`: it is native
 * code in Node 20, where a CRC-32C would have to be computed in JavaScript at a
 * fraction of the speed, and both detect every burst of up to 32 bits. A
 * record's crc covers its length field as well as its payload, so a damaged
 * length is caught rather than trusted.
 *
 * Torn or corrupt: the rule (see `scanSegment`)
 *
 * Appends go out one write at a time, and the next write is issued only once
 * everything before it in the segment is durable: the commit queue waits for
 * each sync, and recovery syncs the segment it will append to before the first
 * new write. A crash can therefore damage only the last write of the last
 * segment, and any of it: a prefix, or pages out of order, the missing ones
 * reading as zeros or stale bytes. So damage is a torn write only if it lies in
 * the final write of the last segment, and recovery then drops that whole write
 * (its append never completed, so none of its records was acknowledged).
 * Damage anywhere else is corruption and stops recovery. The scan decides that
 * the damaged write was not the final one when:
 *   - it lies within the segment's `createdBytes`;
 *   - the damaged write's header is intact and bytes follow the end it names:
 *     a later write was made, so this one had been synced;
 *   - the damaged write's header is itself damaged, and a valid (salted) write
 *     header begins anywhere after it. A torn final write holds exactly one
 *     write header, at its start, so no later one can come from the tear.
 * What no format can tell from a torn write: damage confined to the last write
 * of a log that crashed after that write's sync (nothing follows it), and a
 * last segment cut exactly at a write boundary. A clean close seals the log, so
 * after a clean shutdown the first cannot happen; a cut always can.
 *
 * Cost: one pass with one crc per record, as before; the search for a later
 * write header (native `indexOf` of its magic) runs only when a write header
 * itself is damaged.
 */
import { crc32 } from 'node:zlib';
import { CorruptLogError } from './errors.js';

export const SEGMENT_MAGIC = 0x574e5953; // "SYNW" read as a little-endian u32
export const SEGMENT_FORMAT_VERSION = 2;
export const SEGMENT_HEADER_BYTES = 32;
export const WRITE_MAGIC = 0x52575953; // "SYWR" read as a little-endian u32
export const WRITE_HEADER_BYTES = 20;
export const RECORD_HEADER_BYTES = 8;
/** The last write of a segment that has a successor; the successor was durable before this write was made. */
export const WRITE_FLAG_END = 1;
/** A record-less write made by a clean close, after the last sync. */
export const WRITE_FLAG_SEAL = 2;
const KNOWN_WRITE_FLAGS = WRITE_FLAG_END | WRITE_FLAG_SEAL;
const FLAG_BASE = 1;
const KNOWN_FLAGS = FLAG_BASE;
/** Version 1 had a 20-byte header: magic, version, flags, sequence, crc. */
const V1_HEADER_BYTES = 20;
const FOUR_ZERO_BYTES = new Uint8Array(4);

export interface SegmentHeader {
  readonly sequence: number;
  readonly base: boolean;
  /** Bytes written and synced before the file was named: never torn. */
  readonly createdBytes: number;
  /** Seeds every write and record checksum of the segment. */
  readonly salt: number;
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

/**
 * `candidate` as a salt, changed in one bit if it is the one salt for which a
 * zero-filled record header (length 0, crc 0) would verify as an empty record.
 * Seeding is a bijection, so exactly one salt has that property.
 */
export function usableSalt(candidate: number): number {
  const salt = candidate >>> 0;
  return crc32(FOUR_ZERO_BYTES, salt) === 0 ? (salt ^ 1) >>> 0 : salt;
}

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, SEGMENT_MAGIC, true);
  view.setUint16(4, SEGMENT_FORMAT_VERSION, true);
  view.setUint16(6, header.base ? FLAG_BASE : 0, true);
  view.setBigUint64(8, BigInt(header.sequence), true);
  view.setBigUint64(16, BigInt(header.createdBytes), true);
  view.setUint32(24, header.salt, true);
  view.setUint32(28, crc32(bytes.subarray(0, 28)), true);
  return bytes;
}

/** Validates a segment header read from `file`; `expectedSequence` comes from the file name. */
export function decodeSegmentHeader(bytes: Uint8Array, file: string, expectedSequence: number): SegmentHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= V1_HEADER_BYTES && view.getUint32(0, true) === SEGMENT_MAGIC && view.getUint16(4, true) === 1) {
    if (view.getUint32(16, true) === crc32(bytes.subarray(0, 16))) {
      throw new CorruptLogError(
        file,
        4,
        `segment format version 1, written by an older build; this build reads version ${SEGMENT_FORMAT_VERSION} only and does not convert old logs (move the data directory aside and start afresh)`,
      );
    }
  }
  if (bytes.length < SEGMENT_HEADER_BYTES) {
    throw new CorruptLogError(file, 0, `segment header cut short: ${bytes.length} of ${SEGMENT_HEADER_BYTES} bytes`);
  }
  const magic = view.getUint32(0, true);
  if (magic !== SEGMENT_MAGIC) {
    throw new CorruptLogError(file, 0, `bad segment magic 0x${hex(magic)}, expected 0x${hex(SEGMENT_MAGIC)}`);
  }
  const storedCrc = view.getUint32(28, true);
  const actualCrc = crc32(bytes.subarray(0, 28));
  if (storedCrc !== actualCrc) {
    throw new CorruptLogError(file, 28, `segment header checksum mismatch: stored 0x${hex(storedCrc)}, computed 0x${hex(actualCrc)}`);
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
  const createdBytes = Number(view.getBigUint64(16, true));
  if (!Number.isSafeInteger(createdBytes) || createdBytes < SEGMENT_HEADER_BYTES) {
    throw new CorruptLogError(file, 16, `segment header says it was created with ${createdBytes} bytes, fewer than its own header`);
  }
  return { sequence: expectedSequence, base: (flags & FLAG_BASE) !== 0, createdBytes, salt: view.getUint32(24, true) };
}

export function recordBytes(payloadBytes: number): number {
  return RECORD_HEADER_BYTES + payloadBytes;
}

/** Bytes one write of `payloads` takes: its header and every record frame. */
export function writeBytes(payloads: readonly Uint8Array[]): number {
  return payloads.reduce((sum, payload) => sum + recordBytes(payload.length), WRITE_HEADER_BYTES);
}

/** One write of `payloads` (perhaps none), ready for a vectored write: its header, then each record's header and payload. */
export function encodeWrite(payloads: readonly Uint8Array[], salt: number, flags = 0): Uint8Array[] {
  const header = new Uint8Array(WRITE_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, WRITE_MAGIC, true);
  view.setUint32(4, flags, true);
  view.setBigUint64(8, BigInt(writeBytes(payloads) - WRITE_HEADER_BYTES), true);
  view.setUint32(16, crc32(header.subarray(0, 16), salt), true);
  const chunks: Uint8Array[] = [header];
  for (const payload of payloads) chunks.push(encodeRecordHeader(payload, salt), payload);
  return chunks;
}

/** The 8-byte record header for `payload`; the payload itself follows it unchanged. */
export function encodeRecordHeader(payload: Uint8Array, salt: number): Uint8Array {
  const header = new Uint8Array(RECORD_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, payload.length, true);
  view.setUint32(4, recordChecksum(header.subarray(0, 4), payload, salt), true);
  return header;
}

function recordChecksum(lengthField: Uint8Array, payload: Uint8Array, salt: number): number {
  const ofLength = crc32(lengthField, salt);
  // Node 20's crc32 of an empty array without a backing store (TextEncoder's
  // encoding of '') returns 0, not the running value; the crc of no bytes is the running value.
  return payload.length === 0 ? ofLength : crc32(payload, ofLength);
}

/** The final write of the last segment, damaged as a crash during it can leave it; recovery cuts it off. */
export interface TornWrite {
  /** Where the write starts: the segment ends here once it is cut off. */
  readonly offset: number;
  /** Where the damage is: the damaged record or write header, or the end of a write cut short. */
  readonly damageOffset: number;
  /** Bytes from `offset` to the end of the file. */
  readonly bytes: number;
  readonly reason: string;
  /** The write's flags when its header is intact; null when the header is damaged. */
  readonly flags: number | null;
}

export interface SegmentScan {
  readonly header: SegmentHeader;
  /** The records of the intact writes, in order; views into the scanned bytes. */
  readonly payloads: Uint8Array[];
  /** End of the last intact write: where the segment ends. */
  readonly endOffset: number;
  /** Bytes after `createdBytes` (intact or not): false for a segment no append has written to. */
  readonly appended: boolean;
  /** The last intact write is an end write: a successor segment exists. */
  readonly ended: boolean;
  /**
   * Every record write past `createdBytes` is followed by a later write (a
   * seal or an end), so damage to any of them would be detected. A log whose
   * last segment is sealed needs no seal when it is closed again.
   */
  readonly sealed: boolean;
  /** Damage a crash during the segment's final write explains; only the last segment may have it. */
  readonly torn: TornWrite | null;
}

/**
 * Reads every write of one segment, applying the rule at the top of this file:
 * damage that only a crash during the segment's final write explains is
 * returned as `torn` (the caller decides whether the segment may be torn: only
 * the last one may); anything else throws `CorruptLogError` naming the file,
 * the offset of the damaged record or write header, and why the damage cannot
 * be a torn write. Runs in one pass, plus, only when a write header itself is
 * damaged, a search of the rest of the segment for a later write header.
 */
export function scanSegment(bytes: Uint8Array, file: string, options: { readonly sequence: number; readonly recordBytesMax: number }): SegmentScan {
  const header = decodeSegmentHeader(bytes, file, options.sequence);
  const { createdBytes, salt } = header;
  const end = bytes.length;
  if (end < createdBytes) {
    throw new CorruptLogError(file, end, `segment is ${end} bytes long but was created (and synced) with ${createdBytes}: its created bytes were cut off`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloads: Uint8Array[] = [];
  let ended = false;
  let sealed = true;

  /** Damage at `offset`, in the write that starts at `writeStart` and (if its header is intact) ends at `writeEnd`. */
  const damaged = (offset: number, writeStart: number, writeEnd: number | null, flags: number | null, problem: string): SegmentScan => {
    if (writeStart < createdBytes) {
      throw new CorruptLogError(
        file,
        offset,
        `${problem}, within the first ${createdBytes} bytes, which were synced before the segment was named: no crash tears them`,
      );
    }
    if (writeEnd !== null && writeEnd < end) {
      throw new CorruptLogError(
        file,
        offset,
        `${problem}, in the write at byte ${writeStart}, which ${end - writeEnd} more bytes follow: a later write was made, so this one had been synced (corruption, not a torn write)`,
      );
    }
    if (writeEnd === null) {
      const later = findWriteHeader(bytes, writeStart + 1, salt);
      if (later !== null) {
        throw new CorruptLogError(
          file,
          offset,
          `${problem}, and an intact write begins later, at byte ${later}: the damaged write had been synced (corruption, not a torn write)`,
        );
      }
    }
    return {
      header,
      payloads,
      endOffset: writeStart,
      appended: true,
      ended,
      sealed,
      torn: { offset: writeStart, damageOffset: offset, bytes: end - writeStart, reason: problem, flags },
    };
  };

  let start = SEGMENT_HEADER_BYTES;
  while (start < end) {
    if (ended) throw new CorruptLogError(file, start, `${end - start} bytes follow the segment's end write, after which nothing is ever written`);
    const write = readWriteHeader(bytes, view, start, salt, file);
    if (typeof write === 'string') return damaged(start, start, null, null, write);
    const writeEnd = start + WRITE_HEADER_BYTES + write.recordsBytes;
    if (start < createdBytes && writeEnd > createdBytes) {
      throw new CorruptLogError(file, start, `the write at byte ${start} runs past the ${createdBytes} bytes the segment was created with`);
    }
    const writePayloads: Uint8Array[] = [];
    const stop = Math.min(writeEnd, end);
    let offset = start + WRITE_HEADER_BYTES;
    while (offset < stop) {
      const problem = recordProblem(bytes, view, offset, stop, writeEnd, salt, options.recordBytesMax);
      if (problem !== null) return damaged(offset, start, writeEnd, write.flags, problem);
      const length = view.getUint32(offset, true);
      writePayloads.push(bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length));
      offset += RECORD_HEADER_BYTES + length;
    }
    if (writeEnd > end) {
      return damaged(end, start, writeEnd, write.flags, `write of ${writeEnd - start} bytes cut short by the end of the file after ${end - start}`);
    }
    for (const payload of writePayloads) payloads.push(payload);
    ended = (write.flags & WRITE_FLAG_END) !== 0;
    if (start >= createdBytes) sealed = (write.flags & (WRITE_FLAG_SEAL | WRITE_FLAG_END)) !== 0;
    start = writeEnd;
  }
  return { header, payloads, endOffset: end, appended: end > createdBytes, ended, sealed, torn: null };
}

/** What is wrong with the record at `offset` (which must end by `stop`, the end of its write or of the file), or null. */
function recordProblem(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  stop: number,
  writeEnd: number,
  salt: number,
  recordBytesMax: number,
): string | null {
  const room = stop - offset;
  if (room < RECORD_HEADER_BYTES) {
    return stop < writeEnd ? `record header cut short by the end of the file: ${room} of ${RECORD_HEADER_BYTES} bytes` : `record header does not fit in its write: ${room} of ${RECORD_HEADER_BYTES} bytes left`;
  }
  const length = view.getUint32(offset, true);
  const storedCrc = view.getUint32(offset + 4, true);
  if (length > recordBytesMax) return `record length ${length} exceeds the bound of ${recordBytesMax} bytes`;
  if (offset + RECORD_HEADER_BYTES + length > writeEnd) {
    return `record of ${length} bytes runs past the end of its write (${writeEnd - offset - RECORD_HEADER_BYTES} bytes left in it)`;
  }
  if (offset + RECORD_HEADER_BYTES + length > stop) {
    return `record of ${length} bytes runs past the end of the file (${stop - offset - RECORD_HEADER_BYTES} bytes left)`;
  }
  const payload = bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + length);
  const actualCrc = recordChecksum(bytes.subarray(offset, offset + 4), payload, salt);
  if (actualCrc !== storedCrc) return `record checksum mismatch (stored 0x${hex(storedCrc)}, computed 0x${hex(actualCrc)}) on a record of ${length} bytes`;
  return null;
}

/**
 * The write header at `offset`, or why there is none. A header whose checksum
 * verifies but which this build cannot read is not damage a crash explains, so
 * it throws.
 */
function readWriteHeader(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  salt: number,
  file: string,
): { readonly flags: number; readonly recordsBytes: number } | string {
  const room = bytes.length - offset;
  if (room < WRITE_HEADER_BYTES) return `write header cut short: ${room} of ${WRITE_HEADER_BYTES} bytes`;
  const magic = view.getUint32(offset, true);
  if (magic !== WRITE_MAGIC) return `no write header where one must begin (found 0x${hex(magic)}, expected the magic 0x${hex(WRITE_MAGIC)})`;
  const storedCrc = view.getUint32(offset + 16, true);
  const actualCrc = crc32(bytes.subarray(offset, offset + 16), salt);
  if (storedCrc !== actualCrc) return `write header checksum mismatch (stored 0x${hex(storedCrc)}, computed 0x${hex(actualCrc)})`;
  const flags = view.getUint32(offset + 4, true);
  if ((flags & ~KNOWN_WRITE_FLAGS) !== 0) throw new CorruptLogError(file, offset + 4, `unknown write flags 0x${hex(flags)}`);
  const recordsBytes = Number(view.getBigUint64(offset + 8, true));
  if (!Number.isSafeInteger(recordsBytes)) throw new CorruptLogError(file, offset + 8, `write of ${recordsBytes} bytes is beyond any file`);
  return { flags, recordsBytes };
}

const WRITE_MAGIC_BYTES = (() => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, WRITE_MAGIC, true);
  return bytes;
})();

/** Offset of the first write header at or after `from` whose salted checksum verifies, or null. */
function findWriteHeader(bytes: Uint8Array, from: number, salt: number): number | null {
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Bounded: each pass moves `at` forward by at least one byte.
  for (let at = haystack.indexOf(WRITE_MAGIC_BYTES, from); at !== -1; at = haystack.indexOf(WRITE_MAGIC_BYTES, at + 1)) {
    if (at + WRITE_HEADER_BYTES > bytes.length) return null;
    if (view.getUint32(at + 16, true) === crc32(bytes.subarray(at, at + 16), salt)) return at;
  }
  return null;
}

function hex(value: number): string {
  return value.toString(16).padStart(8, '0');
}
