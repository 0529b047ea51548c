/**
 * The etcd v3 key-value API as data: requests, responses, events, and the
 * commands and outputs of the replicated state machine.
 *
 * Field names are etcd's protobuf names in camelCase (`rpc.proto`, `kv.proto`);
 * an absent optional field means the protobuf zero value, as in proto3. Numbers
 * are etcd's int64 fields: revisions, versions, lease IDs and TTLs. They are
 * plain `number`s, not branded, because they map one to one onto wire fields;
 * the server must reject int64 values outside the safe-integer range before they
 * reach the store.
 *
 * Byte arrays in requests, responses and events are shared with the store, not
 * copied: treat every `Uint8Array` here as immutable.
 */
import type { KvError } from './errors.js';

/** mvccpb.KeyValue. */
export interface KeyValue {
  readonly key: Uint8Array;
  /** Revision of the last creation of this key (reset by a delete). */
  readonly createRevision: number;
  /** Revision of the last change to this key. */
  readonly modRevision: number;
  /** 1 on creation, +1 per put; a delete resets it to 0 (the key is gone). */
  readonly version: number;
  readonly value: Uint8Array;
  /** Attached lease ID, 0 for none. */
  readonly lease: number;
}

/** The part of etcdserverpb.ResponseHeader the store decides; the server adds cluster, member and term. */
export interface ResponseHeader {
  readonly revision: number;
}

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

/**
 * etcdserverpb.RangeRequest. `rangeEnd` absent or empty: the single key `key`;
 * `rangeEnd` = [0]: every key >= `key` (with `key` = [0]: all keys); otherwise
 * the half-open interval [key, rangeEnd). A prefix p is [p, p+1).
 */
export interface RangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly limit?: number;
  /** Read at this revision; 0 or absent means the current one. */
  readonly revision?: number;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
  /** A server concern (serve from the local replica); the store ignores it. */
  readonly serializable?: boolean;
  readonly keysOnly?: boolean;
  readonly countOnly?: boolean;
  readonly minModRevision?: number;
  readonly maxModRevision?: number;
  readonly minCreateRevision?: number;
  readonly maxCreateRevision?: number;
}

export interface RangeResponse {
  readonly header: ResponseHeader;
  readonly kvs: readonly KeyValue[];
  /** More keys matched than `limit` let through. */
  readonly more: boolean;
  /** Keys in the range at the read revision, before the revision filters and the limit. */
  readonly count: number;
}

export interface PutRequest {
  readonly key: Uint8Array;
  readonly value?: Uint8Array;
  readonly lease?: number;
  readonly prevKv?: boolean;
  readonly ignoreValue?: boolean;
  readonly ignoreLease?: boolean;
}

export interface PutResponse {
  readonly header: ResponseHeader;
  /** The key's previous value when `prevKv` was asked and the key existed. */
  readonly prevKv: KeyValue | null;
}

export interface DeleteRangeRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly prevKv?: boolean;
}

export interface DeleteRangeResponse {
  readonly header: ResponseHeader;
  readonly deleted: number;
  /** The deleted pairs, in key order, when `prevKv` was asked; empty otherwise. */
  readonly prevKvs: readonly KeyValue[];
}

export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';

interface CompareBase {
  readonly key: Uint8Array;
  /** As in RangeRequest: every existing key in the range must satisfy the comparison. */
  readonly rangeEnd?: Uint8Array;
  readonly result: CompareResult;
}

/** etcdserverpb.Compare: the target and its operand travel together. */
export type Compare =
  | (CompareBase & { readonly target: 'VERSION'; readonly version: number })
  | (CompareBase & { readonly target: 'CREATE'; readonly createRevision: number })
  | (CompareBase & { readonly target: 'MOD'; readonly modRevision: number })
  | (CompareBase & { readonly target: 'VALUE'; readonly value: Uint8Array })
  | (CompareBase & { readonly target: 'LEASE'; readonly lease: number });

export type RequestOp =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'delete-range'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest };

export type ResponseOp =
  | { readonly type: 'range'; readonly response: RangeResponse }
  | { readonly type: 'put'; readonly response: PutResponse }
  | { readonly type: 'delete-range'; readonly response: DeleteRangeResponse }
  | { readonly type: 'txn'; readonly response: TxnResponse };

export interface TxnRequest {
  readonly compare?: readonly Compare[];
  readonly success?: readonly RequestOp[];
  readonly failure?: readonly RequestOp[];
}

