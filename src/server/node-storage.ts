/**
 * The node's durable log: DurableRecords (core) encoded (wire) into the
 * write-ahead log and snapshot store (storage).
 *
 * Snapshots are large, so a `snapshot` record is not written into the log.
 * Instead the state machine bytes go to the snapshot store first (atomic, durable),
 * and then the log is rewritten to the records that rebuild the replica's durable
 * state from that point, where the snapshot appears as a small reference
 * (`payload[0] === REF`). A crash between the two steps leaves the old log,
 * which does not refer to the new snapshot, so nothing is lost; the extra
 * snapshot file is simply unused until the next one replaces it.
 *
 * Saving a snapshot (megabytes written and synced) must not hold up the log, so
 * when the log already holds everything the snapshot stands for, the save runs
 * in the background and `append` returns at once; records appended meanwhile go
 * to the old log, and the rewrite, which follows the save, carries them over.
 * This keeps the `DurableLog` promise: at every moment a crash recovers the old
 * snapshot plus a log that decides every slot through the new one, which
 * replays to the same durable state (`covers` checks exactly that). A snapshot
 * received from another replica is not covered, so it is saved before `append`
 * returns, as before. One compaction runs at a time, and a failed background
 * save or rewrite fails the next `append` with its error (or `close`, if no
 * append came to report it).
 *
 * A decision is usually this replica's own vote, written just before (a
 * leader's accept record, or a follower's vote that a commit notice confirmed).
 * Such a `decide` record is written as a reference to that vote (`VOTE`: the
 * slot and the vote's ballot) rather than repeating the value, which halves
 * the log's bytes per command. Replay resolves it against the vote the log has
 * rebuilt so far; a decision of any other value is written in full.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { compareBallots, formatBallot } from '../core/ballot.js';
import type { Slot } from '../core/ids.js';
import { applyRecord, emptyDurableState, recordsOf, replayRecords, type DurableState } from '../core/multipaxos/durable.js';
import type { DurableRecord } from '../core/multipaxos/types.js';
import type { DurableLog } from '../smr/driver.js';
import { FileSnapshotStore, FileWal, type SnapshotStore, type WalMetrics, type WalRecovery, type WriteAheadLog } from '../storage/index.js';
import { Reader, WireError, Writer, decodeRecord, encodeRecord, type CommandCodec } from '../wire/index.js';
import { readBallot, readSlot, writeBallot, writeSlot } from '../wire/fields.js';

const INLINE = 0;
const REF = 1;
const VOTE = 2;

export class StorageFormatError extends Error {
  override readonly name = 'StorageFormatError';
}

export interface OpenedNodeStorage<C> {
  readonly storage: NodeStorage<C>;
  readonly durable: DurableState<C>;
  readonly recovery: WalRecovery;
}

export class NodeStorage<C> implements DurableLog<C> {
  /** The durable state as of the last record made durable (the replica's may be ahead). */
  private readonly mirror: DurableState<C>;
  /** Orders the log's appends and the rewrites of background compactions. */
  private walTail: Promise<unknown> = Promise.resolve();
  /** A compaction saving its snapshot and then rewriting the log, if one runs. */
  private compaction: Promise<void> | null = null;
  /**
   * The error a background compaction failed with: every later append fails
   * with it, and `close` too if no append has reported it yet.
   */
  private failure: { readonly error: unknown; reported: boolean } | null = null;

  private constructor(
    private readonly wal: WriteAheadLog,
    private readonly snapshots: SnapshotStore,
    private readonly codec: CommandCodec<C>,
    mirror: DurableState<C>,
  ) {
    this.mirror = mirror;
  }

  /**
   * Recovers the log and loads the snapshot it refers to. On any failure the
   * log and the snapshot store are closed again before the error propagates,
   * so a caller that reports it (or retries after a repair) holds no files open.
   */
  static async open<C>(dataDir: string, codec: CommandCodec<C>): Promise<OpenedNodeStorage<C>> {
    await mkdir(dataDir, { recursive: true });
    const { wal, recovery } = await FileWal.open(join(dataDir, 'wal'));
    let snapshots: FileSnapshotStore | null = null;
    try {
      snapshots = await FileSnapshotStore.open(join(dataDir, 'snap'));
      const records: DurableRecord<C>[] = [];
      // Replayed as it is decoded (a VOTE record refers to the state so far);
      // that replay becomes the mirror, and the replica gets its own copy.
      const state = emptyDurableState<C>();
      for (const [index, payload] of recovery.payloads.entries()) {
        const record = await decodePayload(payload, codec, snapshots, index, state);
        if (record === null) continue;
        records.push(record);
        applyRecord(state, record);
      }
      const storage = new NodeStorage(wal, snapshots, codec, state);
      return { storage, durable: replayRecords(records), recovery };
    } catch (error) {
      // The first error is the one to report; a failure to close is secondary.
      await snapshots?.close().catch(() => undefined);
      await wal.close().catch(() => undefined);
      throw error;
    }
  }

  async append(records: readonly DurableRecord<C>[]): Promise<void> {
    this.throwIfFailed();
    let run: DurableRecord<C>[] = [];
    for (const record of records) {
      if (record.kind !== 'snapshot') {
        run.push(record);
        continue;
      }
      await this.appendRun(run);
      run = [];
      if (this.compaction !== null) await this.compaction;
      this.throwIfFailed();
      if (covers(this.mirror, record.throughSlot)) {
        this.compaction = this.compactInBackground(record);
      } else {
        await this.exclusive(async () => {
          applyRecord(this.mirror, record);
          await this.snapshots.save(record.throughSlot, record.data);
          await this.rewrite(record.throughSlot);
        });
      }
    }
    await this.appendRun(run);
  }

  /** Resolves once no compaction is running (tests and shutdown). */
  async settled(): Promise<void> {
    if (this.compaction !== null) await this.compaction;
  }

  metrics(): WalMetrics {
    return this.wal.metrics();
  }

  async close(): Promise<void> {
    await this.settled();
    await this.wal.close();
    await this.snapshots.close();
    if (this.failure !== null && !this.failure.reported) this.throwIfFailed();
  }

  private async appendRun(run: readonly DurableRecord<C>[]): Promise<void> {
    if (run.length === 0) return;
    // Encoded and applied to the mirror inside the log's turn, so a rewrite
    // sees either none or all of the run and never writes it twice, and a
    // decision is encoded against the votes written before it.
    await this.exclusive(async () => {
      const payloads = run.map((record) => {
        const payload = this.encodeAgainstMirror(record);
        applyRecord(this.mirror, record);
        return payload;
      });
      await this.wal.append(payloads);
    });
  }

  /** A decision of the vote the mirror holds for its slot is written as a VOTE reference; anything else as `encode` writes it. */
  private encodeAgainstMirror(record: DurableRecord<C>): Uint8Array {
    if (record.kind !== 'decide') return this.encode(record);
    const vote = this.mirror.accepted.get(record.slot);
    if (vote === undefined || vote.value !== record.value) return this.encode(record);
    const writer = new Writer(undefined, 32);
    writer.u8(VOTE);
    writeSlot(writer, record.slot);
    writeBallot(writer, vote.ballot, 'ballot');
    return writer.finish();
  }

  private compactInBackground(record: Extract<DurableRecord<C>, { kind: 'snapshot' }>): Promise<void> {
    const work = async (): Promise<void> => {
      await this.snapshots.save(record.throughSlot, record.data);
      await this.exclusive(async () => {
        applyRecord(this.mirror, record);
        await this.rewrite(record.throughSlot);
      });
    };
    return work()
      .catch((error: unknown) => {
        this.failure ??= { error, reported: false };
      })
      .finally(() => {
        this.compaction = null;
      });
  }

  /** Rewrites the log to the mirror's records; only then does it name the new snapshot. */
  private async rewrite(throughSlot: Slot): Promise<void> {
    await this.wal.rewrite(recordsOf(this.mirror).map((r) => this.encode(r)));
    // Until here the old snapshot, which the old log names, had to survive pruning.
    this.snapshots.retain(throughSlot);
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.walTail.then(work);
    this.walTail = result.catch(() => undefined);
    return result;
  }

  private throwIfFailed(): void {
    if (this.failure === null) return;
    this.failure.reported = true;
    throw this.failure.error;
  }

  private encode(record: DurableRecord<C>): Uint8Array {
    if (record.kind === 'snapshot') {
      // REF, the slot, then the configurations as a genesis record body.
      const configs = encodeRecord<C>({ kind: 'genesis', configs: record.configs }, this.codec);
      const payload = new Uint8Array(9 + configs.length);
      payload[0] = REF;
      new DataView(payload.buffer).setFloat64(1, record.throughSlot);
      payload.set(configs, 9);
      return payload;
    }
    const body = encodeRecord(record, this.codec);
    const payload = new Uint8Array(body.length + 1);
    payload[0] = INLINE;
    payload.set(body, 1);
    return payload;
  }
}

