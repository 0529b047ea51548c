/**
 * Decoding the binary command format (its grammar and rules are in
 * command-binary.ts). The bytes are untrusted (a peer's frame, a file): every
 * length is checked before use, and every problem is a WireError with code
 * 'command' naming the field, never any other exception.
 */
import type { Compare, KvCommand, RangeRequest, RequestOp, TxnRequest } from '../kv/types.js';
import { WireError } from '../wire/index.js';
import {
  BINARY_FORMAT,
  COMMAND_ID_BYTES_MAX,
  COMMAND_ID_LENGTH_MAX,
  PUT_BOOLS,
  RANGE_BOOLS,
  RANGE_INTS_HIGH,
  RANGE_INTS_LOW,
  RESULTS,
  SORT_ORDERS,
  SORT_TARGETS,
  TAG,
  TARGETS,
  TXN_LIST_MAX,
} from './command-binary.js';
import { LEASE_EXPIRE_IDS_MAX, TXN_DEPTH_MAX } from './command-shape.js';

const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function refuse(what: string, problem: string): never {
  throw new WireError('command', `${what}: ${problem}`);
}

/** A bounded reader over untrusted bytes: every length is checked before use, and every problem is a WireError naming the field. */
class Decoder {
  private offset = 0;

  constructor(private readonly input: Uint8Array) {}

  u8(what: string): number {
    if (this.offset >= this.input.length) refuse(what, 'the command ends here');
    return this.input[this.offset++] as number;
  }

  varuint(what: string): number {
    let value = 0;
    let scale = 1;
    // Bounded: 2^53 - 1 needs at most eight 7-bit groups.
    for (let index = 0; index < 8; index++) {
      const byte = this.u8(what);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && index > 0) refuse(what, 'non-minimal varint');
        if (!Number.isSafeInteger(value)) refuse(what, `${value} is above 2^53-1`);
        return value;
      }
      scale *= 0x80;
    }
    return refuse(what, 'varint longer than 8 bytes');
  }

  int(what: string): number {
    const sign = this.u8(what);
    if (sign > 1) refuse(what, `sign byte must be 0 or 1, got ${sign}`);
    const magnitude = this.varuint(what);
    if (sign === 0) return magnitude;
    if (magnitude === 0) refuse(what, 'negative zero');
    return -magnitude;
  }

  bool(what: string): boolean {
    const byte = this.u8(what);
    if (byte > 1) refuse(what, `boolean byte must be 0 or 1, got ${byte}`);
    return byte === 1;
  }

  /** A view into the input, not a copy (see the file comment). */
  bytes(what: string, maxBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
    const length = this.varuint(`${what} length`);
    if (length > maxBytes) refuse(what, `${length} bytes, at most ${maxBytes} allowed`);
    if (length > this.input.length - this.offset) refuse(what, `needs ${length} bytes, ${this.input.length - this.offset} left`);
    const value = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(what: string, maxBytes: number): string {
    const bytes = this.bytes(what, maxBytes);
    try {
      return textDecoder.decode(bytes);
    } catch {
      return refuse(what, 'invalid UTF-8');
    }
  }

  /** A list's count: at most `max`, and no more than the remaining bytes could hold at one byte per entry. */
  count(what: string, max: number): number {
    const count = this.varuint(`${what} count`);
    if (count > max) refuse(what, `${count} entries, at most ${max} allowed`);
    if (count > this.input.length - this.offset) refuse(what, `${count} entries cannot fit in the ${this.input.length - this.offset} bytes left`);
    return count;
  }

  mask(what: string, fields: number): number {
    const bits = this.varuint(`${what} field mask`);
    if (bits >= 2 ** fields) refuse(what, `field mask ${bits} sets bits for fields this version does not know`);
    return bits;
  }

  end(): void {
    const left = this.input.length - this.offset;
    if (left !== 0) refuse('command', `${left} trailing bytes`);
  }
}

const bit = (bits: number, index: number): boolean => Math.floor(bits / 2 ** index) % 2 === 1;

/**
 * Decodes a binary command (its first byte is BINARY_FORMAT). Throws a
 * WireError with code 'command' naming the first field that is wrong; never
 * anything else.
 */
export function decodeBinaryCommand(bytes: Uint8Array): { id: string; op: KvCommand } {
  const d = new Decoder(bytes);
  const format = d.u8('command format');
  if (format !== BINARY_FORMAT) refuse('command format', `unknown format byte ${format}`);
  const id = d.string('command id', COMMAND_ID_BYTES_MAX);
  if (id.length === 0 || id.length > COMMAND_ID_LENGTH_MAX) refuse('command id', `must be a string of 1 to ${COMMAND_ID_LENGTH_MAX} characters`);
  const op = readOp(d);
  d.end();
  return { id, op };
}

