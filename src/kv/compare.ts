/**
 * Txn comparisons, after etcd's applyCompare/compareKV.
 */
import { assertNever } from '../core/assert.js';
import { compareBytes, EMPTY_BYTES } from './bytes.js';
import type { Compare, KeyValue } from './types.js';

/**
 * Whether a txn compare holds over the live pairs in its range: every pair must
 * pass. An empty range compares as one missing key, which has version, create
 * revision, mod revision and lease 0; except that a VALUE compare on no key is
 * false whatever its result, since "no value" and "empty value" cannot be told
 * apart on the wire.
 */
export function compareHolds(compare: Compare, kvs: readonly KeyValue[]): boolean {
  if (kvs.length === 0) return compare.target !== 'VALUE' && compareKv(compare, null);
  return kvs.every((kv) => compareKv(compare, kv));
}

/** etcd's compareKV; a missing key compares as all zeros and an empty value. */
export function compareKv(compare: Compare, kv: KeyValue | null): boolean {
  let order: number;
  switch (compare.target) {
    case 'VERSION':
      order = Math.sign((kv?.version ?? 0) - compare.version);
      break;
    case 'CREATE':
      order = Math.sign((kv?.createRevision ?? 0) - compare.createRevision);
      break;
    case 'MOD':
      order = Math.sign((kv?.modRevision ?? 0) - compare.modRevision);
      break;
    case 'VALUE':
      order = Math.sign(compareBytes(kv?.value ?? EMPTY_BYTES, compare.value));
      break;
    case 'LEASE':
      order = Math.sign((kv?.lease ?? 0) - compare.lease);
      break;
    default:
      return assertNever(compare, 'compare target');
  }
  switch (compare.result) {
    case 'EQUAL':
      return order === 0;
    case 'NOT_EQUAL':
      return order !== 0;
    case 'GREATER':
      return order > 0;
    case 'LESS':
      return order < 0;
    default:
      return assertNever(compare.result, 'compare result');
  }
}
