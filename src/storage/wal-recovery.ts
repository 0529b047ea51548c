/**
 * Opening a write-ahead log directory: which segment files make up the log,
 * which are leftovers of an interrupted operation, and what the records are.
 *
 * Files in the directory:
 * - `NNNNNNNNNNNNNNNN.seg`: a segment (segment.ts). Every segment is created
 *   complete and synced under a temp name and then renamed, so a segment file
 *   always has a whole, synced header (and, for a rewrite's segment, whole
 *   synced records: its `createdBytes`).
 * - `NNNNNNNNNNNNNNNN.seg.tmp`: a segment whose creation was interrupted. It was
 *   never part of the log; recovery deletes it.
 * - anything else is left alone.
 *
 * The log is the newest *base* segment and every segment after it. The first
 * segment and every rewrite's segment are bases; a rewrite creates its base
 * with the next sequence number and only then deletes the older segments, so
 * older segments still present are leftovers of an interrupted rewrite, and
 * recovery deletes them. After the base, sequence numbers must be contiguous:
 * a gap is a lost segment, and a log without a base lost its beginning.
 *
 * Every segment but the last must be intact and end with its end write
 * (segment.ts): rotation syncs a segment in full before anything is written to
 * its successor. The last segment may end with a torn write, which is cut off,
 * and must not end with an end write, which would name a successor that is
 * gone. One crash state breaks the first rule, and is repaired: rotation
 * creates the successor (empty, durable) before it writes the end write, so a
 * crash in between leaves an empty last segment after one whose final write is
 * torn or absent. Recovery then cuts that write off and deletes the empty
 * segment, which held nothing.
 *
 * Recovery decides everything before it changes anything: a log it refuses is
 * left exactly as it found it, for an operator (or a better build) to examine.
 * Only then does it delete leftovers, cut off a torn write, and sync the last
 * segment, so that the first new write follows durable bytes only (the premise
 * of segment.ts's rule).
 */
import { open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assert } from '../core/assert.js';
import { CorruptLogError } from './errors.js';
import { createFileAtomically, ensureDirectory, isErrnoException, onFile, syncDirectory, TEMPORARY_SUFFIX, timed } from './fs-durable.js';
import type { TruncatedTail, WalRecovery } from './ports.js';
import {
  decodeSegmentHeader,
  encodeSegmentHeader,
  parseSegmentFileName,
  scanSegment,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  WRITE_FLAG_END,
  type SegmentHeader,
  type SegmentScan,
} from './segment.js';

export interface RecoveredDirectory {
  readonly recovery: WalRecovery;
  /** Sequence numbers of the live segments, oldest first; never empty. */
  readonly sequences: readonly number[];
  /** The last segment, open for writing and synced: where its records end, its salt, and whether a close must seal it. */
  readonly last: { readonly handle: FileHandle; readonly sizeBytes: number; readonly salt: number; readonly sealed: boolean };
  /** File and directory syncs recovery made (truncation, cleanup, the first segment). */
  readonly syncs: { readonly file: number; readonly directory: number; readonly fileMs: number };
}

interface ScannedSegment {
  readonly sequence: number;
  readonly path: string;
  readonly scan: SegmentScan;
}

