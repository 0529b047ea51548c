/**
 * In-memory twins of the storage ports, for tests and simulation. They keep
 * the very bytes the file implementations would write (same segment and
 * snapshot formats, same recovery scan), so torn tails and corruption are
 * detected and reported alike, and the contract tests run against both.
 *
 * `MemoryWalDisk` is the device: it outlives crashes, and `open()` recovers a
 * `MemoryWal` from it as `FileWal.open` does from a directory. It holds one
 * segment (rotation is a file-size concern with nothing to model here) and
 * separates what was written from what was synced, so `crash()` can drop the
 * unsynced write, keep a prefix of it, or tear a record in two. Its segment
 * salts are derived from its name and the segment's sequence, not drawn at
 * random, so a run replays byte for byte.
 */
import { crc32 } from 'node:zlib';
import { assert } from '../core/assert.js';
import { slot, type Slot } from '../core/ids.js';
import { CommitQueue, type CommitTarget } from './commit-queue.js';
import { SnapshotNotFoundError, StorageClosedError } from './errors.js';
import type { LoadedSnapshot, OpenedWal, SnapshotStore, WalLimits, WalMetrics, WriteAheadLog } from './ports.js';
import {
  encodeSegmentHeader,
  encodeWrite,
  scanSegment,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  usableSalt,
  WRITE_FLAG_SEAL,
  writeBytes,
} from './segment.js';
import { decodeSnapshot, encodeSnapshot, loadNewest, prunable, snapshotFileName } from './snapshot-format.js';
import { resolveLimits, snapshotsKept, type SnapshotStoreOptions } from './limits.js';

export interface MemoryCrashOptions {
  /**
   * Bytes of the written but unsynced write that survive the crash, as if
   * they reached the disk before the power went (a torn write, unless all of
   * it survives). Default 0: all are lost.
   */
  readonly keepUnsyncedPrefix?: number;
}

export interface MemoryCrashReport {
  readonly keptBytes: number;
  readonly droppedBytes: number;
  /** A rewrite was written but not yet synced; the old log stays. */
  readonly rewriteDropped: boolean;
}

interface SyncWaiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

interface DiskCounters {
  syncs: number;
  bytesWritten: number;
}

export class MemoryWalDisk {
  readonly limits: WalLimits;
  private sequence = 1;
  private salt: number;
  /** The durable segment: header and synced writes, in `content[0, length)`. */
  private content: Uint8Array;
  private length: number;
  /** No record write lacks a later write (see `SegmentScan.sealed`): a close need not seal. */
  private sealed = true;
  /** Writes made by the open log and not yet synced, in order. */
  private unsynced: Uint8Array[] = [];
  private pendingRewrite: { readonly sequence: number; readonly bytes: Uint8Array } | null = null;
  private syncsPaused = false;
  private waiters: SyncWaiter[] = [];
  /** Bumped by every open and crash, so a log from before a crash can no longer touch the disk. */
  private generation = 0;
  private current: { readonly wal: MemoryWal; readonly generation: number } | null = null;

  constructor(
    readonly name = 'wal',
    limits: Partial<WalLimits> = {},
  ) {
    this.limits = resolveLimits(limits);
    this.salt = this.saltOf(1);
    this.content = encodeSegmentHeader({ sequence: 1, base: true, createdBytes: SEGMENT_HEADER_BYTES, salt: this.salt });
    this.length = SEGMENT_HEADER_BYTES;
  }

  /** The segment's name in errors: `memory:<name>/<sequence>.seg`. */
  fileName(): string {
    return `memory:${this.name}/${segmentFileName(this.sequence)}`;
  }

  /**
   * Recovers the log as `FileWal.open` would: a torn tail is cut off and
   * reported, other damage fails with `CorruptLogError`.
   */
  async open(): Promise<OpenedWal<MemoryWal>> {
    assert(this.current === null, () => `memory log ${this.name} is already open`);
    await Promise.resolve();
    const file = this.fileName();
    // The one segment is the last, and there is never an end write: it has no successor.
    const scan = scanSegment(this.durable(), file, { sequence: this.sequence, recordBytesMax: this.limits.recordBytesMax });
    let truncated = null;
    if (scan.torn !== null) {
      truncated = { file, offset: scan.torn.offset, bytes: scan.torn.bytes, reason: scan.torn.reason };
      this.length = scan.torn.offset;
    }
    this.sealed = scan.sealed;
    // Copies: later fault injection must not change what was recovered.
    const payloads = scan.payloads.map((payload) => payload.slice());
    this.generation += 1;
    const generation = this.generation;
    const counters: DiskCounters = { syncs: truncated === null ? 0 : 1, bytesWritten: 0 };
    const wal = new MemoryWal(this.target(generation, counters), this.limits, counters, `memory log ${this.name}`, (failed) => {
      if (this.current?.generation !== generation) return;
      this.current = null;
      // As the file log's close: seal after the last sync, never after a failed one.
      if (!failed && !this.sealed) {
        this.persist(concat(encodeWrite([], this.salt, WRITE_FLAG_SEAL)));
        this.sealed = true;
        counters.syncs += 1;
      }
    });
    this.current = { wal, generation };
    return { wal, recovery: { payloads, segmentCount: 1, truncated, removedFiles: [] } };
  }

