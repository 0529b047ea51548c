/**
 * The simulator's replicated state machine: a map of string registers with get,
 * put and compare-and-set, the operations the linearizability checker models
 * (src/check/register-model.ts). It is deliberately tiny so that every replica's
 * whole state can be compared after every applied slot through `digest()`.
 */
import { assertNever } from '../core/assert.js';
import type { Slot } from '../core/ids.js';
import type { KvInput, KvOutput } from '../check/history.js';
import type { StateMachine } from '../smr/state-machine.js';

/** Thrown by `restore` when the bytes are not a register snapshot. */
export class SnapshotFormatError extends Error {
  override readonly name = 'SnapshotFormatError';
}

interface SnapshotShape {
  readonly entries: [string, string][];
}

export class KvRegister implements StateMachine<KvInput, KvOutput> {
  private readonly values = new Map<string, string>();
  /**
   * XOR of one hash per (key, value) entry. XOR makes the digest independent of
   * insertion order and lets a write update it in O(1): take the old entry's hash
   * out, put the new one in.
   */
  private entriesHash = 0;
  /**
   * How many commands this instance has executed. The exactly-once check reads it
   * around each applied command: the session table must call `apply` at most once
   * per (client, seq), so a retried command must leave this count unchanged.
   */
  applyCount = 0;

  apply(input: KvInput, _slot: Slot): KvOutput {
    this.applyCount += 1;
    switch (input.kind) {
      case 'get':
        return { kind: 'get', value: this.get(input.key) };
      case 'put':
        this.set(input.key, input.value);
        return { kind: 'put' };
      case 'cas': {
        const ok = this.get(input.key) === input.expected;
        if (ok) this.set(input.key, input.value);
        return { kind: 'cas', ok };
      }
      default:
        return assertNever(input, 'KvInput');
    }
  }

  get(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  /** A 32-bit summary of the whole state: equal states have equal digests. */
  digest(): number {
    // The entry count is mixed in so that a state and its extension by an entry
    // hashing to zero cannot collide trivially.
    return (this.entriesHash ^ Math.imul(this.values.size, 0x9e3779b1)) >>> 0;
  }

  snapshot(): Uint8Array {
    const entries = [...this.values].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const shape: SnapshotShape = { entries };
    return new TextEncoder().encode(JSON.stringify(shape));
  }

  restore(snapshot: Uint8Array): void {
    const entries = parseSnapshot(snapshot);
    this.values.clear();
    this.entriesHash = 0;
    for (const [key, value] of entries) this.set(key, value);
  }

  private set(key: string, value: string): void {
    const previous = this.values.get(key);
    if (previous !== undefined) this.entriesHash ^= entryHash(key, previous);
    this.values.set(key, value);
    this.entriesHash ^= entryHash(key, value);
  }
}

/** Snapshots cross a boundary (they travel in messages and sit on disk): validate them. */
function parseSnapshot(bytes: Uint8Array): [string, string][] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    throw new SnapshotFormatError(`register snapshot is not JSON: ${(error as Error).message}`);
  }
  const entries = (parsed as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(entries)) throw new SnapshotFormatError('register snapshot has no entries array');
  const result: [string, string][] = [];
  for (const entry of entries as unknown[]) {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw new SnapshotFormatError(`register snapshot entry ${JSON.stringify(entry)} is not a [key, value] pair of strings`);
    }
    result.push([entry[0], entry[1]]);
  }
  return result;
}

/** FNV-1a over "key NUL value": cheap, and good enough to tell states apart. */
function entryHash(key: string, value: string): number {
  let hash = 0x811c9dc5;
  const text = `${key}\u0000${value}`;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
