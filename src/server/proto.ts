/**
 * The etcd v3 wire protocol, as Synod serves it.
 *
 * The .proto files under proto/etcd/ are Synod's own transcription of etcd's
 * v3 wire format (package, service, method and message names, field tags and
 * types, enum values). This module loads them with @grpc/proto-loader and
 * exports the grpc-js service definitions plus hand-written TypeScript shapes
 * of the messages, matching what proto-loader produces with LOADER_OPTIONS.
 *
 * Conversion choices (LOADER_OPTIONS):
 * - keepCase: field names are exactly the .proto names (`create_revision`,
 *   `range_end`, `ID`, `TTL`, `peerURLs`, ...), as etcd's JSON output shows.
 * - longs: String. Every int64/uint64 field decodes to a decimal string. This
 *   is lossless: cluster and member IDs are full-range uint64, and lease IDs
 *   chosen by clients may be any int64, so Number would silently corrupt them.
 *   Convert at the edge with toBigInt / toSafeNumber; encode with int64 /
 *   uint64 (protobufjs also accepts number, bigint or decimal string on encode,
 *   but silently truncates non-integers, so validate first).
 * - enums: String. Enum fields decode to their value names ('PUT', 'ASCEND',
 *   ...). A number the .proto does not know (from a newer client) arrives as a
 *   bare number, hence the `| number` in the enum field types. Encoding
 *   accepts names or numbers.
 * - bytes: left at the default, so bytes decode to Buffer. On encode, pass a
 *   Buffer/Uint8Array: a *string* in a bytes field is taken as base64.
 * - defaults + arrays: every scalar, bytes and repeated field is present after
 *   decoding (proto3 zero values: '0', false, empty Buffer, []); an unset
 *   message field is null.
 * - oneofs: the oneof's own name (`request`, `response`, `target_union`,
 *   `request_union`) holds the name of the member that is set; only that
 *   member is present. Oneof members keep presence on the wire, so a Compare
 *   with `version: 0` really says "version equals 0".
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

// ------------------------------------------------------------------ loading

/** The .proto files, relative to the proto root; imports between them resolve the same way. */
export const PROTO_FILES: readonly string[] = Object.freeze([
  'etcd/mvccpb/kv.proto',
  'etcd/authpb/auth.proto',
  'etcd/etcdserverpb/rpc.proto',
  'etcd/v3lockpb/v3lock.proto',
  'etcd/v3electionpb/v3election.proto',
]);

/** proto-loader options; the message shapes below depend on every one of these. */
export const LOADER_OPTIONS: Readonly<protoLoader.Options> = Object.freeze({
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
});

/** Short service name to its fully qualified gRPC name (the prefix of each method path). */
export const SERVICE_NAMES = Object.freeze({
  KV: 'etcdserverpb.KV',
  Watch: 'etcdserverpb.Watch',
  Lease: 'etcdserverpb.Lease',
  Cluster: 'etcdserverpb.Cluster',
  Maintenance: 'etcdserverpb.Maintenance',
  Auth: 'etcdserverpb.Auth',
  Lock: 'v3lockpb.Lock',
  Election: 'v3electionpb.Election',
} as const);

export type EtcdServiceName = keyof typeof SERVICE_NAMES;

/**
 * The folder holding proto/etcd/..., found by walking up from this module, so
 * it works from src/server (ts runners) and from dist/src/server (compiled).
 */
export function findProtoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (let i = 0; i < 16; i++) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'etcd', 'etcdserverpb', 'rpc.proto'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(`etcd proto files not found above ${from} (expected proto/etcd/etcdserverpb/rpc.proto)`);
}

export interface EtcdProtos {
  /** Folder the .proto files were loaded from. */
  readonly protoRoot: string;
  readonly packageDefinition: protoLoader.PackageDefinition;
  /** For server.addService(services.KV, implementation). */
  readonly services: Readonly<Record<EtcdServiceName, grpc.ServiceDefinition>>;
  /** Client constructors, e.g. new clients.KV('127.0.0.1:2379', grpc.credentials.createInsecure()). */
  readonly clients: Readonly<Record<EtcdServiceName, grpc.ServiceClientConstructor>>;
}

