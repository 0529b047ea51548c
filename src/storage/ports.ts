/**
 * The storage ports of a Synod node, in the style of hashicorp/raft's `LogStore`
 * and `SnapshotStore`: small interfaces with a contract, each implemented on
 * files (wal.ts, snapshot-store.ts) and in memory with crash faults (memory.ts).
 * The contract tests in test/storage run against both, so a simulation over the
 * twin says something about the real node.
 *
 * Storage is bytes-oriented: it keeps opaque payloads in order and never looks
 * inside them. The node encodes each `DurableRecord` (core/multipaxos/types.ts)
 * into one payload, and on restart decodes the recovered payloads and feeds
 * them to `replayRecords` (core/multipaxos/durable.ts).
 */
import type { Slot } from '../core/ids.js';

/**
 * An append-only write-ahead log of opaque payloads.
 *
 * Contract:
 * - `append(payloads)` resolves only once every payload is durable: written and
 *   synced, so it survives a crash or power loss. The records of one call stay
 *   together in call order. Appends issued while a sync is in progress are
 *   written and synced together by the next sync (group commit), so concurrent
 *   appends are cheap; each still resolves only when its own records are durable.
 * - Operations take effect in call order, whether or not the caller awaited the
 *   earlier ones: an `append` called after `rewrite` lands after the rewritten
 *   records. Callers may therefore issue appends without waiting, but must not
 *   act on a record (send a promise or vote, reply to a client) before its
 *   append resolved: that is the `Ready` rule of core/multipaxos/types.ts.
 * - `rewrite(payloads)` atomically replaces the whole log by exactly `payloads`
 *   (compaction after a snapshot). A crash at any moment leaves either the old
 *   log or the new one, never a mix. A rewrite that fails with `LogFailedError`
 *   may or may not have taken effect; the next recovery shows which.
 * - After a crash, recovery returns a prefix of the appended records that
 *   contains every record whose append resolved, in order. Records whose append
 *   had not resolved may be kept or lost, but never a later one without the
 *   earlier ones. The write the crash interrupted (a torn write: only ever the
 *   final one) is cut off whole and reported in `truncated`; damage anywhere
 *   else fails the open with `CorruptLogError` and changes nothing on disk.
 *   Damage confined to the final write of a log that crashed after syncing it
 *   cannot be told from a torn write and drops that write (reported); a log
 *   closed cleanly is sealed, so there any damage to its records is refused.
 * - A payload above `recordBytesMax` is refused with `RecordTooLargeError` and
 *   nothing of that call is written. A failed write or sync fails the log for
 *   good (`LogFailedError`): the process must restart and recover.
 * - After `close()` (which waits for queued operations, then seals the log
 *   unless a write failed), every operation fails with `StorageClosedError`. One open log per directory: two writers on one
 *   log would interleave records.
 */
export interface WriteAheadLog {
  append(payloads: readonly Uint8Array[]): Promise<void>;
  rewrite(payloads: readonly Uint8Array[]): Promise<void>;
  metrics(): WalMetrics;
  close(): Promise<void>;
}

/** What `open` found on disk, besides the records themselves. */
export interface WalRecovery {
  /** The recovered records, oldest first. They may be views into a larger read buffer. */
  readonly payloads: readonly Uint8Array[];
  /** Segments replayed (from the newest base segment on). */
  readonly segmentCount: number;
  /** A torn final write that recovery cut off, or null when the log ended cleanly. */
  readonly truncated: TruncatedTail | null;
  /** Leftovers of interrupted rotations, rewrites or compactions that recovery deleted. */
  readonly removedFiles: readonly string[];
}

export interface TruncatedTail {
  readonly file: string;
  /** The file now ends here: where the torn write started. */
  readonly offset: number;
  readonly bytes: number;
  readonly reason: string;
}

export interface OpenedWal<W extends WriteAheadLog = WriteAheadLog> {
  readonly wal: W;
  readonly recovery: WalRecovery;
}

