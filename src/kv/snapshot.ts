/**
 * The snapshot format of the key-value state machine. `encodeKvSnapshot`
 * writes format 2, a binary layout whose cost is close to copying the values;
 * `decodeKvSnapshot` reads format 2 and format 1 (the JSON that earlier
 * versions wrote, still found in data directories and in snapshots sent
 * between members), telling them apart by their first bytes.
 *
 * Format 2, "synod-kv/2", built from the wire primitives of src/wire/buffer.ts
 * (varuint: unsigned LEB128 of a safe integer, minimal length; bytes: a varuint
 * length, then the bytes):
 *
 *   snapshot := "SKV" 0x02                      magic: 'S' cannot start a JSON document
 *               revision:varuint compactRevision:varuint leaseIdSeed:varuint
 *               keyCount:varuint key{keyCount}
 *               leaseCount:varuint lease{leaseCount}
 *   key      := keyBytes:bytes changeCount:varuint change{changeCount}
 *   change   := revision:varuint sub:varuint
 *               ( 0x00                          a tombstone
 *               | 0x01 value:bytes createRevision:varuint version:varuint lease:int )
 *   lease    := id:int ttlSeconds:varuint deadlineMs:int
 *   int      := sign:u8 (0 or 1) magnitude:varuint, negative zero refused
 *
 * Lease IDs and deadlines are signed: a client may grant a lease with a
 * negative ID, and a deadline is a leader's clock (the command's `now`) plus
 * the TTL, which the commands do not keep positive.
 *
 * Format 1, "synod-kv/1": UTF-8 JSON with byte strings in base64,
 *
 *   { "format": "synod-kv/1", "revision": 9, "compactRevision": 4, "leaseIdSeed": 2,
 *     "keys": [[key, [[revision, sub, value | null, createRevision, version, lease], ...]], ...],
 *     "leases": [[id, ttlSeconds, deadlineMs], ...] }
 *
 * where a change with value null is a tombstone.
 *
 * In both formats keys come in ascending order and leases by ID, so equal
 * states encode to equal bytes; format 2 is also canonical the other way
 * round: it has one encoding per state (minimal varints, flag and sign bytes
 * 0 or 1, no trailing bytes), so bytes that decode re-encode to themselves.
 * Lease attachments are not stored: they follow from the live pairs' `lease`
 * fields.
 *
 * A snapshot crosses a boundary (disk, network), so decoding checks every field
 * with the same rules in both formats and throws a SnapshotError naming the
 * first one that is wrong.
 */
import { Reader, Writer, type WireLimits } from '../wire/buffer.js';
import { WireError } from '../wire/errors.js';
import { base64ToBytes, bytesToBase64, bytesToBinary } from './bytes.js';
import type { Change, KeyHistory } from './mvcc-store.js';
import type { KeyValue } from './types.js';

/** The format `encodeKvSnapshot` writes. */
export const SNAPSHOT_FORMAT = 'synod-kv/2';
/** The JSON format of earlier versions, still read. */
export const SNAPSHOT_FORMAT_V1 = 'synod-kv/1';

/** "SKV" and the format version. */
const MAGIC = Uint8Array.from([0x53, 0x4b, 0x56, 0x02]);
const MAGIC_PREFIX_BYTES = 3;

const TOMBSTONE = 0;
const PUT = 1;

/**
 * No bound on counts and lengths besides the snapshot itself: a store may hold
 * far more keys than a protocol message may carry entries, and the reader
 * already refuses a length or a count the remaining bytes cannot hold, so a
 * hostile snapshot cannot make the decoder allocate more than its own size
 * (times the size of a decoded change).
 */
const SNAPSHOT_LIMITS: WireLimits = Object.freeze({
  nodeIdBytesMax: 0,
  entriesMax: Number.MAX_SAFE_INTEGER,
  bytesMax: Number.MAX_SAFE_INTEGER,
});

