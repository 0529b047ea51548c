/**
 * The binary encoding of a NodeCommand: what a proposing node writes once per
 * command, and what peers and the write-ahead log carry from then on.
 *
 *   command  := FORMAT(0x01) id:string op
 *   op       := tag:u8 body            (tags below, one per KvCommand type)
 *   string   := length:varuint utf8
 *   bytes    := length:varuint byte*
 *   int      := sign:u8(0|1) magnitude:varuint   (any safe integer; -0 is written as 0)
 *   bool     := u8(0|1)
 *   mask     := varuint                (bit i set: the i-th optional field follows)
 *   list(x)  := count:varuint x*
 *
 *   range        := mask key:bytes [rangeEnd:bytes] [limit:int] [revision:int] [sortOrder:u8]
 *                   [sortTarget:u8] [serializable:bool] [keysOnly:bool] [countOnly:bool]
 *                   [minModRevision:int] [maxModRevision:int] [minCreateRevision:int] [maxCreateRevision:int]
 *   put          := mask key:bytes [value:bytes] [lease:int] [prevKv:bool] [ignoreValue:bool] [ignoreLease:bool]
 *   delete-range := mask key:bytes [rangeEnd:bytes] [prevKv:bool]
 *   txn          := mask [compare:list(compare)] [success:list(requestOp)] [failure:list(requestOp)]
 *   compare      := mask key:bytes [rangeEnd:bytes] result:u8 target:u8 operand (int, or bytes for VALUE)
 *   requestOp    := tag:u8 (range | put | delete-range | txn)
 *   compact      := mask revision:int [physical:bool]
 *   lease-grant  := mask ttl:int [id:int] now:int
 *   lease-revoke := id:int
 *   lease-renew  := id:int now:int
 *   lease-expire := list(int) now:int
 *   leader-changed := now:int extendMs:int
 *
 * The first byte tells this format from the JSON one earlier versions wrote
 * (a JSON text starts with `{` or whitespace), so logs written before stay
 * readable (command.ts). This file encodes; command-binary-decode.ts decodes.
 *
 * Encoding is canonical: an optional field is written exactly when present,
 * and the decoder refuses what the encoder never writes (non-minimal varints,
 * unknown mask bits, booleans other than 0/1, a negative zero, trailing bytes).
 * Decoding builds exactly the fields that were encoded, so a decoded command
 * is structurally a KvCommand (command-shape.ts holds the same rules for JSON),
 * and every byte string in it is a view into the one buffer it was decoded
 * from, so a follower keeps one copy of each command.
 */
import { assert } from '../core/assert.js';
import type { Compare, CompareResult, KvCommand, RangeRequest, RequestOp, SortOrder, SortTarget, TxnRequest } from '../kv/types.js';
import { DEFAULT_WIRE_LIMITS, Writer } from '../wire/buffer.js';
import { TXN_DEPTH_MAX } from './command-shape.js';

export const BINARY_FORMAT = 0x01;

/** The id is `<member>.<incarnation>.<counter>`: at most 256 UTF-16 units, as JSON commands allowed. */
export const COMMAND_ID_LENGTH_MAX = 256;
/** 256 UTF-16 units take at most 768 bytes of UTF-8. */
export const COMMAND_ID_BYTES_MAX = 1024;
/** Most compares or ops in one txn list: far above etcd's --max-txn-ops, which the state machine enforces. */
export const TXN_LIST_MAX = 65_536;

export const TAG = { range: 1, put: 2, 'delete-range': 3, txn: 4, compact: 5, 'lease-grant': 6, 'lease-revoke': 7, 'lease-renew': 8, 'lease-expire': 9, 'leader-changed': 10 } as const;

export const SORT_ORDERS: readonly SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
export const SORT_TARGETS: readonly SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
export const RESULTS: readonly CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];
export const TARGETS: readonly Compare['target'][] = ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'];

/** Optional fields of a range request after `key`, in mask-bit order. */
export const RANGE_INTS_LOW = ['limit', 'revision'] as const;
export const RANGE_BOOLS = ['serializable', 'keysOnly', 'countOnly'] as const;
export const RANGE_INTS_HIGH = ['minModRevision', 'maxModRevision', 'minCreateRevision', 'maxCreateRevision'] as const;
export const PUT_BOOLS = ['prevKv', 'ignoreValue', 'ignoreLease'] as const;

