/**
 * A deliberately naive reference for the key-value state machine: the whole
 * key map is copied at every revision, kvs are found by scanning and sorting,
 * lease attachments are recomputed from the live pairs, compaction only moves
 * the read floor. It shares with the real machine only the stateless request
 * validation (validate.ts, tested by its own cases), the error table and the
 * lease ID hash; everything stateful is written again here, the slow obvious way.
 */
import { kvError, type KvErrorKind } from '../../src/kv/errors.js';
import { leaseIdCandidate, MAX_LEASE_TTL_SECONDS } from '../../src/kv/leases.js';
import { validateKvCommand } from '../../src/kv/validate.js';
import type {
  Compare,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Event,
  KeyValue,
  KvCommand,
  KvOutput,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseOp,
  TxnRequest,
  TxnResponse,
  WatchRequest,
} from '../../src/kv/types.js';
import type { KvResult } from '../../src/kv/errors.js';

type State = Map<string, KeyValue>;

const EMPTY = new Uint8Array(0);
const MIN_TTL_SECONDS = 2;

function name(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

function cmp(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length && i < b.length; i += 1) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

/** etcd's range conventions, checked on bytes. */
function inRange(key: Uint8Array, start: Uint8Array, end: Uint8Array | undefined): boolean {
  if (end === undefined || end.length === 0) return cmp(key, start) === 0;
  if (end.length === 1 && end[0] === 0) return cmp(key, start) >= 0;
  return cmp(key, start) >= 0 && cmp(key, end) < 0;
}

function sortedKvs(state: State, start: Uint8Array, end: Uint8Array | undefined): KeyValue[] {
  return [...state.values()].filter((kv) => inRange(kv.key, start, end)).sort((x, y) => cmp(x.key, y.key));
}

const error = (kind: KvErrorKind): KvOutput => ({ type: 'error', error: kvError(kind) });

interface Lease {
  ttl: number;
  deadline: number;
}

/** A write in progress: the working map and its changes. */
interface Draft {
  state: State;
  changes: { key: Uint8Array; kv: KeyValue | null }[];
}

interface Path {
  succeeded: boolean;
  nested: Path[];
}

export class ReferenceKv {
  /** states[r] is the whole map at revision r; states[0] is unused. */
  private readonly states: State[] = [new Map(), new Map()];
  /** changes[r] lists revision r's changes in order. */
  private readonly changes: { key: Uint8Array; kv: KeyValue | null }[][] = [[], []];
  private compacted = 0;
  private readonly leases = new Map<number, Lease>();
  private seed = 0;

  get revision(): number {
    return this.states.length - 1;
  }

  get compactRevision(): number {
    return this.compacted;
  }

  private get current(): State {
    return this.states[this.revision] as State;
  }

  apply(command: KvCommand): KvOutput {
    const invalid = validateKvCommand(command);
    if (invalid !== null) return { type: 'error', error: invalid };
    switch (command.type) {
      case 'range': {
        const result = this.range(command.request);
        return result.ok ? { type: 'range', response: result.value, events: [] } : { type: 'error', error: result.error };
      }
      case 'put': {
        const lease = command.request.lease ?? 0;
        if (lease !== 0 && !this.leases.has(lease)) return error('lease-not-found');
        if ((command.request.ignoreValue === true || command.request.ignoreLease === true) && !this.current.has(name(command.request.key))) {
          return error('key-not-found');
        }
        const draft = this.draft();
        const response = this.put(draft, command.request);
        return { type: 'put', response, events: this.commit(draft) };
      }
      case 'delete-range': {
        const draft = this.draft();
        const response = this.deleteRange(draft, command.request);
        return { type: 'delete-range', response, events: this.commit(draft) };
      }
      case 'txn': {
        const path = this.path(command.request);
        const refused = this.check(command.request, path);
        if (refused !== null) return error(refused);
        const draft = this.draft();
        const response = this.txn(draft, command.request, path, true);
        return { type: 'txn', response, events: this.commit(draft) };
      }
      case 'compact': {
        const revision = command.request.revision;
        if (revision <= this.compacted) return error('compacted');
        if (revision > this.revision) return error('future-revision');
        this.compacted = revision;
        return { type: 'compact', response: { header: { revision: this.revision } }, events: [] };
      }
      case 'lease-grant': {
        const { ttl } = command.request;
        if (ttl > MAX_LEASE_TTL_SECONDS) return error('lease-ttl-too-large');
        let id = command.request.id ?? 0;
        if (id !== 0 && this.leases.has(id)) return error('lease-exists');
        while (id === 0 || this.leases.has(id)) {
          id = leaseIdCandidate(this.seed);
          this.seed += 1;
        }
        const granted = Math.max(ttl, MIN_TTL_SECONDS);
        this.leases.set(id, { ttl: granted, deadline: command.now + granted * 1000 });
        return { type: 'lease-grant', response: { header: { revision: this.revision }, id, ttl: granted }, events: [] };
      }
      case 'lease-revoke': {
        if (!this.leases.has(command.request.id)) return error('lease-not-found');
        const events = this.revoke(command.request.id);
        return { type: 'lease-revoke', response: { header: { revision: this.revision } }, events };
      }
      case 'lease-renew': {
        const lease = this.leases.get(command.request.id);
        if (lease === undefined || lease.deadline <= command.now) return error('lease-not-found');
        lease.deadline = command.now + lease.ttl * 1000;
        return { type: 'lease-renew', response: { header: { revision: this.revision }, id: command.request.id, ttl: lease.ttl }, events: [] };
      }
      case 'lease-expire': {
        const expired: number[] = [];
        const events: Event[] = [];
        for (const id of command.ids) {
          const lease = this.leases.get(id);
          if (lease === undefined || lease.deadline > command.now) continue;
          events.push(...this.revoke(id));
          expired.push(id);
        }
        return { type: 'lease-expire', response: { header: { revision: this.revision }, expired }, events };
      }
      case 'leader-changed':
        for (const lease of this.leases.values()) {
          lease.deadline = Math.max(lease.deadline, command.now + command.extendMs + lease.ttl * 1000);
        }
        return { type: 'leader-changed', response: { header: { revision: this.revision } }, events: [] };
    }
  }

  range(request: RangeRequest): KvResult<RangeResponse> {
    if (request.key.length === 0) return { ok: false, error: kvError('empty-key') };
    return this.rangeAt(request, this.revision, (revision) => this.states[revision] as State);
  }

  watchEvents(request: WatchRequest): KvResult<Event[]> {
    if (request.startRevision > 0 && request.startRevision < this.compacted) return { ok: false, error: kvError('compacted') };
    if (request.startRevision <= 0) return { ok: true, value: [] };
    const events: Event[] = [];
    for (let revision = Math.max(2, request.startRevision); revision <= this.revision; revision += 1) {
      for (const change of this.changes[revision] ?? []) {
        if (inRange(change.key, request.key, request.rangeEnd)) events.push(this.event(revision, change));
      }
    }
    return { ok: true, value: events };
  }

  ttl(id: number, now: number): { ttl: number; granted: number; keys: string[] } {
    const lease = this.leases.get(id);
    if (lease === undefined) return { ttl: -1, granted: 0, keys: [] };
    const keys = sortedKvs(this.current, new Uint8Array([0]), new Uint8Array([0])).filter((kv) => kv.lease === id).map((kv) => name(kv.key));
    return { ttl: Math.trunc((lease.deadline - now) / 1000), granted: lease.ttl, keys };
  }

  leaseIdsByDeadline(): number[] {
    return [...this.leases.entries()].sort(([a, x], [b, y]) => x.deadline - y.deadline || a - b).map(([id]) => id);
  }

  expired(now: number): number[] {
    return this.leaseIdsByDeadline().filter((id) => (this.leases.get(id) as Lease).deadline <= now);
  }

  private rangeAt(request: RangeRequest, readRevision: number, stateAt: (revision: number) => State): KvResult<RangeResponse> {
    const asked = request.revision ?? 0;
    if (asked > readRevision) return { ok: false, error: kvError('future-revision') };
    const revision = asked <= 0 ? readRevision : asked;
    if (revision < this.compacted) return { ok: false, error: kvError('compacted') };
    const all = sortedKvs(stateAt(revision), request.key, request.rangeEnd);
    let kvs = all.filter((kv) =>
      !((request.maxModRevision ?? 0) !== 0 && kv.modRevision > (request.maxModRevision ?? 0))
      && !((request.minModRevision ?? 0) !== 0 && kv.modRevision < (request.minModRevision ?? 0))
      && !((request.maxCreateRevision ?? 0) !== 0 && kv.createRevision > (request.maxCreateRevision ?? 0))
      && !((request.minCreateRevision ?? 0) !== 0 && kv.createRevision < (request.minCreateRevision ?? 0)));
    const target = request.sortTarget ?? 'KEY';
    const order = request.sortOrder ?? 'NONE';
    if (order !== 'NONE' || target !== 'KEY') {
      const value = (kv: KeyValue): number | Uint8Array =>
        target === 'KEY' ? kv.key : target === 'VALUE' ? kv.value : target === 'VERSION' ? kv.version : target === 'CREATE' ? kv.createRevision : kv.modRevision;
      const direction = order === 'DESCEND' ? -1 : 1;
      kvs = [...kvs].sort((x, y) => {
        const a = value(x);
        const b = value(y);
        const primary = typeof a === 'number' ? a - (b as number) : cmp(a, b as Uint8Array);
        return primary !== 0 ? direction * primary : cmp(x.key, y.key);
      });
    }
    const limit = request.limit ?? 0;
    const more = limit > 0 && kvs.length > limit && request.countOnly !== true;
    if (limit > 0) kvs = kvs.slice(0, limit);
    if (request.countOnly === true) kvs = [];
    if (request.keysOnly === true) kvs = kvs.map((kv) => ({ ...kv, value: EMPTY }));
    return { ok: true, value: { header: { revision: readRevision }, kvs, more, count: all.length } };
  }

  private draft(): Draft {
    return { state: new Map(this.current), changes: [] };
  }

  private readRevision(draft: Draft): number {
    return draft.changes.length > 0 ? this.revision + 1 : this.revision;
  }

  private commit(draft: Draft): Event[] {
    if (draft.changes.length === 0) return [];
    this.states.push(draft.state);
    this.changes.push(draft.changes);
    return draft.changes.map((change) => this.event(this.revision, change));
  }

  private event(revision: number, change: { key: Uint8Array; kv: KeyValue | null }): Event {
    const prevKv = (this.states[revision - 1] as State).get(name(change.key)) ?? null;
    if (change.kv !== null) return { type: 'PUT', kv: change.kv, prevKv };
    return { type: 'DELETE', kv: { key: change.key, createRevision: 0, modRevision: revision, version: 0, value: EMPTY, lease: 0 }, prevKv };
  }

  private put(draft: Draft, request: PutRequest): PutResponse {
    const prior = draft.state.get(name(request.key)) ?? null;
    const revision = this.revision + 1;
    const kv: KeyValue = {
      key: request.key,
      createRevision: prior?.createRevision ?? revision,
      modRevision: revision,
      version: (prior?.version ?? 0) + 1,
      value: request.ignoreValue === true ? (prior as KeyValue).value : request.value ?? EMPTY,
      lease: request.ignoreLease === true ? (prior as KeyValue).lease : request.lease ?? 0,
    };
    draft.state.set(name(request.key), kv);
    draft.changes.push({ key: request.key, kv });
    return { header: { revision }, prevKv: request.prevKv === true ? prior : null };
  }

  private deleteRange(draft: Draft, request: DeleteRangeRequest): DeleteRangeResponse {
    const doomed = sortedKvs(draft.state, request.key, request.rangeEnd);
    for (const kv of doomed) {
      draft.state.delete(name(kv.key));
      draft.changes.push({ key: kv.key, kv: null });
    }
    return { header: { revision: this.readRevision(draft) }, deleted: doomed.length, prevKvs: request.prevKv === true ? doomed : [] };
  }

  private revoke(id: number): Event[] {
    const draft = this.draft();
    for (const kv of sortedKvs(draft.state, new Uint8Array([0]), new Uint8Array([0]))) {
      if (kv.lease !== id) continue;
      draft.state.delete(name(kv.key));
      draft.changes.push({ key: kv.key, kv: null });
    }
    this.leases.delete(id);
    return this.commit(draft);
  }

  private holds(compare: Compare): boolean {
    const kvs = sortedKvs(this.current, compare.key, compare.rangeEnd);
    const test = (kv: KeyValue | null): boolean => {
      let difference: number;
      switch (compare.target) {
        case 'VERSION': difference = (kv?.version ?? 0) - compare.version; break;
        case 'CREATE': difference = (kv?.createRevision ?? 0) - compare.createRevision; break;
        case 'MOD': difference = (kv?.modRevision ?? 0) - compare.modRevision; break;
        case 'LEASE': difference = (kv?.lease ?? 0) - compare.lease; break;
        case 'VALUE': difference = cmp(kv?.value ?? EMPTY, compare.value); break;
      }
      return compare.result === 'EQUAL' ? difference === 0
        : compare.result === 'NOT_EQUAL' ? difference !== 0
          : compare.result === 'GREATER' ? difference > 0 : difference < 0;
    };
    if (kvs.length === 0) return compare.target === 'VALUE' ? false : test(null);
    return kvs.every(test);
  }

  private path(request: TxnRequest): Path {
    const succeeded = (request.compare ?? []).every((compare) => this.holds(compare));
    const ops = (succeeded ? request.success : request.failure) ?? [];
    return { succeeded, nested: ops.filter((op) => op.type === 'txn').map((op) => this.path((op as { request: TxnRequest }).request)) };
  }

  private check(request: TxnRequest, path: Path): KvErrorKind | null {
    const nested = [...path.nested];
    for (const op of (path.succeeded ? request.success : request.failure) ?? []) {
      let refused: KvErrorKind | null = null;
      if (op.type === 'range') {
        const revision = op.request.revision ?? 0;
        if (revision > this.revision) refused = 'future-revision';
        else if (revision > 0 && revision < this.compacted) refused = 'compacted';
      } else if (op.type === 'put') {
        if ((op.request.ignoreValue === true || op.request.ignoreLease === true) && !this.current.has(name(op.request.key))) refused = 'key-not-found';
        else if ((op.request.lease ?? 0) !== 0 && !this.leases.has(op.request.lease ?? 0)) refused = 'lease-not-found';
      } else if (op.type === 'txn') {
        refused = this.check(op.request, nested.shift() as Path);
      }
      if (refused !== null) return refused;
    }
    return null;
  }

  private txn(draft: Draft, request: TxnRequest, path: Path, topLevel: boolean): TxnResponse {
    const nested = [...path.nested];
    const responses: ResponseOp[] = ((path.succeeded ? request.success : request.failure) ?? []).map((op: RequestOp): ResponseOp => {
      switch (op.type) {
        case 'range': {
          const readRevision = this.readRevision(draft);
          const result = this.rangeAt(op.request, readRevision, (revision) => (revision === readRevision ? draft.state : this.states[revision] as State));
          if (!result.ok) throw new Error('a checked range failed in the reference');
          return { type: 'range', response: result.value };
        }
        case 'put':
          return { type: 'put', response: this.put(draft, op.request) };
        case 'delete-range':
          return { type: 'delete-range', response: this.deleteRange(draft, op.request) };
        case 'txn':
          return { type: 'txn', response: this.txn(draft, op.request, nested.shift() as Path, false) };
      }
    });
    return { header: { revision: topLevel ? this.readRevision(draft) : 0 }, succeeded: path.succeeded, responses };
  }
}
