/**
 * Request checks that need no state, after etcd's `v3rpc/key.go`. The server
 * runs them before proposing (a bad request never takes a log slot) and `apply`
 * runs them again, so a command that skipped the server still fails the same
 * way on every replica.
 */
import { keySpan, spanContains, type KeySpan } from './mvcc-store.js';
import { bytesToBinary } from './bytes.js';
import { kvError, type KvError } from './errors.js';
import type { DeleteRangeRequest, KvCommand, PutRequest, RangeRequest, RequestOp, TxnRequest } from './types.js';

/** etcd's --max-txn-ops default. */
export const MAX_TXN_OPS_DEFAULT = 128;

export function validateRange(request: RangeRequest): KvError | null {
  return request.key.length === 0 ? kvError('empty-key') : null;
}

export function validatePut(request: PutRequest): KvError | null {
  if (request.key.length === 0) return kvError('empty-key');
  if (request.ignoreValue === true && (request.value?.length ?? 0) !== 0) return kvError('value-provided');
  if (request.ignoreLease === true && (request.lease ?? 0) !== 0) return kvError('lease-provided');
  return null;
}

export function validateDeleteRange(request: DeleteRangeRequest): KvError | null {
  return request.key.length === 0 ? kvError('empty-key') : null;
}

/**
 * etcd's checkTxnRequest, then checkIntervals on each branch. The op bound is
 * on the longest of compare, success and failure (not their sum), and a nested
 * txn gets what its parent left: maxTxnOps minus the parent's longest list.
 */
export function validateTxn(request: TxnRequest, maxTxnOps = MAX_TXN_OPS_DEFAULT): KvError | null {
  const shapeError = checkTxnShape(request, maxTxnOps);
  if (shapeError !== null) return shapeError;
  if (checkIntervals(request.success ?? []) === null) return kvError('duplicate-key');
  if (checkIntervals(request.failure ?? []) === null) return kvError('duplicate-key');
  return null;
}

export function validateKvCommand(command: KvCommand, maxTxnOps = MAX_TXN_OPS_DEFAULT): KvError | null {
  switch (command.type) {
    case 'range':
      return validateRange(command.request);
    case 'put':
      return validatePut(command.request);
    case 'delete-range':
      return validateDeleteRange(command.request);
    case 'txn':
      return validateTxn(command.request, maxTxnOps);
    default:
      return null;
  }
}

/** Whether a txn has no put or delete in any branch at any depth (it may then run outside the log). */
export function isTxnReadOnly(request: TxnRequest): boolean {
  const readOnly = (ops: readonly RequestOp[]): boolean =>
    ops.every((op) => op.type === 'range' || (op.type === 'txn' && isTxnReadOnly(op.request)));
  return readOnly(request.success ?? []) && readOnly(request.failure ?? []);
}

function checkTxnShape(request: TxnRequest, maxTxnOps: number): KvError | null {
  const compare = request.compare ?? [];
  const success = request.success ?? [];
  const failure = request.failure ?? [];
  const opCount = Math.max(compare.length, success.length, failure.length);
  if (opCount > maxTxnOps) return kvError('too-many-ops');
  for (const c of compare) {
    if (c.key.length === 0) return kvError('empty-key');
  }
  for (const op of [...success, ...failure]) {
    const error = checkRequestOp(op, maxTxnOps - opCount);
    if (error !== null) return error;
  }
  return null;
}

function checkRequestOp(op: RequestOp, maxTxnOps: number): KvError | null {
  switch (op.type) {
    case 'range':
      return validateRange(op.request);
    case 'put':
      return validatePut(op.request);
    case 'delete-range':
      return validateDeleteRange(op.request);
    case 'txn':
      return checkTxnShape(op.request, maxTxnOps);
  }
}

interface Writes {
  readonly puts: Set<string>;
  readonly deletes: KeySpan[];
}

/**
 * etcd's checkIntervals: within one branch no key may be written twice. A put
 * may not repeat a put, nor fall in a delete of the same level or of a nested
 * txn seen before it; the two branches of one nested txn may put the same key,
 * since only one of them runs. Returns null on a duplicate.
 *
 * One deliberate difference: etcd builds the interval of a delete with
 * range_end "\0" as [key, "\0"), an empty interval, so such a delete never
 * conflicts; here it is [key, +inf), what the delete actually removes. This
 * only refuses txns that etcd would accept and then fail on while applying.
 */
function checkIntervals(ops: readonly RequestOp[]): Writes | null {
  const deletes: KeySpan[] = [];
  for (const op of ops) {
    if (op.type === 'delete-range') deletes.push(keySpan(op.request.key, op.request.rangeEnd));
  }
  const deleted = (key: string): boolean => deletes.some((span) => spanContains(span, key));
  const puts = new Set<string>();
  for (const op of ops) {
    if (op.type !== 'txn') continue;
    const then = checkIntervals(op.request.success ?? []);
    if (then === null) return null;
    const otherwise = checkIntervals(op.request.failure ?? []);
    if (otherwise === null) return null;
    for (const key of then.puts) {
      if (puts.has(key) || deleted(key)) return null;
      puts.add(key);
    }
    for (const key of otherwise.puts) {
      if ((puts.has(key) && !then.puts.has(key)) || deleted(key)) return null;
      puts.add(key);
    }
    deletes.push(...then.deletes, ...otherwise.deletes);
  }
  for (const op of ops) {
    if (op.type !== 'put') continue;
    const key = bytesToBinary(op.request.key);
    if (puts.has(key) || deleted(key)) return null;
    puts.add(key);
  }
  return { puts, deletes };
}
