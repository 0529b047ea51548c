/**
 * Conversions between the etcd wire shapes (proto-loader objects: snake_case,
 * int64 as decimal strings, enums as names) and the key-value store's types.
 * Every incoming value is checked here; a bad one becomes an InvalidArgument
 * error for the caller, never an exception inside the store.
 */
import { compareBytes } from '../../kv/bytes.js';
import * as kv from '../../kv/types.js';
import type * as pb from '../proto.js';

export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const INVALID_ARGUMENT = 3;

export function invalid(message: string): RequestError {
  return new RequestError(INVALID_ARGUMENT, message);
}

/** An int64 field as a safe JS number; revisions and lease ids stay below 2^53 in practice. */
export function num(value: pb.Int64 | number | undefined | null, field: string): number {
  if (value === undefined || value === null) return 0;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw invalid(`${field}: ${String(value)} is out of range`);
  return n;
}

export function bytes(value: Uint8Array | undefined | null): Uint8Array {
  return value === undefined || value === null ? new Uint8Array(0) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

export function optionalBytes(value: Uint8Array | undefined | null): Uint8Array | undefined {
  return value === undefined || value === null || value.length === 0 ? undefined : bytes(value);
}

const SORT_ORDERS: readonly kv.SortOrder[] = ['NONE', 'ASCEND', 'DESCEND'];
const SORT_TARGETS: readonly kv.SortTarget[] = ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'];
const RESULTS: readonly kv.CompareResult[] = ['EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL'];

export function enumName<T extends string>(value: T | number | undefined, names: readonly T[], field: string): T {
  if (value === undefined) return names[0] as T;
  if (typeof value === 'number') {
    const name = names[value];
    if (name === undefined) throw invalid(`${field}: unknown value ${value}`);
    return name;
  }
  if (!names.includes(value)) throw invalid(`${field}: unknown value ${value}`);
  return value;
}

export function rangeFromPb(request: pb.RangeRequest): kv.RangeRequest {
  return {
    key: bytes(request.key),
    rangeEnd: optionalBytes(request.range_end),
    limit: num(request.limit, 'limit'),
    revision: num(request.revision, 'revision'),
    sortOrder: enumName(request.sort_order, SORT_ORDERS, 'sort_order'),
    sortTarget: enumName(request.sort_target, SORT_TARGETS, 'sort_target'),
    serializable: request.serializable === true,
    keysOnly: request.keys_only === true,
    countOnly: request.count_only === true,
    minModRevision: num(request.min_mod_revision, 'min_mod_revision'),
    maxModRevision: num(request.max_mod_revision, 'max_mod_revision'),
    minCreateRevision: num(request.min_create_revision, 'min_create_revision'),
    maxCreateRevision: num(request.max_create_revision, 'max_create_revision'),
  };
}

export function putFromPb(request: pb.PutRequest): kv.PutRequest {
  return {
    key: bytes(request.key),
    value: bytes(request.value),
    lease: num(request.lease, 'lease'),
    prevKv: request.prev_kv === true,
    ignoreValue: request.ignore_value === true,
    ignoreLease: request.ignore_lease === true,
  };
}

export function deleteFromPb(request: pb.DeleteRangeRequest): kv.DeleteRangeRequest {
  return { key: bytes(request.key), rangeEnd: optionalBytes(request.range_end), prevKv: request.prev_kv === true };
}

function compareFromPb(compare: pb.Compare): kv.Compare {
  const base = {
    key: bytes(compare.key),
    rangeEnd: optionalBytes(compare.range_end),
    result: enumName(compare.result, RESULTS, 'compare.result'),
  };
  const target = enumName(compare.target, ['VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'] as const, 'compare.target');
  switch (target) {
    case 'VERSION':
      return { ...base, target, version: num(compare.version, 'compare.version') };
    case 'CREATE':
      return { ...base, target, createRevision: num(compare.create_revision, 'compare.create_revision') };
    case 'MOD':
      return { ...base, target, modRevision: num(compare.mod_revision, 'compare.mod_revision') };
    case 'VALUE':
      return { ...base, target, value: bytes(compare.value) };
    case 'LEASE':
      return { ...base, target, lease: num(compare.lease, 'compare.lease') };
  }
}

function requestOpFromPb(op: pb.RequestOp, depth: number): kv.RequestOp {
  switch (op.request) {
    case 'request_range':
      return { type: 'range', request: rangeFromPb(op.request_range) };
    case 'request_put':
      return { type: 'put', request: putFromPb(op.request_put) };
    case 'request_delete_range':
      return { type: 'delete-range', request: deleteFromPb(op.request_delete_range) };
    case 'request_txn':
      return { type: 'txn', request: txnFromPb(op.request_txn, depth + 1) };
    default:
      throw invalid('etcdserver: request op is empty');
  }
}

/** Nesting is bounded so a hostile request cannot exhaust the stack. */
const TXN_DEPTH_MAX = 16;

export function txnFromPb(request: pb.TxnRequest, depth = 0): kv.TxnRequest {
  if (depth > TXN_DEPTH_MAX) throw invalid(`txn nested deeper than ${TXN_DEPTH_MAX}`);
  return {
    compare: (request.compare ?? []).map(compareFromPb),
    success: (request.success ?? []).map((op) => requestOpFromPb(op, depth)),
    failure: (request.failure ?? []).map((op) => requestOpFromPb(op, depth)),
  };
}

// ---------------------------------------------------------------- responses

export interface HeaderIds {
  readonly clusterId: bigint;
  readonly memberId: bigint;
  readonly raftTerm: number;
}

/**
 * The decimal text of a uint64 id. Every response carries the cluster and
 * member ids, which never change in a process, so their text is kept rather
 * than converting two bigints per response.
 */
const idTexts = new Map<bigint, string>();
const ID_TEXTS_MAX = 64;

function idText(id: bigint): string {
  let text = idTexts.get(id);
  if (text === undefined) {
    if (idTexts.size >= ID_TEXTS_MAX) idTexts.clear();
    text = id.toString();
    idTexts.set(id, text);
  }
  return text;
}

/**
 * Revision and term go out as numbers (safe integers): protobufjs turns a
 * number into its int64 more cheaply than it parses a decimal string.
 */
export function headerToPb(ids: HeaderIds, revision: number): pb.Init<pb.ResponseHeader<pb.Int64Like>> {
  return { cluster_id: idText(ids.clusterId), member_id: idText(ids.memberId), revision, raft_term: ids.raftTerm };
}

export function kvToPb(pair: kv.KeyValue): pb.Init<pb.KeyValue<pb.Int64Like>> {
  return {
    key: pair.key,
    create_revision: String(pair.createRevision),
    mod_revision: String(pair.modRevision),
    version: String(pair.version),
    value: pair.value,
    lease: String(pair.lease),
  };
}

export function rangeToPb(ids: HeaderIds, response: kv.RangeResponse): pb.Init<pb.RangeResponse<pb.Int64Like>> {
  return { header: headerToPb(ids, response.header.revision), kvs: response.kvs.map(kvToPb), more: response.more, count: String(response.count) };
}

export function putToPb(ids: HeaderIds, response: kv.PutResponse): pb.Init<pb.PutResponse<pb.Int64Like>> {
  return { header: headerToPb(ids, response.header.revision), prev_kv: response.prevKv === null ? undefined : kvToPb(response.prevKv) };
}

export function deleteToPb(ids: HeaderIds, response: kv.DeleteRangeResponse): pb.Init<pb.DeleteRangeResponse<pb.Int64Like>> {
  return { header: headerToPb(ids, response.header.revision), deleted: String(response.deleted), prev_kvs: response.prevKvs.map(kvToPb) };
}

function responseOpToPb(ids: HeaderIds, op: kv.ResponseOp): pb.Init<pb.ResponseOp<pb.Int64Like>> {
  switch (op.type) {
    case 'range':
      return { response: 'response_range', response_range: rangeToPb(ids, op.response) } as pb.Init<pb.ResponseOp<pb.Int64Like>>;
    case 'put':
      return { response: 'response_put', response_put: putToPb(ids, op.response) } as pb.Init<pb.ResponseOp<pb.Int64Like>>;
    case 'delete-range':
      return { response: 'response_delete_range', response_delete_range: deleteToPb(ids, op.response) } as pb.Init<pb.ResponseOp<pb.Int64Like>>;
    case 'txn':
      return { response: 'response_txn', response_txn: txnToPb(ids, op.response) } as pb.Init<pb.ResponseOp<pb.Int64Like>>;
  }
}

export function txnToPb(ids: HeaderIds, response: kv.TxnResponse): pb.Init<pb.TxnResponse<pb.Int64Like>> {
  return { header: headerToPb(ids, response.header.revision), succeeded: response.succeeded, responses: response.responses.map((op) => responseOpToPb(ids, op)) };
}

/** An event for the wire; `prev_kv` only when the watcher asked for it (etcd's WatchCreateRequest.prev_kv). */
export function eventToPb(event: kv.Event, withPrevKv = true): pb.Init<pb.Event<pb.Int64Like>> {
  const prev = withPrevKv && event.prevKv !== null && event.prevKv !== undefined ? kvToPb(event.prevKv) : undefined;
  return { type: event.type, kv: kvToPb(event.kv), prev_kv: prev };
}

// ---------------------------------------------------------------- watch

/** A validated WatchCreateRequest. */
export interface WatchCreate {
  readonly key: Uint8Array;
  /** Absent: the key alone; [0]: every key >= key; else [key, rangeEnd). */
  readonly rangeEnd: Uint8Array | undefined;
  /** 0: from the next revision. */
  readonly startRevision: number;
  /** 0: the server assigns one. */
  readonly watchId: number;
  readonly prevKv: boolean;
  readonly progressNotify: boolean;
  readonly noPut: boolean;
  readonly noDelete: boolean;
}

const FILTERS: readonly pb.WatchFilterType[] = ['NOPUT', 'NODELETE'];

export function watchCreateFromPb(request: pb.WatchCreateRequest): WatchCreate {
  // etcd: an empty key means \x00, the least key.
  const key = request.key === null || request.key === undefined || request.key.length === 0 ? new Uint8Array([0]) : bytes(request.key);
  // etcd ignores filter values it does not know.
  const filters = new Set((request.filters ?? []).map((filter) => (typeof filter === 'number' ? FILTERS[filter] : filter)));
  return {
    key,
    rangeEnd: optionalBytes(request.range_end),
    startRevision: num(request.start_revision, 'start_revision'),
    watchId: num(request.watch_id, 'watch_id'),
    prevKv: request.prev_kv === true,
    progressNotify: request.progress_notify === true,
    noPut: filters.has('NOPUT'),
    noDelete: filters.has('NODELETE'),
  };
}

/** etcd refuses a watch whose explicit range end is not above its key ("mvcc: watcher range is empty"). */
export function watchRangeIsEmpty(create: WatchCreate): boolean {
  const end = create.rangeEnd;
  if (end === undefined || (end.length === 1 && end[0] === 0)) return false;
  return compareBytes(create.key, end) >= 0;
}

// ---------------------------------------------------------------- election

/** v3electionpb.LeaderKey: what a campaign won, and what Proclaim and Resign present. */
export interface LeaderKey {
  readonly name: Uint8Array;
  readonly key: Uint8Array;
  /** The leader key's create revision. */
  readonly rev: number;
  readonly lease: number;
}

export function leaderKeyFromPb(leader: pb.LeaderKey | null | undefined): LeaderKey | null {
  if (leader === null || leader === undefined) return null;
  return { name: bytes(leader.name), key: bytes(leader.key), rev: num(leader.rev, 'leader.rev'), lease: num(leader.lease, 'leader.lease') };
}

export function leaderKeyToPb(leader: LeaderKey): pb.Init<pb.LeaderKey<pb.Int64Like>> {
  return { name: leader.name, key: leader.key, rev: String(leader.rev), lease: String(leader.lease) };
}