/** `salt` draws the salt of a segment recovery has to create (a new log's first). */
export async function recoverDirectory(dir: string, recordBytesMax: number, salt: () => number): Promise<RecoveredDirectory> {
  await ensureDirectory(dir);
  const names = await onFile(dir, 'listing', () => readdir(dir));
  const leftovers: string[] = [];
  const sequences: number[] = [];
  for (const name of names) {
    const sequence = parseSegmentFileName(name);
    if (sequence !== null) sequences.push(sequence);
    else if (name.endsWith(TEMPORARY_SUFFIX) && parseSegmentFileName(name.slice(0, -TEMPORARY_SUFFIX.length)) !== null) {
      leftovers.push(join(dir, name));
    }
  }
  sequences.sort((a, b) => a - b);

  if (sequences.length === 0) {
    await removeFiles(dir, leftovers);
    const path = join(dir, segmentFileName(1));
    const header = { sequence: 1, base: true, createdBytes: SEGMENT_HEADER_BYTES, salt: salt() };
    const file = await createFileAtomically(dir, path, [encodeSegmentHeader(header)]);
    return {
      recovery: { payloads: [], segmentCount: 1, truncated: null, removedFiles: leftovers },
      sequences: [1],
      last: { handle: file.handle, sizeBytes: file.sizeBytes, salt: header.salt, sealed: true },
      syncs: { file: 1, directory: 1 + (leftovers.length > 0 ? 1 : 0), fileMs: file.syncMs },
    };
  }

  // Decide: nothing below changes the directory until every check has passed.
  const baseIndex = await findBase(dir, sequences);
  for (const stale of sequences.slice(0, baseIndex)) leftovers.push(join(dir, segmentFileName(stale)));
  const live = sequences.slice(baseIndex);
  for (let index = 1; index < live.length; index += 1) {
    const previous = live[index - 1] ?? 0;
    const sequence = live[index] ?? 0;
    if (sequence !== previous + 1) {
      throw new CorruptLogError(
        join(dir, segmentFileName(previous + 1)),
        0,
        `segment ${previous + 1} is missing: segment ${previous} is followed by ${sequence}`,
      );
    }
  }
  const scanned: ScannedSegment[] = [];
  for (const [index, sequence] of live.entries()) {
    const path = join(dir, segmentFileName(sequence));
    const scan = scanSegment(await readSegment(path), path, { sequence, recordBytesMax });
    if (index > 0 && scan.header.base) throw new CorruptLogError(path, 6, 'a base segment after the newest base segment');
    scanned.push({ sequence, path, scan });
  }
  const emptySuccessor = interruptedRotation(scanned);
  if (emptySuccessor !== null) {
    scanned.pop();
    live.pop();
  }
  const last = scanned[scanned.length - 1];
  assert(last !== undefined, 'the newest base segment is live');
  for (const segment of scanned.slice(0, -1)) checkInnerSegment(segment);
  const tornEnd = ((last.scan.torn?.flags ?? 0) & WRITE_FLAG_END) !== 0;
  if (emptySuccessor === null && (last.scan.ended || tornEnd)) {
    throw new CorruptLogError(
      join(dir, segmentFileName(last.sequence + 1)),
      0,
      `segment ${last.sequence + 1} is missing: segment ${last.sequence} ends with the write that is made only after its successor exists`,
    );
  }

  // Act: every change below is one a crash during recovery can repeat.
  let directorySyncs = 0;
  if (leftovers.length > 0) {
    await removeFiles(dir, leftovers);
    directorySyncs += 1;
  }
  const payloads = scanned.flatMap((segment) => segment.scan.payloads);
  const torn = last.scan.torn;
  const truncated: TruncatedTail | null = torn === null ? null : { file: last.path, offset: torn.offset, bytes: torn.bytes, reason: torn.reason };
  const handle = await onFile(last.path, 'opening', () => open(last.path, 'r+'));
  let fileSyncMs: number;
  try {
    // The torn write is cut off (and the new size made durable) before the empty
    // successor goes, so a crash in between leaves a state this function repairs again.
    if (torn !== null) await onFile(last.path, 'truncating', () => handle.truncate(torn.offset));
    fileSyncMs = await onFile(last.path, 'syncing', () => timed(() => (torn === null ? handle.datasync() : handle.sync())));
    if (emptySuccessor !== null) {
      await removeFiles(dir, [emptySuccessor]);
      directorySyncs += 1;
    }
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  return {
    recovery: { payloads, segmentCount: live.length, truncated, removedFiles: emptySuccessor === null ? leftovers : [...leftovers, emptySuccessor] },
    sequences: live,
    last: { handle, sizeBytes: last.scan.endOffset, salt: last.scan.header.salt, sealed: last.scan.sealed },
    syncs: { file: 1, directory: directorySyncs, fileMs: fileSyncMs },
  };
}

/**
 * The path of the last segment when it is the empty successor of an
 * interrupted rotation (see the top of this file), else null. The segment
 * before it must then be missing its end write, or have it torn. A torn write
 * whose intact header lacks the end flag does not qualify: a segment's other
 * writes are synced before its successor is created, so such damage is
 * corruption, which `checkInnerSegment` then reports.
 */
function interruptedRotation(scanned: readonly ScannedSegment[]): string | null {
  const last = scanned[scanned.length - 1];
  const previous = scanned[scanned.length - 2];
  if (last === undefined || previous === undefined || last.scan.appended || last.scan.header.base || previous.scan.ended) return null;
  const torn = previous.scan.torn;
  if (torn !== null && torn.flags !== null && (torn.flags & WRITE_FLAG_END) === 0) return null;
  return last.path;
}

/** A segment with a successor: synced in full before the successor was written to, and closed by its end write. */
function checkInnerSegment({ sequence, path, scan }: ScannedSegment): void {
  if (scan.torn !== null) {
    throw new CorruptLogError(
      path,
      scan.torn.damageOffset,
      `${scan.torn.reason}, in a segment that is not the last (segment ${sequence + 1} follows, and a segment is synced in full before its successor is written to)`,
    );
  }
  if (!scan.ended) {
    throw new CorruptLogError(
      path,
      scan.endOffset,
      `segment ends without its end write, though segment ${sequence + 1} follows: writes were cut off its end`,
    );
  }
}

async function removeFiles(dir: string, paths: readonly string[]): Promise<void> {
  if (paths.length === 0) return;
  for (const path of paths) await onFile(path, 'removing', () => unlink(path));
  await syncDirectory(dir);
}

/** Index in `sequences` of the newest base segment, reading headers from the newest back. */
async function findBase(dir: string, sequences: readonly number[]): Promise<number> {
  for (let index = sequences.length - 1; index >= 0; index -= 1) {
    const sequence = sequences[index];
    if (sequence === undefined) continue;
    const header = await readHeader(join(dir, segmentFileName(sequence)), sequence);
    if (header.base) return index;
  }
  const oldest = join(dir, segmentFileName(sequences[0] ?? 0));
  throw new CorruptLogError(
    oldest,
    6,
    'no base segment: the oldest segment continues an earlier one that is missing, so the log has lost its beginning',
  );
}

async function readHeader(path: string, sequence: number): Promise<SegmentHeader> {
  let handle;
  try {
    handle = await open(path, 'r');
    const bytes = new Uint8Array(SEGMENT_HEADER_BYTES);
    const { bytesRead } = await handle.read(bytes, 0, SEGMENT_HEADER_BYTES, 0);
    return decodeSegmentHeader(bytes.subarray(0, bytesRead), path, sequence);
  } catch (error) {
    throw asCorrupt(error, path);
  } finally {
    await handle?.close();
  }
}

async function readSegment(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    throw asCorrupt(error, path);
  }
}

function asCorrupt(error: unknown, path: string): Error {
  if (error instanceof CorruptLogError) return error;
  const what = isErrnoException(error, 'ENOENT') ? 'disappeared while being opened' : 'unreadable';
  return new CorruptLogError(path, 0, `segment file ${what}: ${String(error)}`);
}