export interface TxnResponse {
  readonly header: ResponseHeader;
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

export interface CompactionRequest {
  readonly revision: number;
  /** A storage concern in etcd; the in-memory store ignores it. */
  readonly physical?: boolean;
}

export interface CompactionResponse {
  readonly header: ResponseHeader;
}

export interface LeaseGrantRequest {
  /** Requested time to live in seconds; raised to the store's minimum. */
  readonly ttl: number;
  /** 0 or absent: the store assigns one. */
  readonly id?: number;
}

export interface LeaseGrantResponse {
  readonly header: ResponseHeader;
  readonly id: number;
  /** The TTL granted, in seconds. */
  readonly ttl: number;
}

export interface LeaseRevokeRequest {
  readonly id: number;
}

export interface LeaseRevokeResponse {
  readonly header: ResponseHeader;
}

export interface LeaseKeepAliveRequest {
  readonly id: number;
}

export interface LeaseKeepAliveResponse {
  readonly header: ResponseHeader;
  readonly id: number;
  readonly ttl: number;
}

export interface LeaseTimeToLiveRequest {
  readonly id: number;
  readonly keys?: boolean;
}

export interface LeaseTimeToLiveResponse {
  readonly header: ResponseHeader;
  readonly id: number;
  /** Remaining seconds, truncated; -1 when the lease does not exist (etcd answers so, without an error). */
  readonly ttl: number;
  readonly grantedTtl: number;
  readonly keys: readonly Uint8Array[];
}

export interface LeaseStatus {
  readonly id: number;
}

export interface LeaseLeasesResponse {
  readonly header: ResponseHeader;
  readonly leases: readonly LeaseStatus[];
}

export interface LeaseExpireResponse {
  readonly header: ResponseHeader;
  /** The leases actually revoked: the listed ones that still existed and were past their deadline. */
  readonly expired: readonly number[];
}

export interface LeaderChangedResponse {
  readonly header: ResponseHeader;
}

export type EventType = 'PUT' | 'DELETE';

/**
 * mvccpb.Event. A DELETE's `kv` holds only the key and the deleting revision
 * (`modRevision`), as etcd sends it. `prevKv` is the key's pair at the revision
 * before the event, or null when it did not exist; the watch hub sends it only
 * to watchers that asked for it.
 */
export interface Event {
  readonly type: EventType;
  readonly kv: KeyValue;
  readonly prevKv: KeyValue | null;
}

/** Where a watcher starts: events with revision >= `startRevision` on keys in the range. */
export interface WatchRequest {
  readonly key: Uint8Array;
  readonly rangeEnd?: Uint8Array;
  readonly startRevision: number;
}

export interface WatchEvents {
  readonly header: ResponseHeader;
  readonly events: readonly Event[];
}

/**
 * The commands decided through the log. Time enters only here: `now` is the
 * proposing leader's clock in milliseconds, stamped when it proposed.
 */
export type KvCommand =
  | { readonly type: 'range'; readonly request: RangeRequest }
  | { readonly type: 'put'; readonly request: PutRequest }
  | { readonly type: 'delete-range'; readonly request: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly request: TxnRequest }
  | { readonly type: 'compact'; readonly request: CompactionRequest }
  | { readonly type: 'lease-grant'; readonly request: LeaseGrantRequest; readonly now: number }
  | { readonly type: 'lease-revoke'; readonly request: LeaseRevokeRequest }
  | { readonly type: 'lease-renew'; readonly request: LeaseKeepAliveRequest; readonly now: number }
  /** The leader found these leases past their deadline (see `expiredLeases`). */
  | { readonly type: 'lease-expire'; readonly ids: readonly number[]; readonly now: number }
  /**
   * A new leader took over. Every lease deadline moves to at least
   * now + extendMs + TTL, so the new leader never expires a lease that the
   * client kept alive through the old one (etcd's lessor.Promote).
   */
  | { readonly type: 'leader-changed'; readonly now: number; readonly extendMs: number };

interface Applied<Type extends string, Response> {
  readonly type: Type;
  readonly response: Response;
  /** The changes this command made, in revision and sub-revision order, for the watch hub. */
  readonly events: readonly Event[];
}

export type KvOutput =
  | Applied<'range', RangeResponse>
  | Applied<'put', PutResponse>
  | Applied<'delete-range', DeleteRangeResponse>
  | Applied<'txn', TxnResponse>
  | Applied<'compact', CompactionResponse>
  | Applied<'lease-grant', LeaseGrantResponse>
  | Applied<'lease-revoke', LeaseRevokeResponse>
  | Applied<'lease-renew', LeaseKeepAliveResponse>
  | Applied<'lease-expire', LeaseExpireResponse>
  | Applied<'leader-changed', LeaderChangedResponse>
  | { readonly type: 'error'; readonly error: KvError };
