/**
 * The write-ahead log on files: a directory of segments (segment.ts), appended
 * with group commit (commit-queue.ts), recovered by wal-recovery.ts. Implements
 * the `WriteAheadLog` contract in ports.ts.
 *
 * Concurrency: one `FileWal` per directory, in one process. A second open of
 * the same directory in this process is refused; another process is not
 * locked out, so the node must not run twice on one data directory. Methods
 * may be called without awaiting earlier ones; the commit queue runs them one
 * at a time in call order, so at most one write or sync is in flight.
 *
 * Why `rewrite` is crash-safe (the argument the recovery rules rest on):
 * 1. The new log is written as one base segment under a temp name, fsynced,
 *    renamed to the next sequence number, and the directory fsynced. Before
 *    that rename is durable, recovery sees only the old segments (the temp
 *    file is deleted unread): the old log.
 * 2. Once the rename is durable, the newest base segment is the new one, and
 *    recovery reads from the newest base on: the new log, whether or not the
 *    old segments are still there; any it finds it deletes, finishing step 3.
 * 3. Only then are the old segments deleted and the directory fsynced.
 * There is no instant at which recovery reads records of both the old and the
 * new log: the base flag in the header, not the set of files, decides.
 *
 * What the writes leave for recovery to check (segment.ts has the rule):
 * - each batch (each part of it, where rotation splits it) is one write with
 *   its own header, and the next write is made only after the previous one's
 *   sync, so only the final write can be torn;
 * - rotation creates the successor before the old segment's end write;
 * - a clean close seals the log with a record-less write, so even the last
 *   batch is followed by a later write. A log whose sync failed is never
 *   sealed: the seal would vouch for bytes that may not be on disk.
 */
import { randomInt } from 'node:crypto';
import { unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assert } from '../core/assert.js';
import { CommitQueue } from './commit-queue.js';
import { createFileAtomically, onFile, syncDirectory, timed, writeFully, writeNowIfSmall } from './fs-durable.js';
import { resolveLimits } from './limits.js';
import { type OpenedWal, type WalLimits, type WalMetrics, type WriteAheadLog } from './ports.js';
import {
  encodeSegmentHeader,
  encodeWrite,
  recordBytes,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  usableSalt,
  WRITE_FLAG_END,
  WRITE_FLAG_SEAL,
  WRITE_HEADER_BYTES,
  writeBytes,
} from './segment.js';
import { recoverDirectory } from './wal-recovery.js';

export interface FileWalOptions {
  readonly limits?: Partial<WalLimits>;
}

interface OpenSegment {
  readonly handle: FileHandle;
  readonly sequence: number;
  readonly path: string;
  /** Seeds the checksums of its writes and records (segment.ts). */
  readonly salt: number;
  /** Bytes of header and writes written to it so far. */
  sizeBytes: number;
}

/**
 * Room a write leaves in its segment: for the end write rotation makes and the
 * seal a close makes, so neither pushes a segment past its bound.
 */
const MARKER_ROOM_BYTES = 2 * WRITE_HEADER_BYTES;

/** A fresh random salt for a new segment (segment.ts: why segments have salts). */
function randomSalt(): number {
  return usableSalt(randomInt(0, 0x1_0000_0000));
}

/** Directories with an open log in this process. */
const openDirectories = new Set<string>();

export class FileWal implements WriteAheadLog {
  private readonly queue: CommitQueue;
  private closed = false;
  private syncs: number;
  private directorySyncs: number;
  private lastSyncMs = 0;
  private totalSyncMs: number;
  private bytesWritten = 0;
  private rotations = 0;
  /** No record write of the last segment lacks a later write: see `SegmentScan.sealed` in segment.ts. */
  private sealed: boolean;

  /**
   * Opens (creating if needed) the log in `dir` and recovers it: see
   * wal-recovery.ts for what is read, cleaned up or refused.
   * @throws CorruptLogError when the log is damaged anywhere but a torn tail.
   */
  static async open(dir: string, options: FileWalOptions = {}): Promise<OpenedWal<FileWal>> {
    const limits = resolveLimits(options.limits);
    const key = resolve(dir);
    if (openDirectories.has(key)) throw new Error(`the write-ahead log in ${key} is already open in this process`);
    openDirectories.add(key);
    try {
      const recovered = await recoverDirectory(dir, limits.recordBytesMax, randomSalt);
      const sequences = [...recovered.sequences];
      const lastSequence = sequences[sequences.length - 1];
      assert(lastSequence !== undefined, 'recovery leaves at least one segment');
      const { handle, sizeBytes, salt, sealed } = recovered.last;
      const segment = { handle, sequence: lastSequence, path: join(dir, segmentFileName(lastSequence)), salt, sizeBytes };
      const wal = new FileWal(dir, key, limits, segment, sequences, recovered.syncs, sealed);
      return { wal, recovery: recovered.recovery };
    } catch (error) {
      openDirectories.delete(key);
      throw error;
    }
  }

  private constructor(
    readonly dir: string,
    private readonly key: string,
    readonly limits: WalLimits,
    private segment: OpenSegment,
    /** Live segments, oldest first; the last is `segment`. */
    private sequences: number[],
    recoverySyncs: { readonly file: number; readonly directory: number; readonly fileMs: number },
    sealed: boolean,
  ) {
    this.sealed = sealed;
    this.syncs = recoverySyncs.file;
    this.directorySyncs = recoverySyncs.directory;
    this.totalSyncMs = recoverySyncs.fileMs;
    this.queue = new CommitQueue(
      { appendDurably: (payloads) => this.appendDurably(payloads), rewriteDurably: (payloads) => this.rewriteDurably(payloads) },
      limits,
      `write-ahead log ${dir}`,
    );
  }

