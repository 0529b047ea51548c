/**
 * The snapshot file format, and the rule for which snapshot to load, shared by
 * the file store and its in-memory twin.
 *
 *   header (32 bytes, little-endian):
 *     magic u32 = "SYNS" | version u16 = 1 | reserved u16 = 0 |
 *     throughSlot u64 | data length u64 | crc32 of the data u32 |
 *     crc32 of the preceding 28 header bytes u32
 *   data (length bytes)
 *
 * The header has its own checksum so that a damaged length or slot is named as
 * such rather than reported as a data checksum mismatch. CRC-32 via
 * `zlib.crc32`, as in segment.ts.
 */
import { crc32 } from 'node:zlib';
import { slot, type Slot } from '../core/ids.js';
import { CorruptSnapshotError } from './errors.js';
import type { LoadedSnapshot } from './ports.js';

export const SNAPSHOT_MAGIC = 0x534e5953; // "SYNS" read as a little-endian u32
export const SNAPSHOT_FORMAT_VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 32;

const SNAPSHOT_NAME = /^(\d{16})\.snap$/;

export function snapshotFileName(throughSlot: Slot): string {
  return `${String(throughSlot).padStart(16, '0')}.snap`;
}

export function parseSnapshotFileName(name: string): Slot | null {
  const match = SNAPSHOT_NAME.exec(name);
  if (match === null || match[1] === undefined) return null;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) ? slot(value) : null;
}

/** The header and the data, ready for a vectored write. */
export function encodeSnapshot(throughSlot: Slot, data: Uint8Array): Uint8Array[] {
  const header = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(header.buffer);
  view.setUint32(0, SNAPSHOT_MAGIC, true);
  view.setUint16(4, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint16(6, 0, true);
  view.setBigUint64(8, BigInt(throughSlot), true);
  view.setBigUint64(16, BigInt(data.length), true);
  view.setUint32(24, crc32(data), true);
  view.setUint32(28, crc32(header.subarray(0, 28)), true);
  return [header, data];
}

/** Verifies a whole snapshot file and returns its data (a view into `bytes`). */
export function decodeSnapshot(bytes: Uint8Array, file: string, expectedSlot: Slot): Uint8Array {
  if (bytes.length < SNAPSHOT_HEADER_BYTES) {
    throw new CorruptSnapshotError(file, `header cut short: ${bytes.length} of ${SNAPSHOT_HEADER_BYTES} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SNAPSHOT_HEADER_BYTES);
  const magic = view.getUint32(0, true);
  if (magic !== SNAPSHOT_MAGIC) throw new CorruptSnapshotError(file, `bad magic 0x${magic.toString(16)} at byte 0`);
  const headerCrc = crc32(bytes.subarray(0, 28));
  if (view.getUint32(28, true) !== headerCrc) throw new CorruptSnapshotError(file, 'header checksum mismatch (bytes 0-31)');
  const version = view.getUint16(4, true);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new CorruptSnapshotError(file, `unsupported format version ${version} (this build reads ${SNAPSHOT_FORMAT_VERSION})`);
  }
  const throughSlot = view.getBigUint64(8, true);
  if (throughSlot !== BigInt(expectedSlot)) {
    throw new CorruptSnapshotError(file, `header says through slot ${throughSlot}, the name says ${expectedSlot}`);
  }
  const dataBytes = view.getBigUint64(16, true);
  const actualBytes = bytes.length - SNAPSHOT_HEADER_BYTES;
  if (dataBytes !== BigInt(actualBytes)) {
    throw new CorruptSnapshotError(file, `header says ${dataBytes} data bytes, the file holds ${actualBytes}`);
  }
  const data = bytes.subarray(SNAPSHOT_HEADER_BYTES);
  const storedCrc = view.getUint32(24, true);
  const actualCrc = crc32(data);
  if (storedCrc !== actualCrc) {
    throw new CorruptSnapshotError(file, `data checksum mismatch: stored 0x${storedCrc.toString(16)}, computed 0x${actualCrc.toString(16)}`);
  }
  return data;
}

/**
 * The newest snapshot of `slots` (oldest first) that verifies. Without
 * `fallBackToOlder`, a newest snapshot that does not verify is an error, not a
 * reason to use an older one: see the contract in ports.ts.
 */
export async function loadNewest(
  slots: readonly Slot[],
  load: (throughSlot: Slot) => Promise<LoadedSnapshot>,
  fallBackToOlder: boolean,
): Promise<LoadedSnapshot | null> {
  const skipped: { file: string; problem: string }[] = [];
  for (const at of [...slots].reverse()) {
    try {
      const loaded = await load(at);
      return { ...loaded, skipped };
    } catch (error) {
      if (!(error instanceof CorruptSnapshotError) || !fallBackToOlder) throw error;
      skipped.push({ file: error.file, problem: error.problem });
    }
  }
  if (skipped.length > 0) {
    const last = skipped[skipped.length - 1];
    throw new CorruptSnapshotError(last?.file ?? '', `no snapshot verifies; ${skipped.length} corrupt, oldest: ${last?.problem ?? ''}`);
  }
  return null;
}

/** The snapshots of `slots` (oldest first) a save deletes: all but the newest `keep`, never the retained one. */
export function prunable(slots: readonly Slot[], keep: number, retained: Slot | null): Slot[] {
  return slots.slice(0, Math.max(0, slots.length - keep)).filter((at) => at !== retained);
}
