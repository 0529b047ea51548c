/**
 * Range requests over the multi-version store, after etcd's
 * `etcdserver/txn/range.go` (executeRange) and `mvcc/kvstore_txn.go` (rangeKeys).
 */
import { compareBytes, EMPTY_BYTES } from './bytes.js';
import { failed, ok, type KvResult } from './errors.js';
import { keySpan, type MvccStore } from './mvcc-store.js';
import type { KeyValue, RangeRequest, RangeResponse, SortOrder, SortTarget } from './types.js';

/**
 * Runs `request` against `store` as seen at `currentRevision` (the store
 * revision, or inside a write txn its read revision).
 *
 * - revision 0 (or negative) reads at `currentRevision`; above it fails with
 *   ErrFutureRev; below the compaction point fails with ErrCompacted. Reading
 *   at the compaction point itself works.
 * - `count` is every live key in the range, before the revision filters and
 *   the limit; the header carries `currentRevision`, not the read revision.
 * - Sorting: order NONE with target KEY is key order; order NONE with another
 *   target sorts ascending by it. Sort and filters apply before the limit.
 *   Ties keep key order, ascending; etcd's sort is unstable there, so any
 *   order of ties is etcd-compatible and this one is deterministic.
 */
export function executeRange(store: MvccStore, request: RangeRequest, currentRevision: number): KvResult<RangeResponse> {
  const asked = request.revision ?? 0;
  if (asked > currentRevision) return failed('future-revision');
  const revision = asked <= 0 ? currentRevision : asked;
  if (revision < store.compactRevision) return failed('compacted');

  const target: SortTarget = request.sortTarget ?? 'KEY';
  let order: SortOrder = request.sortOrder ?? 'NONE';
  if (target !== 'KEY' && order === 'NONE') order = 'ASCEND';
  const keyOrdered = order === 'NONE' || (target === 'KEY' && order === 'ASCEND');
  const limit = request.limit ?? 0;
  const filtered = hasRevisionFilters(request);
  // Fetch one past the limit to learn `more`, unless sorting or filtering needs everything.
  const fetchLimit = keyOrdered && !filtered && limit > 0 ? limit + 1 : 0;

  const collected = store.collect(keySpan(request.key, request.rangeEnd), revision, fetchLimit, request.countOnly === true);
  let kvs = collected.kvs;
  if (filtered) kvs = kvs.filter((kv) => passesRevisionFilters(kv, request));
  if (!keyOrdered) sortKvs(kvs, target, order);
  let more = false;
  if (limit > 0 && kvs.length > limit) {
    kvs = kvs.slice(0, limit);
    more = true;
  }
  if (request.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY_BYTES }));
  return ok({ header: { revision: currentRevision }, kvs, more, count: collected.count });
}

function hasRevisionFilters(request: RangeRequest): boolean {
  return (request.minModRevision ?? 0) !== 0 || (request.maxModRevision ?? 0) !== 0
    || (request.minCreateRevision ?? 0) !== 0 || (request.maxCreateRevision ?? 0) !== 0;
}

/** etcd's pruneKVs: a zero bound is no bound. */
function passesRevisionFilters(kv: KeyValue, request: RangeRequest): boolean {
  const maxMod = request.maxModRevision ?? 0;
  const minMod = request.minModRevision ?? 0;
  const maxCreate = request.maxCreateRevision ?? 0;
  const minCreate = request.minCreateRevision ?? 0;
  if (maxMod !== 0 && kv.modRevision > maxMod) return false;
  if (minMod !== 0 && kv.modRevision < minMod) return false;
  if (maxCreate !== 0 && kv.createRevision > maxCreate) return false;
  if (minCreate !== 0 && kv.createRevision < minCreate) return false;
  return true;
}

/** Sorts in place; `kvs` arrives in key order and Array.prototype.sort is stable, so ties stay in key order. */
function sortKvs(kvs: KeyValue[], target: SortTarget, order: SortOrder): void {
  if (target === 'KEY' && order === 'DESCEND') {
    kvs.reverse();
    return;
  }
  const sign = order === 'DESCEND' ? -1 : 1;
  const by = compareBy(target);
  kvs.sort((a, b) => sign * by(a, b));
}

function compareBy(target: SortTarget): (a: KeyValue, b: KeyValue) => number {
  switch (target) {
    case 'KEY':
      return (a, b) => compareBytes(a.key, b.key);
    case 'VERSION':
      return (a, b) => a.version - b.version;
    case 'CREATE':
      return (a, b) => a.createRevision - b.createRevision;
    case 'MOD':
      return (a, b) => a.modRevision - b.modRevision;
    case 'VALUE':
      return (a, b) => compareBytes(a.value, b.value);
  }
}
