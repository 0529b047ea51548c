/**
 * The lease table, after etcd's lessor, with one difference: expiry deadlines
 * are replicated state, in the clock of the leader that proposed the command
 * (`now` in grant, renew and leader-changed commands), instead of each
 * member's local timer. The leader asks `expired(now)` which leases to expire
 * and proposes an expire command; every replica then revokes the same leases.
 *
 * Iteration over a Map follows insertion order, which differs between a
 * replica that applied the log and one restored from a snapshot; so every
 * answer that lists leases is sorted.
 */
import { assert } from '../core/assert.js';

/** etcd's MaxLeaseTTL, in seconds. */
/**
 * A lease deadline, capped at the largest exact integer. Deadlines come from
 * commands (the proposer's clock plus a TTL), and one beyond 2^53 would be
 * stored but refused by the snapshot decoder, leaving every later snapshot
 * unrestorable. A capped deadline simply never passes.
 */
export function boundedDeadline(ms: number): number {
  return Math.min(ms, Number.MAX_SAFE_INTEGER);
}

export const MAX_LEASE_TTL_SECONDS = 9_000_000_000;

/**
 * etcd's default minimum TTL: ceil(1.5 × election timeout) = ceil(1.5 × 1 s) =
 * 2 s. A lease shorter than a leader election could expire only because the
 * leader changed.
 */
export const MIN_LEASE_TTL_SECONDS_DEFAULT = 2;

export interface LeaseRecord {
  readonly id: number;
  /** Granted time to live, seconds. */
  readonly ttlSeconds: number;
  /** The lease expires when a leader's clock reaches this, milliseconds. */
  deadlineMs: number;
  /** Attached keys, as binary strings. */
  readonly keys: Set<string>;
}

function mix32(input: number): number {
  let x = input | 0;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The `seed`-th candidate for a lease ID the store assigns: a 53-bit hash, so
 * assigned IDs look like etcd's random ones and seldom meet small IDs chosen
 * by clients. Deterministic: every replica assigns the same ID.
 */
export function leaseIdCandidate(seed: number): number {
  const high = mix32(seed * 2 + 1) & 0x1fffff;
  const low = mix32(seed * 2 + 2);
  return high * 0x1_0000_0000 + low;
}

export class LeaseTable {
  private readonly leases = new Map<number, LeaseRecord>();
  /** How many ID candidates were drawn; part of the replicated state. */
  private idSeed = 0;

  get size(): number {
    return this.leases.size;
  }

  get seed(): number {
    return this.idSeed;
  }

  get(id: number): LeaseRecord | undefined {
    return this.leases.get(id);
  }

  /** A fresh ID no lease holds. */
  allocateId(): number {
    for (;;) {
      const candidate = leaseIdCandidate(this.idSeed);
      this.idSeed += 1;
      if (candidate !== 0 && !this.leases.has(candidate)) return candidate;
    }
  }

  grant(id: number, ttlSeconds: number, deadlineMs: number): LeaseRecord {
    assert(id !== 0 && !this.leases.has(id), () => `lease ${id} is zero or taken`);
    const record: LeaseRecord = { id, ttlSeconds, deadlineMs, keys: new Set() };
    this.leases.set(id, record);
    return record;
  }

  remove(id: number): void {
    assert(this.leases.delete(id), () => `lease ${id} removed twice`);
  }

  attach(id: number, key: string): void {
    const record = this.leases.get(id);
    assert(record !== undefined, () => `key attached to missing lease ${id}`);
    record.keys.add(key);
  }

  detach(id: number, key: string): void {
    const record = this.leases.get(id);
    assert(record !== undefined && record.keys.delete(key), () => `key detached from lease ${id} it was not attached to`);
  }

  /** Every lease, by deadline then ID (etcd lists leases by expiry). */
  byDeadline(): LeaseRecord[] {
    return [...this.leases.values()].sort((a, b) => a.deadlineMs - b.deadlineMs || a.id - b.id);
  }

  /** Every lease, by ID. */
  byId(): LeaseRecord[] {
    return [...this.leases.values()].sort((a, b) => a.id - b.id);
  }

  /** Leases whose deadline is at or before `nowMs`, soonest first, at most `limit`. O(L log L). */
  expired(nowMs: number, limit: number): number[] {
    const out: LeaseRecord[] = [];
    for (const record of this.leases.values()) {
      if (record.deadlineMs <= nowMs) out.push(record);
    }
    out.sort((a, b) => a.deadlineMs - b.deadlineMs || a.id - b.id);
    return out.slice(0, limit).map((record) => record.id);
  }

  /** Moves every deadline to at least now + extend + TTL (a new leader's grace period). */
  extendAll(nowMs: number, extendMs: number): void {
    for (const record of this.leases.values()) {
      record.deadlineMs = boundedDeadline(Math.max(record.deadlineMs, nowMs + extendMs + record.ttlSeconds * 1000));
    }
  }

  /** Restores the seed from a snapshot. */
  restoreSeed(seed: number): void {
    this.idSeed = seed;
  }
}
