/**
 * The replicated key-value state machine: etcd's v3 KV and lease semantics
 * over the multi-version store, driven only by decided commands.
 *
 * Deterministic and pure: no clock, no randomness, no I/O. Time arrives in
 * commands (`now`, the proposing leader's clock); lease IDs the store assigns
 * come from a seeded hash kept in the replicated state.
 *
 * Writes go through `apply`. Reads that need not be ordered by the log
 * (linearizable reads served after a read barrier, serializable reads) use the
 * query methods, which never change the state: `range`, `readTxn`,
 * `watchEvents`, `leaseTimeToLive`, `leaseLeases`, `expiredLeases`.
 *
 * Each applied command returns the events it generated, in revision order, so
 * a watch hub outside the machine can fan them out.
 */
import { assert, assertNever } from '../core/assert.js';
import type { Slot } from '../core/ids.js';
import type { StateMachine } from '../smr/state-machine.js';
import { binaryToBytes, bytesToBinary, EMPTY_BYTES } from './bytes.js';
import { compareHolds } from './compare.js';
import { Digest } from './digest.js';
import { failed, kvError, ok, type KvError, type KvResult } from './errors.js';
import { boundedDeadline, LeaseTable, MAX_LEASE_TTL_SECONDS, MIN_LEASE_TTL_SECONDS_DEFAULT } from './leases.js';
import { keySpan, MvccStore } from './mvcc-store.js';
import { executeRange } from './range.js';
import { decodeKvSnapshot, encodeKvSnapshot, encodeKvSnapshotSlices, SnapshotError, type KvSnapshotState } from './snapshot.js';
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KvCommand,
  KvOutput,
  LeaseGrantRequest,
  LeaseLeasesResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  WatchEvents,
  WatchRequest,
} from './types.js';
import { isTxnReadOnly, MAX_TXN_OPS_DEFAULT, validateKvCommand, validateRange, validateTxn } from './validate.js';

export interface KvStateMachineOptions {
  /** etcd's --max-txn-ops; 128 by default. */
  readonly maxTxnOps?: number;
  /** Granted TTLs are raised to this; 2 s by default, etcd's value for a 1 s election timeout. */
  readonly minLeaseTtlSeconds?: number;
}

/**
 * Which branch each txn takes, decided before any op runs. `nested` has one
 * plan per txn op of the chosen branch, in order.
 */
interface TxnPlan {
  readonly succeeded: boolean;
  readonly nested: readonly TxnPlan[];
}

export class KvStateMachine implements StateMachine<KvCommand, KvOutput> {
  private store = new MvccStore();
  private leases = new LeaseTable();
  private readonly maxTxnOps: number;
  private readonly minLeaseTtlSeconds: number;

  constructor(options: KvStateMachineOptions = {}) {
    this.maxTxnOps = options.maxTxnOps ?? MAX_TXN_OPS_DEFAULT;
    this.minLeaseTtlSeconds = options.minLeaseTtlSeconds ?? MIN_LEASE_TTL_SECONDS_DEFAULT;
    assert(Number.isSafeInteger(this.maxTxnOps) && this.maxTxnOps >= 1, 'maxTxnOps must be a positive integer');
    assert(Number.isSafeInteger(this.minLeaseTtlSeconds) && this.minLeaseTtlSeconds >= 1, 'minLeaseTtlSeconds must be a positive integer');
  }

  get currentRevision(): number {
    return this.store.currentRevision;
  }

  get compactRevision(): number {
    return this.store.compactRevision;
  }