/**
 * Whether `state` (the old log replayed) already decides every slot through
 * `throughSlot`, so it and a snapshot taken there recover to the same state.
 */
function covers<C>(state: DurableState<C>, throughSlot: Slot): boolean {
  if (throughSlot <= state.compactedThrough) return true;
  for (let slot = state.compactedThrough + 1; slot <= throughSlot; slot += 1) {
    if (!state.decided.has(slot as Slot)) return false;
  }
  return true;
}

/**
 * The record a payload stands for, given the state the log before it rebuilds
 * (`state`), or null for a decision of a slot a snapshot already covers.
 */
async function decodePayload<C>(payload: Uint8Array, codec: CommandCodec<C>, snapshots: SnapshotStore, index: number, state: DurableState<C>): Promise<DurableRecord<C> | null> {
  const tag = payload[0];
  if (tag === INLINE) return decodeRecord(payload.subarray(1), codec);
  if (tag === VOTE) return decodeVoteDecision(payload, index, state);
  if (tag === REF && payload.length > 9) {
    const throughSlot = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getFloat64(1) as Slot;
    if (!Number.isSafeInteger(throughSlot) || throughSlot <= 0) {
      throw new StorageFormatError(`log record ${index}: snapshot reference has invalid slot ${throughSlot}`);
    }
    // The log names exactly the snapshot it was compacted against; an older one
    // would silently miss decided slots, so only that one will do.
    const configs = decodeRecord(payload.subarray(9), codec);
    if (configs.kind !== 'genesis') throw new StorageFormatError(`log record ${index}: snapshot reference has no configurations`);
    const loaded = await snapshots.load(throughSlot);
    snapshots.retain(throughSlot);
    return { kind: 'snapshot', throughSlot, data: loaded.data, configs: configs.configs };
  }
  throw new StorageFormatError(`log record ${index}: unknown payload tag ${String(tag)} (length ${payload.length})`);
}

/** A VOTE record: the decision of the vote `state` holds for the slot, at the ballot named. */
function decodeVoteDecision<C>(payload: Uint8Array, index: number, state: DurableState<C>): DurableRecord<C> | null {
  let slot: Slot;
  let ballot;
  try {
    const reader = new Reader(payload.subarray(1));
    slot = readSlot(reader, 'slot');
    ballot = readBallot(reader, 'ballot');
    reader.end('vote decision');
  } catch (error) {
    if (error instanceof WireError) throw new StorageFormatError(`log record ${index}: ${error.message}`);
    throw error;
  }
  // Already settled by a snapshot or an earlier decision: nothing to replay.
  if (slot <= state.compactedThrough || state.decided.has(slot)) return null;
  const vote = state.accepted.get(slot);
  if (vote === undefined || compareBallots(vote.ballot, ballot) !== 0) {
    throw new StorageFormatError(`log record ${index}: the decision of slot ${slot} refers to a vote at ballot ${formatBallot(ballot)}, which the log before it does not hold`);
  }
  return { kind: 'decide', slot, value: vote.value };
}