// ------------------------------------------------------------------ encoding

/**
 * The wire writer, reused by every encode: commands are encoded one at a time
 * on the event loop, and `finish` copies out exactly the bytes written, so the
 * scratch never escapes. It adds signed integers and a type check on byte fields.
 */
class Encoder extends Writer {
  int(value: number, what: string): void {
    if (!Number.isSafeInteger(value)) assert(false, `cannot encode command: ${what} ${value} is not a safe integer`);
    this.u8(value < 0 ? 1 : 0);
    this.varuint(Math.abs(value));
  }

  override bytes(value: Uint8Array, what: string): void {
    if (!(value instanceof Uint8Array)) assert(false, `cannot encode command: ${what} is not bytes`);
    super.bytes(value, what);
  }

  /** A string field (an id, a key range bound given as text). */
  text(value: string): void {
    this.string(value, 'cannot encode command: string', this.limits.bytesMax);
  }
}

const encoder = new Encoder(DEFAULT_WIRE_LIMITS, 4096);

/** The binary encoding of a command. Asserts the command is well-formed: our own code built it. */
export function encodeBinaryCommand(id: string, op: KvCommand): Uint8Array {
  if (!(typeof id === 'string' && id.length > 0 && id.length <= COMMAND_ID_LENGTH_MAX)) {
    assert(false, `cannot encode command: its id must be a string of 1 to ${COMMAND_ID_LENGTH_MAX} characters`);
  }
  encoder.reset();
  encoder.u8(BINARY_FORMAT);
  encoder.text(id);
  writeOp(encoder, op);
  return encoder.finish();
}

const has = (value: unknown): boolean => value !== undefined;

function mask(...present: boolean[]): number {
  let bits = 0;
  for (let i = 0; i < present.length; i++) if (present[i]) bits += 2 ** i;
  return bits;
}

function writeOp(e: Encoder, op: KvCommand): void {
  switch (op.type) {
    case 'range':
    case 'put':
    case 'delete-range':
    case 'txn':
      writeRequestOp(e, op, 0);
      return;
    case 'compact':
      e.u8(TAG.compact);
      e.varuint(mask(has(op.request.physical)));
      e.int(op.request.revision, 'compact revision');
      if (op.request.physical !== undefined) e.bool(op.request.physical);
      return;
    case 'lease-grant':
      e.u8(TAG['lease-grant']);
      e.varuint(mask(has(op.request.id)));
      e.int(op.request.ttl, 'lease ttl');
      if (op.request.id !== undefined) e.int(op.request.id, 'lease id');
      e.int(op.now, 'now');
      return;
    case 'lease-revoke':
      e.u8(TAG['lease-revoke']);
      e.int(op.request.id, 'lease id');
      return;
    case 'lease-renew':
      e.u8(TAG['lease-renew']);
      e.int(op.request.id, 'lease id');
      e.int(op.now, 'now');
      return;
    case 'lease-expire':
      e.u8(TAG['lease-expire']);
      e.varuint(op.ids.length);
      for (const id of op.ids) e.int(id, 'lease id');
      e.int(op.now, 'now');
      return;
    case 'leader-changed':
      e.u8(TAG['leader-changed']);
      e.int(op.now, 'now');
      e.int(op.extendMs, 'extendMs');
      return;
    default: {
      const never: never = op;
      assert(false, () => `cannot encode command: unknown type ${JSON.stringify((never as { type?: unknown }).type)}`);
    }
  }
}

