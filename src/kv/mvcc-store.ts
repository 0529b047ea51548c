/**
 * Multi-version key storage, after etcd's mvcc package: every change is kept
 * under a (revision, sub-revision) pair until compaction, so reads at past
 * revisions and watches from past revisions work.
 *
 * Two structures hold the same changes:
 * - the key index: an ordered map (sorted-index.ts) from key to the key's
 *   history, its changes in (revision, sub) order, tombstones included;
 * - the revision log: for each revision since the compaction point, its changes
 *   in sub-revision order, for watch catch-up.
 *
 * Costs, with n keys in the index, h changes in one key's history and m keys
 * in a requested range (live or not):
 * - put/delete of one key: O(log n) to find it (plus O(B + n/B) to insert a
 *   key never seen before, see sorted-index.ts) and O(1) amortised to append;
 * - range at a revision: O(log n + m) at the current revision, O(log n + m log h)
 *   at a past one, plus sorting when asked; a limit does not shorten the walk
 *   because the response carries the total count, as in etcd;
 * - events since revision r: O(changes since r);
 * - compaction: O(n + changes dropped).
 *
 * Writes happen inside a write transaction (`beginWrite` ... `endWrite`): every
 * change gets revision currentRevision + 1 and the next sub-revision, and the
 * store revision moves by exactly one at `endWrite` if anything changed. Reads
 * during the transaction at `readRevision` see its earlier writes.
 */
import { assert } from '../core/assert.js';
import { bytesToBinary, EMPTY_BYTES } from './bytes.js';
import { SortedIndex } from './sorted-index.js';
import type { Event, KeyValue } from './types.js';

/** A set of keys: [start, end), `end` null for no upper bound. Keys are binary strings. */
export interface KeySpan {
  readonly start: string;
  readonly end: string | null;
}

/**
 * etcd's range conventions: `rangeEnd` absent or empty is the single key, [0]
 * is every key >= `key`, anything else is [key, rangeEnd). The single key k is
 * the span [k, k + "\0"), since k + "\0" is the least key above k.
 */
export function keySpan(key: Uint8Array, rangeEnd?: Uint8Array): KeySpan {
  const start = bytesToBinary(key);
  if (rangeEnd === undefined || rangeEnd.length === 0) return { start, end: `${start}\u0000` };
  if (rangeEnd.length === 1 && rangeEnd[0] === 0) return { start, end: null };
  return { start, end: bytesToBinary(rangeEnd) };
}

export function spanContains(span: KeySpan, key: string): boolean {
  return key >= span.start && (span.end === null || key < span.end);
}

/** Whether `key` falls in the range (`rangeStart`, `rangeEnd`) under etcd's conventions; for the watch hub. */
export function keyInRange(key: Uint8Array, rangeStart: Uint8Array, rangeEnd?: Uint8Array): boolean {
  return spanContains(keySpan(rangeStart, rangeEnd), bytesToBinary(key));
}

/** One change to one key: a put (`kv` set) or a delete (`kv` null, a tombstone). */
export interface Change {
  readonly revision: number;
  readonly sub: number;
  readonly kv: KeyValue | null;
}

export interface KeyHistory {
  readonly key: string;
  readonly keyBytes: Uint8Array;
  /** In (revision, sub) order; never empty while the key is in the index. */
  changes: Change[];
}

interface LoggedChange {
  readonly history: KeyHistory;
  readonly change: Change;
}

export interface Collected {
  readonly kvs: KeyValue[];
  /** Live keys in the span at the revision, however many `kvs` holds. */
  readonly count: number;
}

export class MvccStore {
  /** The store revision: 1 when empty, +1 per write transaction that changed something. */
  private revision = 1;
  /** Reads below this revision fail; 0 until the first compaction. */
  private compacted = 0;
  private readonly index = new SortedIndex<KeyHistory>();
  /** log[i] holds the changes of revision logFirstRevision + i. */
  private log: LoggedChange[][] = [];
  private logFirstRevision = 2;
  /** Changes of the open write transaction, or null when none is open. */
  private pending: LoggedChange[] | null = null;

  get currentRevision(): number {
    return this.revision;
  }

  get compactRevision(): number {
    return this.compacted;
  }

  /** Where reads see the open transaction's writes: its revision once it changed something. */
  get readRevision(): number {
    return this.pending !== null && this.pending.length > 0 ? this.revision + 1 : this.revision;
  }

