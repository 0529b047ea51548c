/**
 * Lock and election semantics as data, after etcd's clientv3/concurrency
 * (Mutex, Election) and the v3lock/v3election servers built on them. Nothing
 * here is special in the store: a contender writes a key under a prefix with
 * its lease, and revisions order the contenders.
 *
 * - The contender key is `<name>/<lease ID in lower-case hex>`.
 * - The holder (lock owner, election leader) is the key under `<name>/` with the
 *   lowest create revision.
 * - A waiter watches for the deletion of the key with the greatest create
 *   revision below its own, and re-checks when it goes (its lease may have
 *   expired, or it unlocked); it holds the lock once no key under the prefix
 *   was created before its own. Waiting on the predecessor, not the holder,
 *   avoids waking every waiter at each hand-over (no herd).
 */
import { compareBytes, encodeText } from './bytes.js';
import type { KeyValue, RangeRequest, TxnRequest } from './types.js';

/** clientv3.GetPrefixRangeEnd: the least key above every key with this prefix; [0] (no bound) for an all-0xff prefix. */
export function prefixRangeEnd(prefix: Uint8Array): Uint8Array {
  for (let i = prefix.length - 1; i >= 0; i -= 1) {
    const byte = prefix[i] as number;
    if (byte < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = byte + 1;
      return end;
    }
  }
  return new Uint8Array([0]);
}

/** The contenders' prefix for a lock or election name: `<name>/`. */
export function contenderPrefix(name: Uint8Array): Uint8Array {
  const prefix = new Uint8Array(name.length + 1);
  prefix.set(name);
  prefix[name.length] = 0x2f;
  return prefix;
}

/** The key a contender holding `leaseId` writes: `<name>/<hex lease>`, as fmt.Sprintf("%s%x", pfx, lease). */
export function contenderKey(name: Uint8Array, leaseId: number): Uint8Array {
  const prefix = contenderPrefix(name);
  const suffix = encodeText(leaseId.toString(16));
  const key = new Uint8Array(prefix.length + suffix.length);
  key.set(prefix);
  key.set(suffix, prefix.length);
  return key;
}

/** Range request for the holder: the prefix's first-created key (clientv3.WithFirstCreate). */
export function holderRequest(name: Uint8Array): RangeRequest {
  const prefix = contenderPrefix(name);
  return { key: prefix, rangeEnd: prefixRangeEnd(prefix), sortTarget: 'CREATE', sortOrder: 'ASCEND', limit: 1 };
}

/** Range request for the key to wait on: the last key created before `myCreateRevision` (WithLastCreate, WithMaxCreateRev). */
export function predecessorRequest(name: Uint8Array, myCreateRevision: number): RangeRequest {
  const prefix = contenderPrefix(name);
  return {
    key: prefix,
    rangeEnd: prefixRangeEnd(prefix),
    sortTarget: 'CREATE',
    sortOrder: 'DESCEND',
    limit: 1,
    maxCreateRevision: myCreateRevision - 1,
  };
}

/**
 * Mutex.tryAcquire's txn: create the contender key with the lease if it does
 * not exist, else read it back (a retried Lock with the same lease); either
 * way also read the holder. Responses: [put or range of own key, range of holder].
 */
export function acquireTxn(name: Uint8Array, leaseId: number): TxnRequest {
  const key = contenderKey(name, leaseId);
  const holder = { type: 'range', request: holderRequest(name) } as const;
  return {
    compare: [{ key, target: 'CREATE', result: 'EQUAL', createRevision: 0 }],
    success: [{ type: 'put', request: { key, value: new Uint8Array(0), lease: leaseId } }, holder],
    failure: [{ type: 'range', request: { key } }, holder],
  };
}

/** Contenders in the order they hold: create revision ascending (ties, impossible in one store, by key). */
export function contenderOrder(kvs: readonly KeyValue[]): KeyValue[] {
  return [...kvs].sort((a, b) => a.createRevision - b.createRevision || compareBytes(a.key, b.key));
}

/** The lock owner or election leader among the prefix's keys, null if none. */
export function holder(kvs: readonly KeyValue[]): KeyValue | null {
  return contenderOrder(kvs)[0] ?? null;
}

/** The key a contender created at `myCreateRevision` waits on: the newest created before it, null if none. */
export function predecessor(kvs: readonly KeyValue[], myCreateRevision: number): KeyValue | null {
  let best: KeyValue | null = null;
  for (const kv of kvs) {
    if (kv.createRevision < myCreateRevision && (best === null || kv.createRevision > best.createRevision)) best = kv;
  }
  return best;
}

export type LockState =
  | { readonly phase: 'held'; readonly key: KeyValue }
  | { readonly phase: 'waiting'; readonly key: KeyValue; readonly waitFor: KeyValue }
  /** The contender's key is gone (lease expired or revoked): it must start over. */
  | { readonly phase: 'lost' };

/** Where the contender with key `myKey` stands, given every key under the prefix. */
export function lockState(kvs: readonly KeyValue[], myKey: Uint8Array): LockState {
  const mine = kvs.find((kv) => compareBytes(kv.key, myKey) === 0);
  if (mine === undefined) return { phase: 'lost' };
  const waitFor = predecessor(kvs, mine.createRevision);
  return waitFor === null ? { phase: 'held', key: mine } : { phase: 'waiting', key: mine, waitFor };
}