  apply(command: KvCommand, _slot: Slot): KvOutput {
    const invalid = validateKvCommand(command, this.maxTxnOps);
    if (invalid !== null) return { type: 'error', error: invalid };
    switch (command.type) {
      case 'range': {
        const result = executeRange(this.store, command.request, this.store.currentRevision);
        return result.ok ? { type: 'range', response: result.value, events: [] } : { type: 'error', error: result.error };
      }
      case 'put':
        return this.applyPut(command.request);
      case 'delete-range':
        return this.applyDeleteRange(command.request);
      case 'txn':
        return this.applyTxn(command.request);
      case 'compact': {
        const revision = command.request.revision;
        if (revision <= this.store.compactRevision) return errorOutput('compacted');
        if (revision > this.store.currentRevision) return errorOutput('future-revision');
        this.store.compact(revision);
        return { type: 'compact', response: { header: this.header() }, events: [] };
      }
      case 'lease-grant':
        return this.applyLeaseGrant(command.request, command.now);
      case 'lease-revoke': {
        if (this.leases.get(command.request.id) === undefined) return errorOutput('lease-not-found');
        const events = this.revokeLease(command.request.id);
        return { type: 'lease-revoke', response: { header: this.header() }, events };
      }
      case 'lease-renew': {
        const id = command.request.id;
        const lease = this.leases.get(id);
        // Past its deadline the lease is as good as gone: its expiry is on its
        // way through the log, and etcd answers such a renewal "not found" too.
        if (lease === undefined || lease.deadlineMs <= command.now) return errorOutput('lease-not-found');
        lease.deadlineMs = boundedDeadline(command.now + lease.ttlSeconds * 1000);
        return { type: 'lease-renew', response: { header: this.header(), id, ttl: lease.ttlSeconds }, events: [] };
      }
      case 'lease-expire': {
        const expired: number[] = [];
        const events: Event[] = [];
        for (const id of command.ids) {
          const lease = this.leases.get(id);
          // A renewal ordered before this command may have saved the lease.
          if (lease === undefined || lease.deadlineMs > command.now) continue;
          events.push(...this.revokeLease(id));
          expired.push(id);
        }
        return { type: 'lease-expire', response: { header: this.header(), expired }, events };
      }
      case 'leader-changed':
        this.leases.extendAll(command.now, command.extendMs);
        return { type: 'leader-changed', response: { header: this.header() }, events: [] };
      default:
        return assertNever(command, 'kv command');
    }
  }

  /** A read outside the log. Never changes the state. */
  range(request: RangeRequest): KvResult<RangeResponse> {
    const invalid = validateRange(request);
    if (invalid !== null) return { ok: false, error: invalid };
    return executeRange(this.store, request, this.store.currentRevision);
  }

  /** A txn without puts or deletes, run outside the log. Never changes the state. */
  readTxn(request: TxnRequest): KvResult<TxnResponse> {
    assert(isTxnReadOnly(request), 'readTxn was given a txn that writes');
    const invalid = validateTxn(request, this.maxTxnOps);
    if (invalid !== null) return { ok: false, error: invalid };
    const plan = this.plan(request);
    const refused = this.checkPlan(request, plan);
    if (refused !== null) return { ok: false, error: refused };
    this.store.beginWrite();
    const response = this.executeTxn(request, plan, true);
    assert(this.store.endWrite().length === 0, 'a read-only txn changed the store');
    return ok(response);
  }

  /**
   * The events a watcher starting at `startRevision` must first catch up on:
   * every change on a key in the range from that revision to the current one.
   * A start of 0 or less means "from now on" (nothing to catch up on). A start
   * below the compaction point fails with ErrCompacted; the watch response then
   * carries `compactRevision`.
   */
  watchEvents(request: WatchRequest): KvResult<WatchEvents> {
    if (request.startRevision > 0 && request.startRevision < this.store.compactRevision) return failed('compacted');
    const events = request.startRevision <= 0
      ? []
      : this.store.eventsSince(keySpan(request.key, request.rangeEnd), request.startRevision);
    return ok({ header: this.header(), events });
  }

  /** etcd's LeaseTimeToLive at the caller's clock: ttl -1 (not an error) for a lease that does not exist. */
  leaseTimeToLive(request: LeaseTimeToLiveRequest, nowMs: number): LeaseTimeToLiveResponse {
    const lease = this.leases.get(request.id);
    if (lease === undefined) return { header: this.header(), id: request.id, ttl: -1, grantedTtl: 0, keys: [] };
    const keys = request.keys === true ? [...lease.keys].sort().map(binaryToBytes) : [];
    return {
      header: this.header(),
      id: request.id,
      ttl: Math.trunc((lease.deadlineMs - nowMs) / 1000),
      grantedTtl: lease.ttlSeconds,
      keys,
    };
  }