function writeRequestOp(e: Encoder, op: RequestOp, depth: number): void {
  switch (op.type) {
    case 'range':
      e.u8(TAG.range);
      writeRange(e, op.request);
      return;
    case 'put': {
      const r = op.request;
      e.u8(TAG.put);
      // The hot path (every put): the mask by hand, without mask()'s argument array.
      e.varuint(
        (r.value !== undefined ? 1 : 0) |
          (r.lease !== undefined ? 2 : 0) |
          (r.prevKv !== undefined ? 4 : 0) |
          (r.ignoreValue !== undefined ? 8 : 0) |
          (r.ignoreLease !== undefined ? 16 : 0),
      );
      e.bytes(r.key, 'put key');
      if (r.value !== undefined) e.bytes(r.value, 'put value');
      if (r.lease !== undefined) e.int(r.lease, 'put lease');
      for (const field of PUT_BOOLS) {
        const value = r[field];
        if (value !== undefined) e.bool(value);
      }
      return;
    }
    case 'delete-range': {
      const r = op.request;
      e.u8(TAG['delete-range']);
      e.varuint(mask(has(r.rangeEnd), has(r.prevKv)));
      e.bytes(r.key, 'delete key');
      if (r.rangeEnd !== undefined) e.bytes(r.rangeEnd, 'delete range end');
      if (r.prevKv !== undefined) e.bool(r.prevKv);
      return;
    }
    case 'txn':
      e.u8(TAG.txn);
      writeTxn(e, op.request, depth);
      return;
    default: {
      const never: never = op;
      assert(false, () => `cannot encode command: unknown request op ${JSON.stringify((never as { type?: unknown }).type)}`);
    }
  }
}

function writeRange(e: Encoder, r: RangeRequest): void {
  e.varuint(
    mask(
      has(r.rangeEnd),
      has(r.limit),
      has(r.revision),
      has(r.sortOrder),
      has(r.sortTarget),
      has(r.serializable),
      has(r.keysOnly),
      has(r.countOnly),
      has(r.minModRevision),
      has(r.maxModRevision),
      has(r.minCreateRevision),
      has(r.maxCreateRevision),
    ),
  );
  e.bytes(r.key, 'range key');
  if (r.rangeEnd !== undefined) e.bytes(r.rangeEnd, 'range end');
  for (const field of RANGE_INTS_LOW) {
    const value = r[field];
    if (value !== undefined) e.int(value, `range ${field}`);
  }
  if (r.sortOrder !== undefined) e.u8(enumIndex(SORT_ORDERS, r.sortOrder, 'sortOrder'));
  if (r.sortTarget !== undefined) e.u8(enumIndex(SORT_TARGETS, r.sortTarget, 'sortTarget'));
  for (const field of RANGE_BOOLS) {
    const value = r[field];
    if (value !== undefined) e.bool(value);
  }
  for (const field of RANGE_INTS_HIGH) {
    const value = r[field];
    if (value !== undefined) e.int(value, `range ${field}`);
  }
}

function writeTxn(e: Encoder, r: TxnRequest, depth: number): void {
  assert(depth <= TXN_DEPTH_MAX, () => `cannot encode command: txn nested deeper than ${TXN_DEPTH_MAX}`);
  e.varuint(mask(has(r.compare), has(r.success), has(r.failure)));
  if (r.compare !== undefined) {
    e.varuint(r.compare.length);
    for (const c of r.compare) writeCompare(e, c);
  }
  for (const ops of [r.success, r.failure]) {
    if (ops === undefined) continue;
    e.varuint(ops.length);
    for (const op of ops) writeRequestOp(e, op, depth + 1);
  }
}

function writeCompare(e: Encoder, c: Compare): void {
  e.varuint(mask(has(c.rangeEnd)));
  e.bytes(c.key, 'compare key');
  if (c.rangeEnd !== undefined) e.bytes(c.rangeEnd, 'compare range end');
  e.u8(enumIndex(RESULTS, c.result, 'compare result'));
  e.u8(enumIndex(TARGETS, c.target, 'compare target'));
  switch (c.target) {
    case 'VERSION':
      e.int(c.version, 'compare version');
      return;
    case 'CREATE':
      e.int(c.createRevision, 'compare createRevision');
      return;
    case 'MOD':
      e.int(c.modRevision, 'compare modRevision');
      return;
    case 'VALUE':
      e.bytes(c.value, 'compare value');
      return;
    case 'LEASE':
      e.int(c.lease, 'compare lease');
      return;
  }
}

function enumIndex<T extends string>(names: readonly T[], value: T, what: string): number {
  const index = names.indexOf(value);
  assert(index >= 0, () => `cannot encode command: unknown ${what} ${JSON.stringify(value)}`);
  return index;
}
