/**
 * The request size bound. etcd refuses a proposal whose encoded raft request
 * exceeds --max-request-bytes (1.5 MiB by default) with "etcdserver: request is
 * too large". Commands here are not protobuf, so the size is computed as the
 * protobuf encoding of the etcd request would be (field tags, length prefixes,
 * varints), plus a fixed allowance for the raft request wrapper.
 */
import { kvError, type KvError } from './errors.js';
import type { Compare, DeleteRangeRequest, KvCommand, PutRequest, RangeRequest, RequestOp, TxnRequest } from './types.js';

/** etcd's --max-request-bytes default: 1.5 MiB. */
export const MAX_REQUEST_BYTES_DEFAULT = 1_572_864;

/** InternalRaftRequest header, request ID and oneof tag. */
const WRAPPER_BYTES = 32;

function varintBytes(value: number): number {
  if (value < 0) return 10;
  let bytes = 1;
  let rest = Math.floor(value / 128);
  while (rest > 0) {
    bytes += 1;
    rest = Math.floor(rest / 128);
  }
  return bytes;
}

function bytesField(value: Uint8Array | undefined, tagBytes = 1): number {
  return value === undefined || value.length === 0 ? 0 : tagBytes + varintBytes(value.length) + value.length;
}

function intField(value: number | undefined, tagBytes = 1): number {
  return value === undefined || value === 0 ? 0 : tagBytes + varintBytes(value);
}

function flagField(value: boolean | undefined): number {
  return value === true ? 2 : 0;
}

function messageField(size: number, tagBytes = 1): number {
  return tagBytes + varintBytes(size) + size;
}

function rangeBytes(r: RangeRequest): number {
  return bytesField(r.key) + bytesField(r.rangeEnd) + intField(r.limit) + intField(r.revision)
    + (r.sortOrder !== undefined && r.sortOrder !== 'NONE' ? 2 : 0) + (r.sortTarget !== undefined && r.sortTarget !== 'KEY' ? 2 : 0)
    + flagField(r.serializable) + flagField(r.keysOnly) + flagField(r.countOnly)
    + intField(r.minModRevision) + intField(r.maxModRevision) + intField(r.minCreateRevision) + intField(r.maxCreateRevision);
}

function putBytes(r: PutRequest): number {
  return bytesField(r.key) + bytesField(r.value) + intField(r.lease) + flagField(r.prevKv) + flagField(r.ignoreValue) + flagField(r.ignoreLease);
}

function deleteBytes(r: DeleteRangeRequest): number {
  return bytesField(r.key) + bytesField(r.rangeEnd) + flagField(r.prevKv);
}

function compareBytesSize(c: Compare): number {
  let operand: number;
  switch (c.target) {
    case 'VERSION':
      operand = intField(c.version);
      break;
    case 'CREATE':
      operand = intField(c.createRevision);
      break;
    case 'MOD':
      operand = intField(c.modRevision);
      break;
    case 'VALUE':
      operand = bytesField(c.value);
      break;
    case 'LEASE':
      operand = intField(c.lease);
      break;
  }
  // result and target enums, then the key; range_end is field 64, a two-byte tag.
  return 4 + bytesField(c.key) + operand + bytesField(c.rangeEnd, 2);
}

function opBytes(op: RequestOp): number {
  switch (op.type) {
    case 'range':
      return messageField(rangeBytes(op.request));
    case 'put':
      return messageField(putBytes(op.request));
    case 'delete-range':
      return messageField(deleteBytes(op.request));
    case 'txn':
      return messageField(txnBytes(op.request));
  }
}

function txnBytes(r: TxnRequest): number {
  let size = 0;
  for (const c of r.compare ?? []) size += messageField(compareBytesSize(c));
  for (const op of [...(r.success ?? []), ...(r.failure ?? [])]) size += messageField(opBytes(op));
  return size;
}

/** The size etcd would measure for this command's raft request, in bytes. */
export function commandBytes(command: KvCommand): number {
  switch (command.type) {
    case 'range':
      return WRAPPER_BYTES + rangeBytes(command.request);
    case 'put':
      return WRAPPER_BYTES + putBytes(command.request);
    case 'delete-range':
      return WRAPPER_BYTES + deleteBytes(command.request);
    case 'txn':
      return WRAPPER_BYTES + txnBytes(command.request);
    case 'lease-expire':
      return WRAPPER_BYTES + command.ids.reduce((sum, id) => sum + 1 + varintBytes(id), 0);
    default:
      return WRAPPER_BYTES + 32;
  }
}

/** For the server, before proposing: ErrRequestTooLarge when the command is over the bound. */
export function checkRequestSize(command: KvCommand, maxRequestBytes = MAX_REQUEST_BYTES_DEFAULT): KvError | null {
  return commandBytes(command) > maxRequestBytes ? kvError('request-too-large') : null;
}