  append(payloads: readonly Uint8Array[]): Promise<void> {
    return this.queue.append(payloads);
  }

  rewrite(payloads: readonly Uint8Array[]): Promise<void> {
    return this.queue.rewrite(payloads);
  }

  metrics(): WalMetrics {
    const { appends, records, batches, rewrites } = this.queue.counters;
    return {
      appends,
      records,
      batches,
      rewrites,
      syncs: this.syncs,
      directorySyncs: this.directorySyncs,
      bytesWritten: this.bytesWritten,
      lastSyncMs: this.lastSyncMs,
      totalSyncMs: this.totalSyncMs,
      rotations: this.rotations,
      segments: this.sequences.length,
      queuedBytes: this.queue.bytesQueued(),
    };
  }

  /**
   * Waits for queued operations, seals the log (unless a write failed), then
   * closes the segment. Later calls fail with `StorageClosedError`.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.queue.close();
      if (!this.sealed && !this.queue.failed()) await this.writeAndSync([], WRITE_FLAG_SEAL);
    } finally {
      await this.segment.handle.close();
      openDirectories.delete(this.key);
    }
  }

  /**
   * One group-commit batch: one write after the last, synced. Where the
   * segment bound says, the batch is split: the part that fits becomes this
   * segment's end write, and the rest goes on in a new segment.
   */
  private async appendDurably(payloads: readonly Uint8Array[]): Promise<void> {
    let pending: Uint8Array[] = [];
    let pendingBytes = WRITE_HEADER_BYTES;
    for (const payload of payloads) {
      const size = recordBytes(payload.length);
      const fits = this.segment.sizeBytes + pendingBytes + size + MARKER_ROOM_BYTES <= this.limits.segmentBytesMax;
      // A segment that holds no record takes any record, so a record above the segment bound still gets written.
      const holdsNoRecord = pending.length === 0 && this.segment.sizeBytes <= SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES;
      if (!fits && !holdsNoRecord) {
        await this.rotate(pending);
        pending = [];
        pendingBytes = WRITE_HEADER_BYTES;
      }
      pending.push(payload);
      pendingBytes += size;
    }
    await this.writeAndSync(pending, 0);
  }

  /** Writes `payloads` as one write after the segment's last, and syncs it. */
  private async writeAndSync(payloads: readonly Uint8Array[], flags: number): Promise<void> {
    const { handle, path, salt } = this.segment;
    const chunks = encodeWrite(payloads, salt, flags);
    const at = this.segment.sizeBytes;
    const written = await onFile(path, 'writing', async () => writeNowIfSmall(handle, chunks, at) ?? (await writeFully(handle, chunks, at)));
    this.segment.sizeBytes += written;
    this.bytesWritten += written;
    // fdatasync: the data and the size needed to read it back, without the mtime.
    this.recordSync(await onFile(path, 'syncing', () => timed(() => handle.datasync())));
    this.sealed = (flags & (WRITE_FLAG_SEAL | WRITE_FLAG_END)) !== 0;
  }

  /**
   * Moves on to the next segment. The successor is created (empty, durable)
   * before this segment's end write `pending` is made, so an end write on disk
   * proves its successor existed, and a crash in between leaves a state that
   * recovery repairs (wal-recovery.ts).
   */
  private async rotate(pending: readonly Uint8Array[]): Promise<void> {
    const sequence = this.segment.sequence + 1;
    const path = join(this.dir, segmentFileName(sequence));
    const salt = randomSalt();
    const created = await createFileAtomically(this.dir, path, [encodeSegmentHeader({ sequence, base: false, createdBytes: SEGMENT_HEADER_BYTES, salt })]);
    this.recordSync(created.syncMs);
    this.directorySyncs += 1;
    try {
      // The full segment is synced before its successor is written to: only the last segment can ever be torn.
      await this.writeAndSync(pending, WRITE_FLAG_END);
    } catch (error) {
      await created.handle.close().catch(() => undefined);
      throw error;
    }
    const previous = this.segment;
    this.segment = { handle: created.handle, sequence, path, salt, sizeBytes: created.sizeBytes };
    this.sequences.push(sequence);
    this.rotations += 1;
    await previous.handle.close();
  }

  /** See the crash-safety argument at the top of this file. */
  private async rewriteDurably(payloads: readonly Uint8Array[]): Promise<void> {
    const sequence = this.segment.sequence + 1;
    const path = join(this.dir, segmentFileName(sequence));
    const salt = randomSalt();
    // The records are the segment's created bytes: synced before it is named, so recovery never takes them for a torn write.
    const createdBytes = SEGMENT_HEADER_BYTES + writeBytes(payloads);
    const chunks = [encodeSegmentHeader({ sequence, base: true, createdBytes, salt }), ...encodeWrite(payloads, salt)];
    const created = await createFileAtomically(this.dir, path, chunks);
    // Commit point passed: the new base segment is durable under its final name.
    this.recordSync(created.syncMs);
    this.directorySyncs += 1;
    this.bytesWritten += created.sizeBytes - SEGMENT_HEADER_BYTES;
    const previous = this.segment;
    const stale = this.sequences;
    this.segment = { handle: created.handle, sequence, path, salt, sizeBytes: created.sizeBytes };
    this.sequences = [sequence];
    this.sealed = true;
    await previous.handle.close();
    for (const old of stale) {
      const oldPath = join(this.dir, segmentFileName(old));
      await onFile(oldPath, 'removing', () => unlink(oldPath));
    }
    await syncDirectory(this.dir);
    this.directorySyncs += 1;
  }

  private recordSync(milliseconds: number): void {
    this.syncs += 1;
    this.lastSyncMs = milliseconds;
    this.totalSyncMs += milliseconds;
  }
}