let cached: EtcdProtos | undefined;

/** Loads (once) and returns the etcd service definitions. */
export function loadEtcdProtos(protoRoot?: string): EtcdProtos {
  if (protoRoot === undefined && cached !== undefined) return cached;
  const root = protoRoot ?? findProtoRoot();
  const packageDefinition = protoLoader.loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [root] });
  const grpcObject = grpc.loadPackageDefinition(packageDefinition);
  const services = {} as Record<EtcdServiceName, grpc.ServiceDefinition>;
  const clients = {} as Record<EtcdServiceName, grpc.ServiceClientConstructor>;
  for (const [short, full] of Object.entries(SERVICE_NAMES) as [EtcdServiceName, string][]) {
    const def = packageDefinition[full];
    if (def === undefined || 'format' in def) throw new Error(`service ${full} missing from the etcd protos`);
    services[short] = def as unknown as grpc.ServiceDefinition;
    const [pkg, name] = full.split('.') as [string, string];
    const ctor = (grpcObject[pkg] as grpc.GrpcObject | undefined)?.[name];
    if (typeof ctor !== 'function') throw new Error(`client for ${full} missing from the etcd protos`);
    clients[short] = ctor as grpc.ServiceClientConstructor;
  }
  const loaded: EtcdProtos = Object.freeze({
    protoRoot: root,
    packageDefinition,
    services: Object.freeze(services),
    clients: Object.freeze(clients),
  });
  if (protoRoot === undefined) cached = loaded;
  return loaded;
}

// ------------------------------------------------------------------ 64-bit integers

/** A decoded int64/uint64: decimal string, e.g. '42' or '-1'. */
export type Int64 = string;
/** What the encoder accepts for int64/uint64 fields. */
export type Int64Like = string | number | bigint;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** Parses an int64 value exactly; throws on non-integers. */
export function toBigInt(value: Int64Like): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new RangeError(`not an integer: ${value}`);
    return BigInt(value);
  }
  if (!/^-?\d+$/.test(value)) throw new RangeError(`not a decimal integer: ${JSON.stringify(value)}`);
  return BigInt(value);
}