  /**
   * Power failure: an unsynced write is lost except for `keepUnsyncedPrefix`
   * bytes of it, an unsynced rewrite is lost, paused syncs never complete,
   * and every pending operation of the open log fails with `StorageClosedError`.
   */
  crash(options: MemoryCrashOptions = {}): MemoryCrashReport {
    this.generation += 1;
    const unsynced = concat(this.unsynced);
    const keptBytes = Math.min(Math.max(0, options.keepUnsyncedPrefix ?? 0), unsynced.length);
    this.persist(unsynced.subarray(0, keptBytes));
    if (keptBytes > 0) this.sealed = false;
    this.unsynced = [];
    const rewriteDropped = this.pendingRewrite !== null;
    this.pendingRewrite = null;
    const error = new StorageClosedError(`memory log ${this.name} (crashed)`);
    this.syncsPaused = false;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
    const crashed = this.current;
    this.current = null;
    crashed?.wal.crashed(error);
    return { keptBytes, droppedBytes: unsynced.length - keptBytes, rewriteDropped };
  }

  /** Holds every sync until `resumeSyncs`: records are written but not durable, so a crash can lose them. */
  pauseSyncs(): void {
    this.syncsPaused = true;
  }

  resumeSyncs(): void {
    this.syncsPaused = false;
    for (const waiter of this.waiters.splice(0)) waiter.resolve();
  }

  /** Bytes written but not yet synced (whole writes, headers included). */
  unsyncedBytes(): number {
    return this.unsynced.reduce((sum, chunk) => sum + chunk.length, 0);
  }

  /** A copy of the durable segment, header included, as a file would hold it. */
  segmentBytes(): Uint8Array {
    return this.durable().slice();
  }

  /** Flips bits of the durable byte at `offset` (the file's offset: the header is bytes 0-31). */
  corruptByte(offset: number, mask = 0xff): void {
    assert(Number.isSafeInteger(offset) && offset >= 0 && offset < this.length, () => `offset ${offset} outside 0..${this.length - 1}`);
    assert(mask > 0 && mask <= 0xff, 'the mask flips at least one bit of one byte');
    this.content[offset] = (this.content[offset] ?? 0) ^ mask;
  }

  /** Cuts the durable segment to `length` bytes, as a torn write or lost tail would. */
  truncate(length: number): void {
    assert(Number.isSafeInteger(length) && length >= 0 && length <= this.length, () => `cannot truncate ${this.length} bytes to ${length}`);
    this.length = length;
  }

  private saltOf(sequence: number): number {
    return usableSalt(crc32(`${this.name}/${sequence}`));
  }

  private durable(): Uint8Array {
    return this.content.subarray(0, this.length);
  }

  private persist(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.length + bytes.length > this.content.length) {
      const grown = new Uint8Array(Math.max(this.length + bytes.length, this.content.length * 2));
      grown.set(this.durable());
      this.content = grown;
    }
    this.content.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Waits for the sync to be allowed; fails if the disk crashed meanwhile. */
  private async sync(generation: number): Promise<void> {
    this.checkGeneration(generation);
    if (this.syncsPaused) await new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    else await Promise.resolve();
    this.checkGeneration(generation);
  }

  private checkGeneration(generation: number): void {
    if (generation !== this.generation) throw new StorageClosedError(`memory log ${this.name} (crashed)`);
  }