/** Counters for metrics, since the log was opened (recovery's syncs included). Latencies are in milliseconds. */
export interface WalMetrics {
  /** `append` calls that resolved. */
  readonly appends: number;
  /** Records made durable by appends (not counting rewrites). */
  readonly records: number;
  /** Group-commit batches: one write and one sync each, two when a batch crosses a segment. */
  readonly batches: number;
  /** Syncs of segment files (fdatasync, or fsync for a new segment): the expensive part of durability. */
  readonly syncs: number;
  /** Syncs of the log's directory, after a segment was created, renamed or removed. */
  readonly directorySyncs: number;
  /** Bytes written by appends, rewrites and seals: records with their frames, and write headers. */
  readonly bytesWritten: number;
  readonly lastSyncMs: number;
  readonly totalSyncMs: number;
  readonly rewrites: number;
  /** Segments created by rotation. */
  readonly rotations: number;
  /** Segments the log consists of now. */
  readonly segments: number;
  /** Bytes waiting for the next batch right now. */
  readonly queuedBytes: number;
}

export interface WalLimits {
  /** Largest payload accepted by append and rewrite. */
  readonly recordBytesMax: number;
  /** A segment is closed and a new one started before it would grow past this. */
  readonly segmentBytesMax: number;
  /** A group-commit batch stops growing at this many bytes (it always takes at least one append). */
  readonly batchBytesMax: number;
  /** Appends are refused with `LogOverloadedError` while this many bytes wait. */
  readonly queuedBytesMax: number;
}

export const DEFAULT_WAL_LIMITS: WalLimits = Object.freeze({
  recordBytesMax: 64 * 1024 * 1024,
  segmentBytesMax: 64 * 1024 * 1024,
  batchBytesMax: 16 * 1024 * 1024,
  queuedBytesMax: 512 * 1024 * 1024,
});

/**
 * Snapshots of the state machine, each taken through a slot.
 *
 * Contract:
 * - `save(throughSlot, data)` is atomic and durable when it resolves: after a
 *   crash the snapshot is either wholly there and verifying, or absent. Saving
 *   a slot again replaces that snapshot. After a save only the newest `keep`
 *   snapshots remain, and the retained one.
 * - `retain(throughSlot)` marks the snapshot the log refers to; saves never
 *   prune it. The node calls it after recovery loaded that snapshot and after
 *   each rewrite that refers to a new one. Without it, `keep` saves in a row
 *   whose log rewrites a crash prevented would prune the very snapshot the log
 *   still names. The mark is not persisted: the log is where the reference lives.
 * - `load(throughSlot)` returns exactly that snapshot, or fails with
 *   `SnapshotNotFoundError` or `CorruptSnapshotError`. The node uses it to load
 *   the snapshot its log refers to.
 * - `loadLatest()` returns the newest snapshot, null when there is none, and
 *   fails with `CorruptSnapshotError` naming the file when the newest one does
 *   not verify. It falls back to an older snapshot only when asked
 *   (`{ fallBackToOlder: true }`): the log may already be compacted past the
 *   older one, so loading it silently could lose decided slots.
 * - `list()` gives the slots of the snapshots present, oldest first, without
 *   verifying them.
 */
export interface SnapshotStore {
  save(throughSlot: Slot, data: Uint8Array): Promise<void>;
  retain(throughSlot: Slot | null): void;
  load(throughSlot: Slot): Promise<LoadedSnapshot>;
  loadLatest(options?: { readonly fallBackToOlder?: boolean }): Promise<LoadedSnapshot | null>;
  list(): Promise<Slot[]>;
  close(): Promise<void>;
}

export interface LoadedSnapshot {
  readonly throughSlot: Slot;
  readonly data: Uint8Array;
  readonly file: string;
  /** Newer snapshots that failed verification and were passed over (only with `fallBackToOlder`). */
  readonly skipped: readonly { readonly file: string; readonly problem: string }[];
}