/** The longest varuint, 2^53 - 1 (src/wire/buffer.ts). */
const VARUINT_BYTES_MAX = 8;
/** An int: the sign byte and the magnitude. */
const INT_BYTES_MAX = 1 + VARUINT_BYTES_MAX;
/** revision, sub, flag, value length, createRevision, version, lease: the bytes of a change besides its value. */
const CHANGE_OVERHEAD_BYTES_MAX = 6 * VARUINT_BYTES_MAX + 1 + INT_BYTES_MAX;

// The least bytes an entry can take, for the reader's count check: a key is
// one length byte, one key byte, a change count and one change; a change is a
// revision, a sub and a flag; a lease is two ints and a TTL.
const KEY_BYTES_MIN = 6;
const CHANGE_BYTES_MIN = 3;
const LEASE_BYTES_MIN = 5;

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

/** Bytes of output between two pauses of `encodeKvSnapshotSlices`: well under a millisecond of work on an idle core. */
export const SNAPSHOT_SLICE_BYTES = 64 * 1024;

export function encodeKvSnapshot(state: KvSnapshotState): Uint8Array {
  const slices = encodeKvSnapshotSlices(state, Number.POSITIVE_INFINITY);
  for (;;) {
    const step = slices.next();
    if (step.done === true) return step.value;
  }
}

/**
 * The bytes of `encodeKvSnapshot`, made a slice at a time: the generator
 * pauses each time about `sliceBytes` more are written, so its caller can let
 * other work run in between. `state` must not change until it is done (see
 * `KvStateMachine.snapshotInSlices`, which hands it a copy).
 */
export function* encodeKvSnapshotSlices(state: KvSnapshotState, sliceBytes = SNAPSHOT_SLICE_BYTES): Generator<void, Uint8Array, void> {
  const writer = new Writer(SNAPSHOT_LIMITS, encodedBytesBound(state));
  let pausedAt = 0;
  writer.raw(MAGIC);
  writer.varuint(state.currentRevision);
  writer.varuint(state.compactRevision);
  writer.varuint(state.leaseIdSeed);
  writer.count(state.histories.length, 'keys');
  for (const history of state.histories) {
    if (writer.length - pausedAt >= sliceBytes) {
      pausedAt = writer.length;
      yield;
    }
    writer.bytes(history.keyBytes, 'key');
    writer.count(history.changes.length, 'changes');
    for (const change of history.changes) {
      writer.varuint(change.revision);
      writer.varuint(change.sub);
      const kv = change.kv;
      if (kv === null) {
        writer.u8(TOMBSTONE);
        continue;
      }
      writer.u8(PUT);
      writer.bytes(kv.value, 'value');
      writer.varuint(kv.createRevision);
      writer.varuint(kv.version);
      writeInt(writer, kv.lease);
    }
  }
  writer.count(state.leases.length, 'leases');
  for (const lease of state.leases) {
    writeInt(writer, lease.id);
    writer.varuint(lease.ttlSeconds);
    writeInt(writer, lease.deadlineMs);
  }
  return writer.finish();
}

/**
 * At least the encoded size, cheap to compute (no varint lengths): the writer
 * starts this large and never grows. Growing by doubling from the default
 * copies the buffer a dozen times on the way to megabytes; measured on 1,000
 * keys with 28,000 revisions of 256-byte values (7.5 MB), encoding takes
 * ~10 ms sized in advance and ~15 ms growing.
 */
function encodedBytesBound(state: KvSnapshotState): number {
  let bytes = MAGIC.length + 5 * VARUINT_BYTES_MAX + state.leases.length * (2 * INT_BYTES_MAX + VARUINT_BYTES_MAX);
  for (const history of state.histories) {
    bytes += 2 * VARUINT_BYTES_MAX + history.keyBytes.length + history.changes.length * CHANGE_OVERHEAD_BYTES_MAX;
    for (const change of history.changes) bytes += change.kv === null ? 0 : change.kv.value.length;
  }
  return bytes;
}