  /** Every lease, soonest deadline first. */
  leaseLeases(): LeaseLeasesResponse {
    return { header: this.header(), leases: this.leases.byDeadline().map((lease) => ({ id: lease.id })) };
  }

  /** For the leader: leases at or past their deadline at `nowMs`, soonest first, to put in an expire command. */
  expiredLeases(nowMs: number, limit = Number.POSITIVE_INFINITY): number[] {
    return this.leases.expired(nowMs, limit);
  }

  header(): ResponseHeader {
    return { revision: this.store.currentRevision };
  }

  /** A hash of the whole replicated state, equal on replicas that applied the same commands. O(state). */
  digest(): string {
    const digest = new Digest();
    digest.number(this.store.currentRevision);
    digest.number(this.store.compactRevision);
    digest.number(this.leases.seed);
    for (const history of this.store.histories()) {
      digest.binary(history.key);
      for (const change of history.changes) {
        digest.number(change.revision);
        digest.number(change.sub);
        if (change.kv === null) {
          digest.byte(0);
        } else {
          digest.byte(1);
          digest.bytes(change.kv.value);
          digest.number(change.kv.createRevision);
          digest.number(change.kv.version);
          digest.number(change.kv.lease);
        }
      }
    }
    for (const lease of this.leases.byId()) {
      digest.number(lease.id);
      digest.number(lease.ttlSeconds);
      digest.number(lease.deadlineMs);
    }
    return digest.hex();
  }

  snapshot(): Uint8Array {
    return encodeKvSnapshot(this.snapshotState(false));
  }

  /**
   * The bytes `snapshot()` returns now, encoded a slice at a time with
   * `yieldTurn` awaited between slices, so a large store does not hold up
   * other work. The state is captured before this returns: commands applied
   * while it runs are not in the result. The capture copies each key's list of
   * changes (pointers, not values): a change and its value are never modified
   * once made, but the lists grow and compaction replaces them.
   */
  async snapshotInSlices(yieldTurn: () => Promise<void>, sliceBytes?: number): Promise<Uint8Array> {
    const slices = encodeKvSnapshotSlices(this.snapshotState(true), sliceBytes);
    for (;;) {
      const step = slices.next();
      if (step.done === true) return step.value;
      await yieldTurn();
    }
  }

  private snapshotState(copy: boolean): KvSnapshotState {
    const histories = this.store.histories();
    return {
      currentRevision: this.store.currentRevision,
      compactRevision: this.store.compactRevision,
      leaseIdSeed: this.leases.seed,
      histories: copy ? histories.map((history) => ({ key: history.key, keyBytes: history.keyBytes, changes: history.changes.slice() })) : histories,
      leases: this.leases.byId().map((lease) => ({ id: lease.id, ttlSeconds: lease.ttlSeconds, deadlineMs: lease.deadlineMs })),
    };
  }

  /** Replaces the state; on a malformed snapshot throws SnapshotError and keeps the old state. */
  restore(snapshot: Uint8Array): void {
    const state = decodeKvSnapshot(snapshot);
    const fault = MvccStore.logSpanFault(state.currentRevision, state.compactRevision, state.histories);
    if (fault !== null) throw new SnapshotError(`snapshot breaks a store invariant: ${fault}`);
    const store = MvccStore.fromHistories(state.currentRevision, state.compactRevision, state.histories);
    const leases = new LeaseTable();
    leases.restoreSeed(state.leaseIdSeed);
    for (const lease of state.leases) leases.grant(lease.id, lease.ttlSeconds, lease.deadlineMs);
    for (const history of state.histories) {
      const live = history.changes[history.changes.length - 1]?.kv ?? null;
      if (live === null || live.lease === 0) continue;
      if (leases.get(live.lease) === undefined) throw new SnapshotError(`a key is attached to lease ${live.lease}, which is not in the snapshot`);
      leases.attach(live.lease, history.key);
    }
    try {
      store.checkInvariants();
    } catch (cause) {
      throw new SnapshotError(`snapshot breaks a store invariant: ${(cause as Error).message}`);
    }
    this.store = store;
    this.leases = leases;
  }

