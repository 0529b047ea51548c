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
 */
import { writevSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { assert } from '../core/assert.js';
import { CommitQueue } from './commit-queue.js';
import { createFileAtomically, syncDirectory, timed, writeFully } from './fs-durable.js';
import { resolveLimits } from './limits.js';
import { type OpenedWal, type WalLimits, type WalMetrics, type WriteAheadLog } from './ports.js';
import { encodeRecordHeader, encodeRecords, encodeSegmentHeader, recordBytes, SEGMENT_HEADER_BYTES, segmentFileName } from './segment.js';
import { recoverDirectory } from './wal-recovery.js';

export interface FileWalOptions {
  readonly limits?: Partial<WalLimits>;
}

interface OpenSegment {
  readonly handle: FileHandle;
  readonly sequence: number;
  /** Bytes of header and records written to it so far. */
  sizeBytes: number;
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
      const recovered = await recoverDirectory(dir, limits.recordBytesMax);
      const sequences = [...recovered.sequences];
      const lastSequence = sequences[sequences.length - 1];
      assert(lastSequence !== undefined, 'recovery leaves at least one segment');
      const handle = recovered.last.file?.handle ?? (await open(join(dir, segmentFileName(lastSequence)), 'r+'));
      const segment = { handle, sequence: lastSequence, sizeBytes: recovered.last.sizeBytes };
      const wal = new FileWal(dir, key, limits, segment, sequences, recovered.syncs);
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
  ) {
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

  /** Waits for queued operations, then closes the segment. Later calls fail with `StorageClosedError`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.queue.close();
    } finally {
      await this.segment.handle.close();
      openDirectories.delete(this.key);
    }
  }

  /** One group-commit batch: written after the last record and synced, rotating where the segment bound says. */
  private async appendDurably(payloads: readonly Uint8Array[]): Promise<void> {
    let chunks: Uint8Array[] = [];
    let chunkBytes = 0;
    for (const payload of payloads) {
      const size = recordBytes(payload.length);
      const segmentBytes = this.segment.sizeBytes + chunkBytes;
      // An empty segment takes any record, so a record above the segment bound still gets written.
      if (segmentBytes + size > this.limits.segmentBytesMax && segmentBytes > SEGMENT_HEADER_BYTES) {
        // The full segment is synced before its successor exists: only the last segment can ever be torn.
        await this.writeAndSync(chunks);
        chunks = [];
        chunkBytes = 0;
        await this.rotate();
      }
      chunks.push(encodeRecordHeader(payload), payload);
      chunkBytes += size;
    }
    await this.writeAndSync(chunks);
  }

  private async writeAndSync(chunks: readonly Uint8Array[]): Promise<void> {
    if (chunks.length === 0) return;
    const written = writeNowIfSmall(this.segment.handle, chunks, this.segment.sizeBytes) ?? (await writeFully(this.segment.handle, chunks, this.segment.sizeBytes));
    this.segment.sizeBytes += written;
    this.bytesWritten += written;
    // fdatasync: the data and the size needed to read it back, without the mtime.
    this.recordSync(await timed(() => this.segment.handle.datasync()));
  }

  private async rotate(): Promise<void> {
    const sequence = this.segment.sequence + 1;
    const created = await createFileAtomically(this.dir, join(this.dir, segmentFileName(sequence)), [
      encodeSegmentHeader({ sequence, base: false }),
    ]);
    this.recordSync(created.syncMs);
    this.directorySyncs += 1;
    const previous = this.segment;
    this.segment = { handle: created.handle, sequence, sizeBytes: created.sizeBytes };
    this.sequences.push(sequence);
    this.rotations += 1;
    await previous.handle.close();
  }

  /** See the crash-safety argument at the top of this file. */
  private async rewriteDurably(payloads: readonly Uint8Array[]): Promise<void> {
    const sequence = this.segment.sequence + 1;
    const chunks = [encodeSegmentHeader({ sequence, base: true }), ...encodeRecords(payloads)];
    const created = await createFileAtomically(this.dir, join(this.dir, segmentFileName(sequence)), chunks);
    // Commit point passed: the new base segment is durable under its final name.
    this.recordSync(created.syncMs);
    this.directorySyncs += 1;
    this.bytesWritten += created.sizeBytes - SEGMENT_HEADER_BYTES;
    const previous = this.segment;
    const stale = this.sequences;
    this.segment = { handle: created.handle, sequence, sizeBytes: created.sizeBytes };
    this.sequences = [sequence];
    await previous.handle.close();
    for (const old of stale) await unlink(join(this.dir, segmentFileName(old)));
    await syncDirectory(this.dir);
    this.directorySyncs += 1;
  }

  private recordSync(milliseconds: number): void {
    this.syncs += 1;
    this.lastSyncMs = milliseconds;
    this.totalSyncMs += milliseconds;
  }
}

/**
 * Batches up to this many bytes are written on the calling thread; larger ones
 * go through the thread pool. A write only copies into the page cache (the
 * fdatasync after it is what waits for the disk), so a small one costs a few
 * microseconds, less than the thread-pool round trip it replaces: a hand-off
 * to a worker and a wake-up of the event loop on every group commit, on the
 * commit path of every write.
 */
const WRITE_NOW_BYTES_MAX = 256 * 1024;
/** Vectored writes pass at most this many buffers per call (Linux IOV_MAX is 1024). */
const BUFFERS_PER_WRITE_MAX = 512;

/**
 * Writes every chunk at `position` on, in order, however the kernel splits the
 * write, on this thread; returns the bytes written, or null (nothing written)
 * when the batch is too large to write without blocking the event loop.
 */
function writeNowIfSmall(handle: FileHandle, chunks: readonly Uint8Array[], position: number): number | null {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  if (total > WRITE_NOW_BYTES_MAX || chunks.length > BUFFERS_PER_WRITE_MAX) return null;
  let pending: readonly Uint8Array[] = chunks;
  let at = position;
  // Each pass writes at least one byte (or throws), so at most `total` passes.
  while (at - position < total) {
    const written = writevSync(handle.fd, pending as Uint8Array[], at);
    if (written <= 0) throw new Error(`write of ${total - (at - position)} bytes at ${at} made no progress`);
    at += written;
    pending = dropWritten(pending, written);
  }
  return total;
}

/** The chunks left after the first `bytes` bytes were written. */
function dropWritten(chunks: readonly Uint8Array[], bytes: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = bytes;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}