function writeInt(writer: Writer, value: number): void {
  writer.u8(value < 0 ? 1 : 0);
  writer.varuint(Math.abs(value));
}

export function decodeKvSnapshot(bytes: Uint8Array): KvSnapshotState {
  if (bytes.length >= MAGIC_PREFIX_BYTES && bytes[0] === MAGIC[0] && bytes[1] === MAGIC[1] && bytes[2] === MAGIC[2]) {
    return new BinaryDecoder(bytes).decode();
  }
  return decodeJson(bytes);
}

/**
 * Reads format 2. Where it is (which key, change or lease) is kept in numbers
 * and turned into words only for an error message: a string per field would
 * cost more than the field.
 */
class BinaryDecoder {
  private readonly reader: Reader;
  private section: 'header' | 'keys' | 'leases' | 'end' = 'header';
  private index = 0;
  private changeIndex = -1;

  constructor(bytes: Uint8Array) {
    this.reader = new Reader(bytes, SNAPSHOT_LIMITS);
  }

  decode(): KvSnapshotState {
    try {
      return this.read();
    } catch (cause) {
      if (cause instanceof WireError) throw new SnapshotError(`${this.where()}: ${cause.message}`);
      throw cause;
    }
  }

  private read(): KvSnapshotState {
    const reader = this.reader;
    // decodeKvSnapshot chose this decoder on the first three bytes.
    for (let i = 0; i < MAGIC_PREFIX_BYTES; i++) reader.u8('magic');
    const version = reader.u8('format version');
    if (version !== MAGIC[3]) throw new SnapshotError(`snapshot format version is ${version}, expected ${MAGIC[3]} (${SNAPSHOT_FORMAT})`);
    const currentRevision = this.atLeast(reader.varuint('revision'), 'revision', 1);
    const compactRevision = reader.varuint('compactRevision');
    if (compactRevision > currentRevision) throw new SnapshotError('compactRevision is above revision');
    const leaseIdSeed = reader.varuint('leaseIdSeed');

    this.section = 'keys';
    const keyCount = reader.count('keys', KEY_BYTES_MIN);
    const histories: KeyHistory[] = [];
    let previousKey: string | null = null;
    for (this.index = 0; this.index < keyCount; this.index++) {
      this.changeIndex = -1;
      const keyBytes = reader.bytes('key');
      if (keyBytes.length === 0) throw new SnapshotError(`${this.where()} key is empty`);
      const key = bytesToBinary(keyBytes);
      if (previousKey !== null && !(previousKey < key)) throw new SnapshotError(`${this.where()} key is not above the previous key`);
      previousKey = key;
      const changeCount = reader.count('changes', CHANGE_BYTES_MIN);
      if (changeCount === 0) throw new SnapshotError(`${this.where()} has no changes`);
      const changes: Change[] = [];
      for (this.changeIndex = 0; this.changeIndex < changeCount; this.changeIndex++) changes.push(this.readChange(keyBytes));
      histories.push({ key, keyBytes, changes });
    }

    this.section = 'leases';
    this.changeIndex = -1;
    const leaseCount = reader.count('leases', LEASE_BYTES_MIN);
    const leases: SnapshotLease[] = [];
    let previousId: number | null = null;
    for (this.index = 0; this.index < leaseCount; this.index++) {
      const id = this.readInt('id');
      if (id === 0) throw new SnapshotError(`${this.where()} id is 0`);
      if (previousId !== null && !(previousId < id)) throw new SnapshotError(`${this.where()} id is not above the previous id`);
      previousId = id;
      const ttlSeconds = this.atLeast(reader.varuint('ttl'), 'ttl', 1);
      leases.push({ id, ttlSeconds, deadlineMs: this.readInt('deadline') });
    }

    this.section = 'end';
    reader.end('snapshot');
    return { currentRevision, compactRevision, leaseIdSeed, histories, leases };
  }