  /** Throws if the store, the log or the lease attachments are inconsistent. O(state). */
  checkInvariants(): void {
    this.store.checkInvariants();
    const attached = new Map<number, string[]>();
    for (const history of this.store.histories()) {
      const live = history.changes[history.changes.length - 1]?.kv ?? null;
      if (live === null || live.lease === 0) continue;
      const lease = this.leases.get(live.lease);
      assert(lease !== undefined && lease.keys.has(history.key), () => `live key is attached to lease ${live.lease}, which does not list it`);
      attached.set(live.lease, [...(attached.get(live.lease) ?? []), history.key]);
    }
    for (const lease of this.leases.byId()) {
      assert(lease.keys.size === (attached.get(lease.id)?.length ?? 0), () => `lease ${lease.id} lists keys that are not attached to it`);
      assert(lease.ttlSeconds >= 1, 'lease TTL below one second');
    }
  }

  private applyPut(request: PutRequest): KvOutput {
    const lease = request.lease ?? 0;
    if (lease !== 0 && this.leases.get(lease) === undefined) return errorOutput('lease-not-found');
    if ((request.ignoreValue === true || request.ignoreLease === true) && this.store.latest(bytesToBinary(request.key)) === null) {
      return errorOutput('key-not-found');
    }
    this.store.beginWrite();
    const response = this.executePut(request);
    return { type: 'put', response, events: this.store.endWrite() };
  }

  private applyDeleteRange(request: DeleteRangeRequest): KvOutput {
    this.store.beginWrite();
    const response = this.executeDeleteRange(request);
    return { type: 'delete-range', response, events: this.store.endWrite() };
  }

  /**
   * etcd's Txn: evaluate every compare of the chosen path first, against the
   * state before the txn (nested txns' compares too, so they do not see the
   * outer txn's writes); then check the ops of that path (lease exists, key
   * exists for ignore_*, range revisions), failing the whole txn on the first
   * problem; then run the ops. All changes share one revision.
   */
  private applyTxn(request: TxnRequest): KvOutput {
    const plan = this.plan(request);
    const refused = this.checkPlan(request, plan);
    if (refused !== null) return { type: 'error', error: refused };
    this.store.beginWrite();
    const response = this.executeTxn(request, plan, true);
    return { type: 'txn', response, events: this.store.endWrite() };
  }

  private applyLeaseGrant(request: LeaseGrantRequest, now: number): KvOutput {
    if (request.ttl > MAX_LEASE_TTL_SECONDS) return errorOutput('lease-ttl-too-large');
    const requested = request.id ?? 0;
    if (requested !== 0 && this.leases.get(requested) !== undefined) return errorOutput('lease-exists');
    const id = requested !== 0 ? requested : this.leases.allocateId();
    const ttl = Math.max(request.ttl, this.minLeaseTtlSeconds);
    this.leases.grant(id, ttl, boundedDeadline(now + ttl * 1000));
    return { type: 'lease-grant', response: { header: this.header(), id, ttl }, events: [] };
  }

  /** Deletes the lease's keys in key order, all in one revision (none if it has no keys), then the lease. */
  private revokeLease(id: number): Event[] {
    const lease = this.leases.get(id);
    assert(lease !== undefined, () => `revoking missing lease ${id}`);
    this.store.beginWrite();
    for (const key of [...lease.keys].sort()) {
      const deleted = this.store.deleteRange({ start: key, end: `${key}\u0000` });
      assert(deleted.length === 1 && deleted[0]?.lease === id, () => `lease ${id} listed a key that was not live on it`);
    }
    this.leases.remove(id);
    return this.store.endWrite();
  }

  private plan(request: TxnRequest): TxnPlan {
    const succeeded = (request.compare ?? []).every((compare) => this.evaluateCompare(compare));
    const ops = (succeeded ? request.success : request.failure) ?? [];
    const nested: TxnPlan[] = [];
    for (const op of ops) {
      if (op.type === 'txn') nested.push(this.plan(op.request));
    }
    return { succeeded, nested };
  }

  private evaluateCompare(compare: Compare): boolean {
    return compareHolds(compare, this.store.collect(keySpan(compare.key, compare.rangeEnd), this.store.currentRevision).kvs);
  }