function readOp(d: Decoder): KvCommand {
  const tag = d.u8('command op type');
  switch (tag) {
    case TAG.range:
    case TAG.put:
    case TAG['delete-range']:
    case TAG.txn:
      return readRequestOpBody(d, tag, 0);
    case TAG.compact: {
      const bits = d.mask('compact', 1);
      const revision = d.int('compact revision');
      return bit(bits, 0) ? { type: 'compact', request: { revision, physical: d.bool('compact physical') } } : { type: 'compact', request: { revision } };
    }
    case TAG['lease-grant']: {
      const bits = d.mask('lease-grant', 1);
      const ttl = d.int('lease-grant ttl');
      const request = bit(bits, 0) ? { ttl, id: d.int('lease-grant id') } : { ttl };
      return { type: 'lease-grant', request, now: d.int('lease-grant now') };
    }
    case TAG['lease-revoke']:
      return { type: 'lease-revoke', request: { id: d.int('lease-revoke id') } };
    case TAG['lease-renew']: {
      const id = d.int('lease-renew id');
      return { type: 'lease-renew', request: { id }, now: d.int('lease-renew now') };
    }
    case TAG['lease-expire']: {
      const count = d.count('lease-expire ids', LEASE_EXPIRE_IDS_MAX);
      const ids: number[] = [];
      for (let i = 0; i < count; i++) ids.push(d.int('lease-expire id'));
      return { type: 'lease-expire', ids, now: d.int('lease-expire now') };
    }
    case TAG['leader-changed']: {
      const now = d.int('leader-changed now');
      return { type: 'leader-changed', now, extendMs: d.int('leader-changed extendMs') };
    }
    default:
      return refuse('command op type', `unknown tag ${tag}`);
  }
}

function readRequestOp(d: Decoder, depth: number): RequestOp {
  const tag = d.u8('txn op type');
  if (tag !== TAG.range && tag !== TAG.put && tag !== TAG['delete-range'] && tag !== TAG.txn) refuse('txn op type', `unknown tag ${tag}`);
  return readRequestOpBody(d, tag, depth);
}

function readRequestOpBody(d: Decoder, tag: number, depth: number): RequestOp {
  switch (tag) {
    case TAG.range:
      return { type: 'range', request: readRange(d) };
    case TAG.put: {
      const bits = d.mask('put', 5);
      const request: Record<string, unknown> = { key: d.bytes('put key') };
      if (bit(bits, 0)) request.value = d.bytes('put value');
      if (bit(bits, 1)) request.lease = d.int('put lease');
      PUT_BOOLS.forEach((field, i) => {
        if (bit(bits, 2 + i)) request[field] = d.bool(`put ${field}`);
      });
      return { type: 'put', request: request as unknown as Extract<RequestOp, { type: 'put' }>['request'] };
    }
    case TAG['delete-range']: {
      const bits = d.mask('delete-range', 2);
      const request: Record<string, unknown> = { key: d.bytes('delete-range key') };
      if (bit(bits, 0)) request.rangeEnd = d.bytes('delete-range rangeEnd');
      if (bit(bits, 1)) request.prevKv = d.bool('delete-range prevKv');
      return { type: 'delete-range', request: request as unknown as Extract<RequestOp, { type: 'delete-range' }>['request'] };
    }
    default:
      return { type: 'txn', request: readTxn(d, depth) };
  }
}

function readRange(d: Decoder): RangeRequest {
  const bits = d.mask('range', 12);
  const request: Record<string, unknown> = { key: d.bytes('range key') };
  if (bit(bits, 0)) request.rangeEnd = d.bytes('range rangeEnd');
  RANGE_INTS_LOW.forEach((field, i) => {
    if (bit(bits, 1 + i)) request[field] = d.int(`range ${field}`);
  });
  if (bit(bits, 3)) request.sortOrder = readEnum(d, SORT_ORDERS, 'range sortOrder');
  if (bit(bits, 4)) request.sortTarget = readEnum(d, SORT_TARGETS, 'range sortTarget');
  RANGE_BOOLS.forEach((field, i) => {
    if (bit(bits, 5 + i)) request[field] = d.bool(`range ${field}`);
  });
  RANGE_INTS_HIGH.forEach((field, i) => {
    if (bit(bits, 8 + i)) request[field] = d.int(`range ${field}`);
  });
  return request as unknown as RangeRequest;
}

function readTxn(d: Decoder, depth: number): TxnRequest {
  if (depth > TXN_DEPTH_MAX) refuse('txn', `nested deeper than ${TXN_DEPTH_MAX}`);
  const bits = d.mask('txn', 3);
  const request: { compare?: Compare[]; success?: RequestOp[]; failure?: RequestOp[] } = {};
  if (bit(bits, 0)) {
    const count = d.count('txn compare', TXN_LIST_MAX);
    request.compare = [];
    for (let i = 0; i < count; i++) request.compare.push(readCompare(d));
  }
  for (const [index, field] of [[1, 'success'], [2, 'failure']] as const) {
    if (!bit(bits, index)) continue;
    const count = d.count(`txn ${field}`, TXN_LIST_MAX);
    const ops: RequestOp[] = [];
    for (let i = 0; i < count; i++) ops.push(readRequestOp(d, depth + 1));
    request[field] = ops;
  }
  return request;
}

function readCompare(d: Decoder): Compare {
  const bits = d.mask('compare', 1);
  const key = d.bytes('compare key');
  const base = bit(bits, 0) ? { key, rangeEnd: d.bytes('compare rangeEnd') } : { key };
  const result = readEnum(d, RESULTS, 'compare result');
  const target = readEnum(d, TARGETS, 'compare target');
  switch (target) {
    case 'VERSION':
      return { ...base, result, target, version: d.int('compare version') };
    case 'CREATE':
      return { ...base, result, target, createRevision: d.int('compare createRevision') };
    case 'MOD':
      return { ...base, result, target, modRevision: d.int('compare modRevision') };
    case 'VALUE':
      return { ...base, result, target, value: d.bytes('compare value') };
    case 'LEASE':
      return { ...base, result, target, lease: d.int('compare lease') };
  }
}

function readEnum<T extends string>(d: Decoder, names: readonly T[], what: string): T {
  const index = d.u8(what);
  const name = names[index];
  if (name === undefined) refuse(what, `unknown value ${index}`);
  return name;
}
