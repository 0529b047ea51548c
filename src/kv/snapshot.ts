/**
 * The snapshot format of the key-value state machine: UTF-8 JSON, byte
 * strings in base64, keys in ascending order and leases by ID, so equal
 * states encode to equal bytes.
 *
 *   { "format": "synod-kv/1", "revision": 9, "compactRevision": 4, "leaseIdSeed": 2,
 *     "keys": [[key, [[revision, sub, value | null, createRevision, version, lease], ...]], ...],
 *     "leases": [[id, ttlSeconds, deadlineMs], ...] }
 *
 * A change with value null is a tombstone. Lease attachments are not stored:
 * they follow from the live pairs' `lease` fields.
 *
 * A snapshot crosses a boundary (disk, network), so decoding checks every field
 * and throws a SnapshotError naming the first one that is wrong.
 */
import { base64ToBytes, bytesToBase64, bytesToBinary } from './bytes.js';
import type { Change, KeyHistory } from './mvcc-store.js';
import type { KeyValue } from './types.js';

export const SNAPSHOT_FORMAT = 'synod-kv/1';

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
}

export interface SnapshotLease {
  readonly id: number;
  readonly ttlSeconds: number;
  readonly deadlineMs: number;
}

export interface KvSnapshotState {
  readonly currentRevision: number;
  readonly compactRevision: number;
  readonly leaseIdSeed: number;
  /** In ascending key order. */
  readonly histories: readonly KeyHistory[];
  /** In ascending ID order. */
  readonly leases: readonly SnapshotLease[];
}

type ChangeTuple = [number, number, string | null, number, number, number];

export function encodeKvSnapshot(state: KvSnapshotState): Uint8Array {
  const keys = state.histories.map((history) => [
    bytesToBase64(history.keyBytes),
    history.changes.map((change): ChangeTuple =>
      change.kv === null
        ? [change.revision, change.sub, null, 0, 0, 0]
        : [change.revision, change.sub, bytesToBase64(change.kv.value), change.kv.createRevision, change.kv.version, change.kv.lease],
    ),
  ]);
  const shape = {
    format: SNAPSHOT_FORMAT,
    revision: state.currentRevision,
    compactRevision: state.compactRevision,
    leaseIdSeed: state.leaseIdSeed,
    keys,
    leases: state.leases.map((lease) => [lease.id, lease.ttlSeconds, lease.deadlineMs]),
  };
  return new TextEncoder().encode(JSON.stringify(shape));
}

export function decodeKvSnapshot(bytes: Uint8Array): KvSnapshotState {
  let shape: unknown;
  try {
    shape = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new SnapshotError(`snapshot is not UTF-8 JSON: ${String(cause)}`);
  }
  const root = record(shape, 'snapshot');
  if (root.format !== SNAPSHOT_FORMAT) throw new SnapshotError(`snapshot format is ${JSON.stringify(root.format)}, expected ${SNAPSHOT_FORMAT}`);
  const currentRevision = integer(root.revision, 'revision', 1);
  const compactRevision = integer(root.compactRevision, 'compactRevision', 0);
  if (compactRevision > currentRevision) throw new SnapshotError('compactRevision is above revision');
  const leaseIdSeed = integer(root.leaseIdSeed, 'leaseIdSeed', 0);

  let previousKey: string | null = null;
  const histories = array(root.keys, 'keys').map((entry, i): KeyHistory => {
    const where = `keys[${i}]`;
    const pair = array(entry, where);
    if (pair.length !== 2) throw new SnapshotError(`${where} is not a [key, changes] pair`);
    const keyBytes = base64(pair[0], `${where} key`);
    if (keyBytes.length === 0) throw new SnapshotError(`${where} key is empty`);
    const key = bytesToBinary(keyBytes);
    if (previousKey !== null && !(previousKey < key)) throw new SnapshotError(`${where} key is not above the previous key`);
    previousKey = key;
    const changes = array(pair[1], `${where} changes`).map((tuple, j): Change => decodeChange(tuple, keyBytes, `${where} change ${j}`));
    if (changes.length === 0) throw new SnapshotError(`${where} has no changes`);
    return { key, keyBytes, changes };
  });

  let previousId: number | null = null;
  const leases = array(root.leases, 'leases').map((entry, i): SnapshotLease => {
    const where = `leases[${i}]`;
    const tuple = array(entry, where);
    if (tuple.length !== 3) throw new SnapshotError(`${where} is not an [id, ttl, deadline] triple`);
    const id = integer(tuple[0], `${where} id`);
    if (id === 0) throw new SnapshotError(`${where} id is 0`);
    if (previousId !== null && !(previousId < id)) throw new SnapshotError(`${where} id is not above the previous id`);
    previousId = id;
    return { id, ttlSeconds: integer(tuple[1], `${where} ttl`, 1), deadlineMs: integer(tuple[2], `${where} deadline`) };
  });
  return { currentRevision, compactRevision, leaseIdSeed, histories, leases };
}

function decodeChange(input: unknown, keyBytes: Uint8Array, where: string): Change {
  const tuple = array(input, where);
  if (tuple.length !== 6) throw new SnapshotError(`${where} does not have 6 fields`);
  const revision = integer(tuple[0], `${where} revision`, 2);
  const sub = integer(tuple[1], `${where} sub`, 0);
  if (tuple[2] === null) return { revision, sub, kv: null };
  const kv: KeyValue = {
    key: keyBytes,
    createRevision: integer(tuple[3], `${where} createRevision`, 2),
    modRevision: revision,
    version: integer(tuple[4], `${where} version`, 1),
    value: base64(tuple[2], `${where} value`),
    lease: integer(tuple[5], `${where} lease`),
  };
  return { revision, sub, kv };
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SnapshotError(`${where} is not an object`);
  return value as Record<string, unknown>;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new SnapshotError(`${where} is not an array`);
  return value;
}

function integer(value: unknown, where: string, min = Number.MIN_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new SnapshotError(`${where} is not an integer >= ${min}: ${JSON.stringify(value)}`);
  }
  return value;
}

function base64(value: unknown, where: string): Uint8Array {
  const bytes = typeof value === 'string' ? base64ToBytes(value) : null;
  if (bytes === null) throw new SnapshotError(`${where} is not base64`);
  return bytes;
}

/**
 * JSON.stringify replacer and JSON.parse reviver that carry Uint8Array as
 * {"$bytes": base64}. Outputs hold byte arrays, which plain JSON turns into
 * objects with numeric keys; anything that stores outputs as JSON (a session
 * table, a trace) should use these.
 */
export { bytesJsonReplacer, bytesJsonReviver } from '../smr/bytes-json.js';