  private checkPlan(request: TxnRequest, plan: TxnPlan): KvError | null {
    const ops = branch(request, plan);
    let nestedIndex = 0;
    for (const op of ops) {
      let refused: KvError | null = null;
      switch (op.type) {
        case 'range': {
          const revision = op.request.revision ?? 0;
          if (revision > this.store.currentRevision) refused = kvError('future-revision');
          else if (revision > 0 && revision < this.store.compactRevision) refused = kvError('compacted');
          break;
        }
        case 'put': {
          const put = op.request;
          if ((put.ignoreValue === true || put.ignoreLease === true) && this.store.latest(bytesToBinary(put.key)) === null) {
            refused = kvError('key-not-found');
          } else if ((put.lease ?? 0) !== 0 && this.leases.get(put.lease ?? 0) === undefined) {
            refused = kvError('lease-not-found');
          }
          break;
        }
        case 'delete-range':
          break;
        case 'txn':
          refused = this.checkPlan(op.request, plan.nested[nestedIndex] as TxnPlan);
          nestedIndex += 1;
          break;
        default:
          assertNever(op, 'request op');
      }
      if (refused !== null) return refused;
    }
    return null;
  }

  /**
   * Runs the planned branch inside the open write. Every failure was ruled out
   * by validation and `checkPlan`, so none can happen halfway (etcd panics if
   * one does). Only the top-level txn's header carries a revision: etcd leaves
   * nested txn headers empty (0).
   */
  private executeTxn(request: TxnRequest, plan: TxnPlan, topLevel: boolean): TxnResponse {
    const responses: ResponseOp[] = [];
    let nestedIndex = 0;
    for (const op of branch(request, plan)) {
      switch (op.type) {
        case 'range': {
          const result = executeRange(this.store, op.request, this.store.readRevision);
          assert(result.ok, 'a checked range failed inside a txn');
          responses.push({ type: 'range', response: result.value });
          break;
        }
        case 'put':
          responses.push({ type: 'put', response: this.executePut(op.request) });
          break;
        case 'delete-range':
          responses.push({ type: 'delete-range', response: this.executeDeleteRange(op.request) });
          break;
        case 'txn':
          responses.push({ type: 'txn', response: this.executeTxn(op.request, plan.nested[nestedIndex] as TxnPlan, false) });
          nestedIndex += 1;
          break;
        default:
          assertNever(op, 'request op');
      }
    }
    const revision = topLevel ? this.store.readRevision : 0;
    return { header: { revision }, succeeded: plan.succeeded, responses };
  }

  /** A put inside the open write; the caller has checked the lease and, for ignore_*, that the key exists. */
  private executePut(request: PutRequest): PutResponse {
    const key = bytesToBinary(request.key);
    const prior = this.store.latest(key);
    const ignoreValue = request.ignoreValue === true;
    const ignoreLease = request.ignoreLease === true;
    assert(prior !== null || !(ignoreValue || ignoreLease), 'ignore_value or ignore_lease on a missing key reached execution');
    const value = ignoreValue && prior !== null ? prior.value : request.value ?? EMPTY_BYTES;
    const lease = ignoreLease && prior !== null ? prior.lease : request.lease ?? 0;
    this.store.put(key, request.key, value, lease);
    const priorLease = prior?.lease ?? 0;
    if (priorLease !== lease) {
      if (priorLease !== 0) this.leases.detach(priorLease, key);
      if (lease !== 0) this.leases.attach(lease, key);
    }
    return { header: { revision: this.store.readRevision }, prevKv: request.prevKv === true ? prior : null };
  }

  private executeDeleteRange(request: DeleteRangeRequest): DeleteRangeResponse {
    const deleted = this.store.deleteRange(keySpan(request.key, request.rangeEnd));
    for (const kv of deleted) {
      if (kv.lease !== 0) this.leases.detach(kv.lease, bytesToBinary(kv.key));
    }
    return {
      header: { revision: this.store.readRevision },
      deleted: deleted.length,
      prevKvs: request.prevKv === true ? deleted : [],
    };
  }
}

function errorOutput(kind: Parameters<typeof kvError>[0]): KvOutput {
  return { type: 'error', error: kvError(kind) };
}

function branch(request: TxnRequest, plan: TxnPlan): readonly RequestOp[] {
  return (plan.succeeded ? request.success : request.failure) ?? [];
}
