/**
 * Opening a write-ahead log directory: which segment files make up the log,
 * which are leftovers of an interrupted operation, and what the records are.
 *
 * Files in the directory:
 * - `NNNNNNNNNNNNNNNN.seg`: a segment (segment.ts). Every segment is created
 *   complete and synced under a temp name and then renamed, so a segment file
 *   always has a whole, synced header.
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
 */
import { open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CorruptLogError } from './errors.js';
import { createFileAtomically, ensureDirectory, isErrnoException, syncDirectory, TEMPORARY_SUFFIX, timed, type DurableFile } from './fs-durable.js';
import type { TruncatedTail, WalRecovery } from './ports.js';
import {
  decodeSegmentHeader,
  encodeSegmentHeader,
  parseSegmentFileName,
  scanSegment,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  type SegmentHeader,
} from './segment.js';

export interface RecoveredDirectory {
  readonly recovery: WalRecovery;
  /** Sequence numbers of the live segments, oldest first; never empty. */
  readonly sequences: readonly number[];
  /** The last segment, open for writing, and where its records end. */
  readonly last: { readonly file: DurableFile | null; readonly sizeBytes: number };
  /** File and directory syncs recovery made (truncation, cleanup, the first segment). */
  readonly syncs: { readonly file: number; readonly directory: number; readonly fileMs: number };
}

export async function recoverDirectory(dir: string, recordBytesMax: number): Promise<RecoveredDirectory> {
  await ensureDirectory(dir);
  const names = await readdir(dir);
  const removedFiles: string[] = [];
  const sequences: number[] = [];
  for (const name of names) {
    const sequence = parseSegmentFileName(name);
    if (sequence !== null) sequences.push(sequence);
    else if (name.endsWith(TEMPORARY_SUFFIX) && parseSegmentFileName(name.slice(0, -TEMPORARY_SUFFIX.length)) !== null) {
      await unlink(join(dir, name));
      removedFiles.push(join(dir, name));
    }
  }
  sequences.sort((a, b) => a - b);
  let fileSyncs = 0;
  let fileSyncMs = 0;
  let directorySyncs = 0;

  if (sequences.length === 0) {
    const path = join(dir, segmentFileName(1));
    const file = await createFileAtomically(dir, path, [encodeSegmentHeader({ sequence: 1, base: true })]);
    return {
      recovery: { payloads: [], segmentCount: 1, truncated: null, removedFiles },
      sequences: [1],
      last: { file, sizeBytes: SEGMENT_HEADER_BYTES },
      syncs: { file: 1, directory: 1, fileMs: file.syncMs },
    };
  }

  const baseIndex = await findBase(dir, sequences);
  for (const stale of sequences.slice(0, baseIndex)) {
    await unlink(join(dir, segmentFileName(stale)));
    removedFiles.push(join(dir, segmentFileName(stale)));
  }
  const live = sequences.slice(baseIndex);
  if (removedFiles.length > 0) {
    await syncDirectory(dir);
    directorySyncs += 1;
  }
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

  const payloads: Uint8Array[] = [];
  let truncated: TruncatedTail | null = null;
  let lastSize = 0;
  for (const [index, sequence] of live.entries()) {
    const path = join(dir, segmentFileName(sequence));
    const bytes = await readSegment(path);
    const isLast = index === live.length - 1;
    const scan = scanSegment(bytes, path, { sequence, last: isLast, recordBytesMax });
    if (index > 0 && scan.header.base) {
      throw new CorruptLogError(path, 6, 'a base segment after the newest base segment');
    }
    for (const payload of scan.payloads) payloads.push(payload);
    lastSize = scan.endOffset;
    if (scan.torn !== null) {
      fileSyncMs += await truncateFile(path, scan.endOffset);
      fileSyncs += 1;
      truncated = { file: path, offset: scan.endOffset, bytes: scan.torn.bytes, reason: scan.torn.reason };
    }
  }
  return {
    recovery: { payloads, segmentCount: live.length, truncated, removedFiles },
    sequences: live,
    last: { file: null, sizeBytes: lastSize },
    syncs: { file: fileSyncs, directory: directorySyncs, fileMs: fileSyncMs },
  };
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

/** Cuts a torn tail off and makes the new size durable; returns the sync's milliseconds. */
async function truncateFile(path: string, sizeBytes: number): Promise<number> {
  const handle = await open(path, 'r+');
  try {
    await handle.truncate(sizeBytes);
    return await timed(() => handle.sync());
  } finally {
    await handle.close();
  }
}