  /** The key's pair at `revision`, null if it did not exist then. */
  static kvAt(history: KeyHistory, revision: number): KeyValue | null {
    const changes = history.changes;
    const last = changes[changes.length - 1] as Change;
    if (last.revision <= revision) return last.kv;
    // Binary search for the last change at or below `revision`.
    let low = 0;
    let high = changes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((changes[mid] as Change).revision <= revision) low = mid + 1;
      else high = mid;
    }
    return low === 0 ? null : (changes[low - 1] as Change).kv;
  }

  /** The key's newest pair, including the open transaction's writes. */
  latest(key: string): KeyValue | null {
    const history = this.index.get(key);
    return history === undefined ? null : (history.changes[history.changes.length - 1] as Change).kv;
  }

  /**
   * The live pairs in `span` at `revision`, in key order, at most `limit` of them
   * (0: no limit), with the count of all of them. `countOnly` collects none.
   */
  collect(span: KeySpan, revision: number, limit = 0, countOnly = false): Collected {
    const kvs: KeyValue[] = [];
    let count = 0;
    this.index.forEachInRange(span.start, span.end, (_key, history) => {
      const kv = MvccStore.kvAt(history, revision);
      if (kv === null) return;
      count += 1;
      if (!countOnly && (limit <= 0 || kvs.length < limit)) kvs.push(kv);
    });
    return { kvs, count };
  }

  beginWrite(): void {
    assert(this.pending === null, 'a write transaction is already open');
    this.pending = [];
  }

  /** Puts `key` (whose bytes are `keyBytes`) in the open transaction; returns the new pair and the one it replaced. */
  put(key: string, keyBytes: Uint8Array, value: Uint8Array, lease: number): { kv: KeyValue; prior: KeyValue | null } {
    const pending = this.pending;
    assert(pending !== null, 'put outside a write transaction');
    let history = this.index.get(key);
    if (history === undefined) {
      // Copy once: the key's bytes become shared by every pair of this key.
      history = { key, keyBytes: keyBytes.slice(), changes: [] };
      this.index.set(key, history);
    }
    const revision = this.revision + 1;
    const prior = history.changes.length === 0 ? null : (history.changes[history.changes.length - 1] as Change).kv;
    const kv: KeyValue = {
      key: history.keyBytes,
      createRevision: prior === null ? revision : prior.createRevision,
      modRevision: revision,
      version: prior === null ? 1 : prior.version + 1,
      value,
      lease,
    };
    const change: Change = { revision, sub: pending.length, kv };
    history.changes.push(change);
    pending.push({ history, change });
    return { kv, prior };
  }

  /** Deletes every live key in `span` in the open transaction; returns the deleted pairs in key order. */
  deleteRange(span: KeySpan): KeyValue[] {
    const pending = this.pending;
    assert(pending !== null, 'delete outside a write transaction');
    const revision = this.revision + 1;
    const deleted: KeyValue[] = [];
    // Appending to a history does not change the index's structure, so this is safe mid-walk.
    this.index.forEachInRange(span.start, span.end, (_key, history) => {
      const prior = (history.changes[history.changes.length - 1] as Change).kv;
      if (prior === null) return;
      const change: Change = { revision, sub: pending.length, kv: null };
      history.changes.push(change);
      pending.push({ history, change });
      deleted.push(prior);
    });
    return deleted;
  }

  /** Closes the open transaction; its changes become one revision. Returns their events. */
  endWrite(): Event[] {
    const pending = this.pending;
    assert(pending !== null, 'no write transaction is open');
    this.pending = null;
    if (pending.length === 0) return [];
    this.revision += 1;
    this.log.push(pending);
    return pending.map(({ history, change }) => MvccStore.eventOf(history, change));
  }

  /**
   * The events on keys in `span` from `startRevision` on, in revision order.
   * The caller checks `startRevision` against the compaction point.
   */
  eventsSince(span: KeySpan, startRevision: number): Event[] {
    assert(this.pending === null, 'events read during a write transaction');
    assert(startRevision >= this.compacted, 'events requested below the compaction point');
    const events: Event[] = [];
    const from = Math.max(startRevision, this.logFirstRevision);
    for (let revision = from; revision <= this.revision; revision += 1) {
      for (const { history, change } of this.log[revision - this.logFirstRevision] as LoggedChange[]) {
        if (spanContains(span, history.key)) events.push(MvccStore.eventOf(history, change));
      }
    }
    return events;
  }

  /**
   * Discards history below `revision`: for each key, every change below it
   * except the newest one, and that one too if it is a tombstone. Reads at
   * `revision` and above, and events from `revision` on, are unaffected; the
   * kept pair also serves as `prevKv` for events at `revision` itself.
   * The caller checks compactRevision < revision <= currentRevision.
   */
  compact(revision: number): void {
    assert(this.pending === null, 'compaction during a write transaction');
    assert(revision > this.compacted && revision <= this.revision, 'compaction revision out of bounds');
    const emptied: string[] = [];
    this.index.forEachInRange('', null, (key, history) => {
      const changes = history.changes;
      if ((changes[0] as Change).revision >= revision) return;
      let firstKept = 0;
      while (firstKept < changes.length && (changes[firstKept] as Change).revision < revision) firstKept += 1;
      const newestBelow = changes[firstKept - 1] as Change;
      if (newestBelow.kv !== null) firstKept -= 1;
      history.changes = changes.slice(firstKept);
      if (history.changes.length === 0) emptied.push(key);
    });
    for (const key of emptied) this.index.delete(key);
    if (revision > this.logFirstRevision) {
      this.log = this.log.slice(revision - this.logFirstRevision);
      this.logFirstRevision = revision;
    }
    this.compacted = revision;
  }

  /** Every key's history in key order (for snapshots and digests). */
  histories(): KeyHistory[] {
    const out: KeyHistory[] = [];
    this.index.forEachInRange('', null, (_key, history) => {
      out.push(history);
    });
    return out;
  }

  /**
   * Why `fromHistories` cannot make a valid store of these histories, for the
   * two faults it would otherwise find only after building the revision log: a
   * change above the current revision, or fewer changes than there are
   * revisions in the log (each revision since the compaction point holds at
   * least one). Checked first because the log gets a slot per revision up to
   * the highest change, which untrusted input could put at 2^53. Null if
   * neither; `checkInvariants` on the built store checks the rest.
   */
  static logSpanFault(currentRevision: number, compactRevision: number, histories: readonly KeyHistory[]): string | null {
    const logFirstRevision = Math.max(2, compactRevision);
    let logged = 0;
    for (const history of histories) {
      for (const change of history.changes) {
        if (change.revision > currentRevision) return `a change at revision ${change.revision} is above the store revision ${currentRevision}`;
        if (change.revision >= logFirstRevision) logged += 1;
      }
    }
    const revisions = currentRevision - logFirstRevision + 1;
    if (revisions > logged) return `revisions ${logFirstRevision} to ${currentRevision} need a change each, and only ${logged} changes fall among them`;
    return null;
  }

  /** Rebuilds a store from its histories (the snapshot's content); the caller validates the shape first, `logSpanFault` included. */
  static fromHistories(currentRevision: number, compactRevision: number, histories: readonly KeyHistory[]): MvccStore {
    const store = new MvccStore();
    store.revision = currentRevision;
    store.compacted = compactRevision;
    store.logFirstRevision = Math.max(2, compactRevision);
    const logged: LoggedChange[] = [];
    for (const history of histories) {
      store.index.set(history.key, history);
      for (const change of history.changes) {
        if (change.revision >= store.logFirstRevision) logged.push({ history, change });
      }
    }
    logged.sort((a, b) => a.change.revision - b.change.revision || a.change.sub - b.change.sub);
    store.log = [];
    for (const entry of logged) {
      const at = entry.change.revision - store.logFirstRevision;
      while (store.log.length <= at) store.log.push([]);
      (store.log[at] as LoggedChange[]).push(entry);
    }
    return store;
  }

  /** Throws if the index and the log disagree or break the ordering rules. */
  checkInvariants(): void {
    assert(this.pending === null, 'a write transaction was left open');
    assert(this.compacted >= 0 && this.compacted <= this.revision, 'compact revision out of bounds');
    assert(this.logFirstRevision === Math.max(2, this.compacted), 'log starts at the wrong revision');
    this.index.checkInvariants();
    let changesAtOrAboveLogStart = 0;
    for (const history of this.histories()) {
      assert(history.changes.length > 0, () => `key ${JSON.stringify(history.key)} has an empty history`);
      assert(bytesToBinary(history.keyBytes) === history.key, 'history key bytes differ from its key');
      let previous: Change | null = null;
      for (const change of history.changes) {
        assert(change.revision >= 2 && change.revision <= this.revision, 'change revision out of bounds');
        if (previous !== null) {
          assert(
            previous.revision < change.revision || (previous.revision === change.revision && previous.sub < change.sub),
            'history changes out of order',
          );
        }
        if (change.kv !== null) {
          const kv = change.kv;
          assert(kv.key === history.keyBytes && kv.modRevision === change.revision, 'pair does not match its change');
          const prior = previous === null ? null : previous.kv;
          if (previous !== null) {
            assert(
              prior === null ? kv.version === 1 && kv.createRevision === change.revision
                : kv.version === prior.version + 1 && kv.createRevision === prior.createRevision,
              'version or create revision does not follow from the previous change',
            );
          }
        } else {
          assert(previous === null || previous.kv !== null, 'two tombstones in a row');
        }
        if (change.revision >= this.logFirstRevision) changesAtOrAboveLogStart += 1;
        previous = change;
      }
      if (history.changes[0]?.kv === null) {
        assert((history.changes[0] as Change).revision >= this.compacted, 'a tombstone survived compaction');
      }
    }
    const expectedLogLength = this.revision - this.logFirstRevision + 1;
    assert(this.log.length === Math.max(0, expectedLogLength), 'log length does not match the revisions');
    let logged = 0;
    this.log.forEach((entries, i) => {
      assert(entries.length > 0, 'a revision without changes');
      entries.forEach((entry, sub) => {
        assert(entry.change.revision === this.logFirstRevision + i && entry.change.sub === sub, 'log entry out of place');
        assert(entry.history.changes.includes(entry.change), 'log entry missing from its key history');
      });
      logged += entries.length;
    });
    assert(logged === changesAtOrAboveLogStart, 'log and key histories hold different changes');
  }

  private static eventOf(history: KeyHistory, change: Change): Event {
    const prevKv = MvccStore.kvAt(history, change.revision - 1);
    if (change.kv !== null) return { type: 'PUT', kv: change.kv, prevKv };
    const tombstone: KeyValue = {
      key: history.keyBytes,
      createRevision: 0,
      modRevision: change.revision,
      version: 0,
      value: EMPTY_BYTES,
      lease: 0,
    };
    return { type: 'DELETE', kv: tombstone, prevKv };
  }
}