  private target(generation: number, counters: DiskCounters): CommitTarget {
    return {
      appendDurably: async (payloads) => {
        this.checkGeneration(generation);
        const written = concat(encodeWrite(payloads, this.salt));
        this.unsynced.push(written);
        counters.bytesWritten += written.length;
        await this.sync(generation);
        // Like fdatasync, the sync makes everything written so far durable.
        this.persist(concat(this.unsynced));
        this.unsynced = [];
        this.sealed = false;
        counters.syncs += 1;
      },
      rewriteDurably: async (payloads) => {
        this.checkGeneration(generation);
        const sequence = this.sequence + 1;
        const salt = this.saltOf(sequence);
        const createdBytes = SEGMENT_HEADER_BYTES + writeBytes(payloads);
        const bytes = concat([encodeSegmentHeader({ sequence, base: true, createdBytes, salt }), ...encodeWrite(payloads, salt)]);
        this.pendingRewrite = { sequence, bytes };
        counters.bytesWritten += bytes.length - SEGMENT_HEADER_BYTES;
        await this.sync(generation);
        // The commit point: one assignment, so there is no state between the old log and the new.
        this.sequence = sequence;
        this.salt = salt;
        this.content = bytes;
        this.length = bytes.length;
        this.sealed = true;
        this.pendingRewrite = null;
        counters.syncs += 1;
      },
    };
  }
}

/** The open log of a `MemoryWalDisk`; same contract as `FileWal`. Nothing is timed, so its sync latencies read 0. */
export class MemoryWal implements WriteAheadLog {
  private readonly queue: CommitQueue;
  private closed = false;

  constructor(
    target: CommitTarget,
    limits: WalLimits,
    private readonly counters: Readonly<DiskCounters>,
    what: string,
    /** Told whether the queue failed, so the disk seals only a log whose every sync succeeded. */
    private readonly onClose: (failed: boolean) => void,
  ) {
    this.queue = new CommitQueue(target, limits, what);
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
      syncs: this.counters.syncs,
      directorySyncs: 0,
      bytesWritten: this.counters.bytesWritten,
      lastSyncMs: 0,
      totalSyncMs: 0,
      rotations: 0,
      segments: 1,
      queuedBytes: this.queue.bytesQueued(),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue.close();
    this.onClose(this.queue.failed());
  }

  /** Called by the disk when it crashes. */
  crashed(error: Error): void {
    this.closed = true;
    this.queue.fail(error);
  }
}

/**
 * Snapshots in memory, as the file store would hold them (header and checksum
 * included). The `files` map is the device: pass the same map to a new store
 * to "reopen" it after a crash. Saves are atomic (one map assignment), so a
 * crash never leaves a partial snapshot, matching the file store's rename.
 */
export class MemorySnapshotStore implements SnapshotStore {
  readonly keep: number;
  private closed = false;
  private retained: Slot | null = null;

  constructor(
    readonly files: Map<Slot, Uint8Array> = new Map(),
    options: SnapshotStoreOptions & { readonly name?: string } = {},
  ) {
    this.keep = snapshotsKept(options);
    this.name = options.name ?? 'snap';
  }

  readonly name: string;

  async save(throughSlot: Slot, data: Uint8Array): Promise<void> {
    slot(throughSlot);
    this.checkOpen();
    await Promise.resolve();
    this.checkOpen();
    this.files.set(throughSlot, concat(encodeSnapshot(throughSlot, data)));
    for (const old of prunable(this.slots(), this.keep, this.retained)) this.files.delete(old);
  }

  retain(throughSlot: Slot | null): void {
    this.retained = throughSlot;
  }

  async load(throughSlot: Slot): Promise<LoadedSnapshot> {
    this.checkOpen();
    await Promise.resolve();
    const bytes = this.files.get(throughSlot);
    if (bytes === undefined) throw new SnapshotNotFoundError(throughSlot, `memory:${this.name}`);
    const file = this.fileName(throughSlot);
    return { throughSlot, data: decodeSnapshot(bytes, file, throughSlot).slice(), file, skipped: [] };
  }

  async loadLatest(options: { readonly fallBackToOlder?: boolean } = {}): Promise<LoadedSnapshot | null> {
    this.checkOpen();
    return loadNewest(this.slots(), (at) => this.load(at), options.fallBackToOlder ?? false);
  }

  async list(): Promise<Slot[]> {
    this.checkOpen();
    return this.slots();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  fileName(throughSlot: Slot): string {
    return `memory:${this.name}/${snapshotFileName(throughSlot)}`;
  }

  /** Flips bits of byte `offset` of the stored snapshot file (the header is bytes 0-31). */
  corruptByte(throughSlot: Slot, offset: number, mask = 0xff): void {
    const bytes = this.files.get(throughSlot);
    assert(bytes !== undefined, () => `no snapshot through slot ${throughSlot} to corrupt`);
    assert(Number.isSafeInteger(offset) && offset >= 0 && offset < bytes.length, () => `offset ${offset} outside the snapshot`);
    bytes[offset] = (bytes[offset] ?? 0) ^ mask;
  }

  private slots(): Slot[] {
    return [...this.files.keys()].sort((a, b) => a - b);
  }

  private checkOpen(): void {
    if (this.closed) throw new StorageClosedError(`snapshot store memory:${this.name}`);
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