  private readChange(keyBytes: Uint8Array): Change {
    const reader = this.reader;
    const revision = this.atLeast(reader.varuint('revision'), 'revision', 2);
    const sub = reader.varuint('sub');
    const flag = reader.u8('flag');
    if (flag === TOMBSTONE) return { revision, sub, kv: null };
    if (flag !== PUT) throw new SnapshotError(`${this.where()} flag is ${flag}, expected ${TOMBSTONE} (tombstone) or ${PUT} (put)`);
    // Reader.bytes copies the value: a view into the snapshot would let one
    // long-lived key keep the whole snapshot in memory. The copies are about a
    // third of a restore (1,000 keys with 28,000 revisions of 256-byte values:
    // ~60 ms with them, ~40 ms with views), paid only when a member restores.
    const value = reader.bytes('value');
    const kv: KeyValue = {
      key: keyBytes,
      createRevision: this.atLeast(reader.varuint('createRevision'), 'createRevision', 2),
      modRevision: revision,
      version: this.atLeast(reader.varuint('version'), 'version', 1),
      value,
      lease: this.readInt('lease'),
    };
    return { revision, sub, kv };
  }

  private readInt(what: string): number {
    const sign = this.reader.u8(what);
    if (sign > 1) throw new SnapshotError(`${this.where()} ${what}: sign byte must be 0 or 1, got ${sign}`);
    const magnitude = this.reader.varuint(what);
    if (sign === 0) return magnitude;
    if (magnitude === 0) throw new SnapshotError(`${this.where()} ${what}: negative zero`);
    return -magnitude;
  }

  private atLeast(value: number, what: string, min: number): number {
    if (value < min) throw new SnapshotError(`${this.where()} ${what} is not an integer >= ${min}: ${value}`);
    return value;
  }

  private where(): string {
    switch (this.section) {
      case 'header':
      case 'end':
        return SNAPSHOT_FORMAT;
      case 'keys':
        return this.changeIndex < 0 ? `keys[${this.index}]` : `keys[${this.index}] change ${this.changeIndex}`;
      case 'leases':
        return `leases[${this.index}]`;
    }
  }
}

// ------------------------------------------------------------------ format 1

type ChangeTuple = [number, number, string | null, number, number, number];

/**
 * Format 1, the JSON of earlier versions. Nothing writes it any more; it is
 * kept so tests can check that such snapshots still restore.
 */
export function encodeKvSnapshotV1(state: KvSnapshotState): Uint8Array {
  const keys = state.histories.map((history) => [
    bytesToBase64(history.keyBytes),
    history.changes.map((change): ChangeTuple =>
      change.kv === null
        ? [change.revision, change.sub, null, 0, 0, 0]
        : [change.revision, change.sub, bytesToBase64(change.kv.value), change.kv.createRevision, change.kv.version, change.kv.lease],
    ),
  ]);
  const shape = {
    format: SNAPSHOT_FORMAT_V1,
    revision: state.currentRevision,
    compactRevision: state.compactRevision,
    leaseIdSeed: state.leaseIdSeed,
    keys,
    leases: state.leases.map((lease) => [lease.id, lease.ttlSeconds, lease.deadlineMs]),
  };
  return new TextEncoder().encode(JSON.stringify(shape));
}

function decodeJson(bytes: Uint8Array): KvSnapshotState {
  let shape: unknown;
  try {
    shape = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new SnapshotError(`snapshot is neither ${SNAPSHOT_FORMAT} nor UTF-8 JSON: ${String(cause)}`);
  }
  const root = record(shape, 'snapshot');
  if (root.format !== SNAPSHOT_FORMAT_V1) throw new SnapshotError(`snapshot format is ${JSON.stringify(root.format)}, expected ${SNAPSHOT_FORMAT_V1}`);
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
    const changes = array(pair[1], `${where} changes`).map((tuple, j): Change => decodeJsonChange(tuple, keyBytes, `${where} change ${j}`));
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

function decodeJsonChange(input: unknown, keyBytes: Uint8Array, where: string): Change {
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