/** An int64 as a JS number; throws if it is not a safe integer (|v| < 2^53). */
export function toSafeNumber(value: Int64Like): number {
  const big = toBigInt(value);
  const n = Number(big);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer ${big} is beyond Number.MAX_SAFE_INTEGER`);
  return n;
}

/** Validated signed 64-bit value, as the decimal string the encoder takes. */
export function int64(value: Int64Like): Int64 {
  const big = toBigInt(value);
  if (big < INT64_MIN || big > INT64_MAX) throw new RangeError(`${big} does not fit in int64`);
  return big.toString();
}

/** Validated unsigned 64-bit value, as the decimal string the encoder takes. */
export function uint64(value: Int64Like): Int64 {
  const big = toBigInt(value);
  if (big < 0n || big > UINT64_MAX) throw new RangeError(`${big} does not fit in uint64`);
  return big.toString();
}

// ------------------------------------------------------------------ message shapes
//
// Interfaces describe decoded messages (what a handler receives, or what a
// client gets back). Their type parameter I is the representation of 64-bit
// integers: Int64 (decimal string) when decoded. For messages Synod sends,
// use Init<X<Int64Like>> (the *Init aliases below): every field optional,
// 64-bit fields as string | number | bigint.

/** Outgoing form of a message: every field optional, recursively; bytes as Uint8Array. */
export type Init<T> = T extends Uint8Array
  ? Uint8Array
  : T extends readonly (infer U)[]
    ? Init<U>[]
    : T extends object
      ? { [K in keyof T]?: Init<T[K]> }
      : T;

export type EventType = 'PUT' | 'DELETE';
export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';
export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
export type WatchFilterType = 'NOPUT' | 'NODELETE';
export type AlarmType = 'NONE' | 'NOSPACE' | 'CORRUPT';
export type AlarmAction = 'GET' | 'ACTIVATE' | 'DEACTIVATE';
export type DowngradeAction = 'VALIDATE' | 'ENABLE' | 'CANCEL';
export type PermissionType = 'READ' | 'WRITE' | 'READWRITE';

// mvccpb

export interface KeyValue<I = Int64> {
  key: Buffer;
  create_revision: I;
  mod_revision: I;
  version: I;
  value: Buffer;
  lease: I;
}

export interface Event<I = Int64> {
  type: EventType | number;
  kv: KeyValue<I> | null;
  prev_kv: KeyValue<I> | null;
}

// etcdserverpb: common

export interface ResponseHeader<I = Int64> {
  cluster_id: I;
  member_id: I;
  revision: I;
  raft_term: I;
}

/** Responses that carry nothing but a header (LeaseRevoke, Compaction, Defragment, MoveLeader, most Auth calls, Unlock, Resign, Proclaim). */
export interface HeaderOnlyResponse<I = Int64> {
  header: ResponseHeader<I> | null;
}

/** Requests without fields (Status, Hash, Snapshot, Defragment, LeaseLeases, WatchProgress, AuthStatus, ...). */
export type EmptyRequest = Record<string, never>;

// etcdserverpb: KV

export interface RangeRequest<I = Int64> {
  key: Buffer;
  range_end: Buffer;
  limit: I;
  revision: I;
  sort_order: SortOrder | number;
  sort_target: SortTarget | number;
  serializable: boolean;
  keys_only: boolean;
  count_only: boolean;
  min_mod_revision: I;
  max_mod_revision: I;
  min_create_revision: I;
  max_create_revision: I;
}

export interface RangeResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  kvs: KeyValue<I>[];
  more: boolean;
  count: I;
}

export interface PutRequest<I = Int64> {
  key: Buffer;
  value: Buffer;
  lease: I;
  prev_kv: boolean;
  ignore_value: boolean;
  ignore_lease: boolean;
}

export interface PutResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  prev_kv: KeyValue<I> | null;
}

export interface DeleteRangeRequest {
  key: Buffer;
  range_end: Buffer;
  prev_kv: boolean;
}

export interface DeleteRangeResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  deleted: I;
  prev_kvs: KeyValue<I>[];
}

/** A transaction operation; `request` names the member that is set (absent if none is). */
export type RequestOp<I = Int64> =
  | { request: 'request_range'; request_range: RangeRequest<I> }
  | { request: 'request_put'; request_put: PutRequest<I> }
  | { request: 'request_delete_range'; request_delete_range: DeleteRangeRequest }
  | { request: 'request_txn'; request_txn: TxnRequest<I> }
  | { request?: undefined };

export type ResponseOp<I = Int64> =
  | { response: 'response_range'; response_range: RangeResponse<I> }
  | { response: 'response_put'; response_put: PutResponse<I> }
  | { response: 'response_delete_range'; response_delete_range: DeleteRangeResponse<I> }
  | { response: 'response_txn'; response_txn: TxnResponse<I> }
  | { response?: undefined };

export interface Compare<I = Int64> {
  result: CompareResult | number;
  target: CompareTarget | number;
  key: Buffer;
  range_end: Buffer;
  /** Which member below is set; absent if none is. */
  target_union?: 'version' | 'create_revision' | 'mod_revision' | 'value' | 'lease';
  version?: I;
  create_revision?: I;
  mod_revision?: I;
  value?: Buffer;
  lease?: I;
}

export interface TxnRequest<I = Int64> {
  compare: Compare<I>[];
  success: RequestOp<I>[];
  failure: RequestOp<I>[];
}

export interface TxnResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  succeeded: boolean;
  responses: ResponseOp<I>[];
}

export interface CompactionRequest<I = Int64> {
  revision: I;
  physical: boolean;
}

export type CompactionResponse<I = Int64> = HeaderOnlyResponse<I>;

// etcdserverpb: Watch

export interface WatchCreateRequest<I = Int64> {
  key: Buffer;
  range_end: Buffer;
  start_revision: I;
  progress_notify: boolean;
  filters: (WatchFilterType | number)[];
  prev_kv: boolean;
  watch_id: I;
  fragment: boolean;
}

export interface WatchCancelRequest<I = Int64> {
  watch_id: I;
}

export type WatchRequest<I = Int64> =
  | { request_union: 'create_request'; create_request: WatchCreateRequest<I> }
  | { request_union: 'cancel_request'; cancel_request: WatchCancelRequest<I> }
  | { request_union: 'progress_request'; progress_request: EmptyRequest }
  | { request_union?: undefined };

export interface WatchResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  watch_id: I;
  created: boolean;
  canceled: boolean;
  compact_revision: I;
  cancel_reason: string;
  fragment: boolean;
  events: Event<I>[];
}

// etcdserverpb: Lease

export interface LeaseGrantRequest<I = Int64> {
  TTL: I;
  ID: I;
}

export interface LeaseGrantResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  ID: I;
  TTL: I;
  error: string;
}

export interface LeaseRevokeRequest<I = Int64> {
  ID: I;
}

export type LeaseRevokeResponse<I = Int64> = HeaderOnlyResponse<I>;

export interface LeaseKeepAliveRequest<I = Int64> {
  ID: I;
}

export interface LeaseKeepAliveResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  ID: I;
  TTL: I;
}

export interface LeaseTimeToLiveRequest<I = Int64> {
  ID: I;
  keys: boolean;
}

export interface LeaseTimeToLiveResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  ID: I;
  TTL: I;
  grantedTTL: I;
  keys: Buffer[];
}

export interface LeaseStatus<I = Int64> {
  ID: I;
}

export interface LeaseLeasesResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  leases: LeaseStatus<I>[];
}

// etcdserverpb: Cluster

export interface Member<I = Int64> {
  ID: I;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

export interface MemberAddRequest {
  peerURLs: string[];
  isLearner: boolean;
}

export interface MemberAddResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  member: Member<I> | null;
  members: Member<I>[];
}

export interface MemberRemoveRequest<I = Int64> {
  ID: I;
}

export interface MemberUpdateRequest<I = Int64> {
  ID: I;
  peerURLs: string[];
}

export interface MemberListRequest {
  linearizable: boolean;
}

export interface MemberPromoteRequest<I = Int64> {
  ID: I;
}

/** MemberRemove, MemberUpdate, MemberList and MemberPromote all answer with this shape. */
export interface MembersResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  members: Member<I>[];
}

// etcdserverpb: Maintenance

export interface AlarmRequest<I = Int64> {
  action: AlarmAction | number;
  memberID: I;
  alarm: AlarmType | number;
}

export interface AlarmMember<I = Int64> {
  memberID: I;
  alarm: AlarmType | number;
}

export interface AlarmResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  alarms: AlarmMember<I>[];
}

export interface DowngradeInfo {
  enabled: boolean;
  targetVersion: string;
}

export interface StatusResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  version: string;
  dbSize: I;
  leader: I;
  raftIndex: I;
  raftTerm: I;
  raftAppliedIndex: I;
  errors: string[];
  dbSizeInUse: I;
  isLearner: boolean;
  storageVersion: string;
  dbSizeQuota: I;
  downgradeInfo: DowngradeInfo | null;
}

export interface HashResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  hash: number;
}

export interface HashKVRequest<I = Int64> {
  revision: I;
}

export interface HashKVResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  hash: number;
  compact_revision: I;
  hash_revision: I;
}

export interface SnapshotResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  remaining_bytes: I;
  blob: Buffer;
  version: string;
}

export interface MoveLeaderRequest<I = Int64> {
  targetID: I;
}

export interface DowngradeRequest {
  action: DowngradeAction | number;
  version: string;
}

export interface DowngradeResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  version: string;
}

// etcdserverpb: Auth (Synod answers the status/authenticate calls; user and role management share HeaderOnlyResponse)

export interface AuthStatusResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  enabled: boolean;
  authRevision: I;
}

export interface AuthenticateRequest {
  name: string;
  password: string;
}

export interface AuthenticateResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  token: string;
}

export interface Permission {
  permType: PermissionType | number;
  key: Buffer;
  range_end: Buffer;
}

// v3lockpb

export interface LockRequest<I = Int64> {
  name: Buffer;
  lease: I;
}

export interface LockResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  key: Buffer;
}

export interface UnlockRequest {
  key: Buffer;
}

export type UnlockResponse<I = Int64> = HeaderOnlyResponse<I>;

// v3electionpb

export interface LeaderKey<I = Int64> {
  name: Buffer;
  key: Buffer;
  rev: I;
  lease: I;
}

export interface CampaignRequest<I = Int64> {
  name: Buffer;
  lease: I;
  value: Buffer;
}

export interface CampaignResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  leader: LeaderKey<I> | null;
}

export interface ProclaimRequest<I = Int64> {
  leader: LeaderKey<I> | null;
  value: Buffer;
}

export interface LeaderRequest {
  name: Buffer;
}

export interface LeaderResponse<I = Int64> {
  header: ResponseHeader<I> | null;
  kv: KeyValue<I> | null;
}

export interface ResignRequest<I = Int64> {
  leader: LeaderKey<I> | null;
}

// Outgoing forms of the messages Synod sends (and, in tests, the requests a client sends).

export type ResponseHeaderInit = Init<ResponseHeader<Int64Like>>;
export type KeyValueInit = Init<KeyValue<Int64Like>>;
export type EventInit = Init<Event<Int64Like>>;
export type HeaderOnlyResponseInit = Init<HeaderOnlyResponse<Int64Like>>;
export type RangeResponseInit = Init<RangeResponse<Int64Like>>;
export type PutResponseInit = Init<PutResponse<Int64Like>>;
export type DeleteRangeResponseInit = Init<DeleteRangeResponse<Int64Like>>;
export type ResponseOpInit = Init<ResponseOp<Int64Like>>;
export type TxnResponseInit = Init<TxnResponse<Int64Like>>;
export type WatchResponseInit = Init<WatchResponse<Int64Like>>;
export type LeaseGrantResponseInit = Init<LeaseGrantResponse<Int64Like>>;
export type LeaseKeepAliveResponseInit = Init<LeaseKeepAliveResponse<Int64Like>>;
export type LeaseTimeToLiveResponseInit = Init<LeaseTimeToLiveResponse<Int64Like>>;
export type LeaseLeasesResponseInit = Init<LeaseLeasesResponse<Int64Like>>;
export type MemberInit = Init<Member<Int64Like>>;
export type MemberAddResponseInit = Init<MemberAddResponse<Int64Like>>;
export type MembersResponseInit = Init<MembersResponse<Int64Like>>;
export type AlarmResponseInit = Init<AlarmResponse<Int64Like>>;
export type StatusResponseInit = Init<StatusResponse<Int64Like>>;
export type HashResponseInit = Init<HashResponse<Int64Like>>;
export type HashKVResponseInit = Init<HashKVResponse<Int64Like>>;
export type SnapshotResponseInit = Init<SnapshotResponse<Int64Like>>;
export type DowngradeResponseInit = Init<DowngradeResponse<Int64Like>>;
export type AuthStatusResponseInit = Init<AuthStatusResponse<Int64Like>>;
export type AuthenticateResponseInit = Init<AuthenticateResponse<Int64Like>>;
export type LockResponseInit = Init<LockResponse<Int64Like>>;
export type LeaderKeyInit = Init<LeaderKey<Int64Like>>;
export type CampaignResponseInit = Init<CampaignResponse<Int64Like>>;
export type LeaderResponseInit = Init<LeaderResponse<Int64Like>>;
