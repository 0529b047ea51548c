/**
 * The structural check of a KvCommand that arrives from a peer. A command that
 * passes is safe to hand to the state machine: every field it reads has the
 * right type. Without this, a peer could put a malformed command into the log;
 * every replica would then fail applying it, and fail again on every restart,
 * because the command is decided and is replayed.
 */
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isBytes = (v: unknown): boolean => v instanceof Uint8Array;
const isInt = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v);
const optional = (v: unknown, check: (x: unknown) => boolean): boolean => v === undefined || check(v);
const isBool = (v: unknown): boolean => typeof v === 'boolean';
const oneOf = (values: readonly string[]) => (v: unknown): boolean => typeof v === 'string' && values.includes(v);

const SORT_ORDERS = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const RESULTS = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
/** Deepest txn nesting a command may carry (the top-level txn is depth 0); convert.ts refuses deeper requests. */
export const TXN_DEPTH_MAX = 16;
/** Most lease ids in one lease-expire command (the leader puts at most 1,000 in one). */
export const LEASE_EXPIRE_IDS_MAX = 100_000;

function isRange(r: unknown): boolean {
  return (
    isObject(r) &&
    isBytes(r.key) &&
    optional(r.rangeEnd, isBytes) &&
    ['limit', 'revision', 'minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision'].every((f) => optional(r[f], isInt)) &&
    optional(r.sortOrder, oneOf(SORT_ORDERS)) &&
    optional(r.sortTarget, oneOf(SORT_TARGETS)) &&
    ['serializable', 'keysOnly', 'countOnly'].every((f) => optional(r[f], isBool))
  );
}

function isPut(r: unknown): boolean {
  return (
    isObject(r) &&
    isBytes(r.key) &&
    optional(r.value, isBytes) &&
    optional(r.lease, isInt) &&
    ['prevKv', 'ignoreValue', 'ignoreLease'].every((f) => optional(r[f], isBool))
  );
}

function isDelete(r: unknown): boolean {
  return isObject(r) && isBytes(r.key) && optional(r.rangeEnd, isBytes) && optional(r.prevKv, isBool);
}

function isCompare(c: unknown): boolean {
  if (!isObject(c) || !isBytes(c.key) || !optional(c.rangeEnd, isBytes) || !oneOf(RESULTS)(c.result)) return false;
  switch (c.target) {
    case 'VERSION':
      return isInt(c.version);
    case 'CREATE':
      return isInt(c.createRevision);
    case 'MOD':
      return isInt(c.modRevision);
    case 'VALUE':
      return isBytes(c.value);
    case 'LEASE':
      return isInt(c.lease);
    default:
      return false;
  }
}

function isRequestOp(op: unknown, depth: number): boolean {
  if (!isObject(op)) return false;
  switch (op.type) {
    case 'range':
      return isRange(op.request);
    case 'put':
      return isPut(op.request);
    case 'delete-range':
      return isDelete(op.request);
    case 'txn':
      return isTxn(op.request, depth + 1);
    default:
      return false;
  }
}

function isList(v: unknown, check: (x: unknown) => boolean): boolean {
  return v === undefined || (Array.isArray(v) && v.every(check));
}

function isTxn(r: unknown, depth: number): boolean {
  if (depth > TXN_DEPTH_MAX || !isObject(r)) return false;
  return isList(r.compare, isCompare) && isList(r.success, (op) => isRequestOp(op, depth)) && isList(r.failure, (op) => isRequestOp(op, depth));
}

/** True when `op` is a well-formed KvCommand (its values are checked by the state machine). */
export function isKvCommandShape(op: unknown): boolean {
  if (!isObject(op)) return false;
  const request = op.request;
  switch (op.type) {
    case 'range':
      return isRange(request);
    case 'put':
      return isPut(request);
    case 'delete-range':
      return isDelete(request);
    case 'txn':
      return isTxn(request, 0);
    case 'compact':
      return isObject(request) && isInt(request.revision) && optional(request.physical, isBool);
    case 'lease-grant':
      return isObject(request) && isInt(request.ttl) && optional(request.id, isInt) && isInt(op.now);
    case 'lease-revoke':
      return isObject(request) && isInt(request.id);
    case 'lease-renew':
      return isObject(request) && isInt(request.id) && isInt(op.now);
    case 'lease-expire':
      return Array.isArray(op.ids) && op.ids.length <= LEASE_EXPIRE_IDS_MAX && op.ids.every(isInt) && isInt(op.now);
    case 'leader-changed':
      return isInt(op.now) && isInt(op.extendMs);
    default:
      return false;
  }
}
