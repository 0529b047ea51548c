/**
 * The etcd v3 protocol definitions: every service and method is there with the
 * right path and streaming kind, every field has etcd's tag and type, messages
 * survive the exact encode/decode path grpc-js uses, and (when an `etcd` binary
 * is installed) a real etcd's answers decode into sensible values that agree
 * with `etcdctl -w json`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import {
  LOADER_OPTIONS,
  SERVICE_NAMES,
  findProtoRoot,
  int64,
  loadEtcdProtos,
  toBigInt,
  toSafeNumber,
  uint64,
  type CampaignResponse,
  type DeleteRangeResponse,
  type EtcdServiceName,
  type HashKVResponse,
  type Init,
  type Int64Like,
  type LeaderResponse,
  type LeaseGrantResponse,
  type LeaseKeepAliveResponse,
  type LeaseTimeToLiveResponse,
  type LockResponse,
  type MembersResponse,
  type AlarmResponse,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type SnapshotResponse,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
  type WatchRequest,
  type WatchResponse,
} from '../../src/server/proto.js';

const protos = loadEtcdProtos();

type AnyMethod = MethodDefinition<object, object>;

function method(service: EtcdServiceName, name: string): AnyMethod {
  const m = (protos.services[service] as unknown as Record<string, AnyMethod | undefined>)[name];
  assert.ok(m, `${service}.${name} exists`);
  return m;
}

/** The exact serialize/deserialize pair grpc-js uses (protobufjs fromObject+encode, decode+toObject). */
function roundTripRequest<T>(service: EtcdServiceName, name: string, msg: object): T {
  const m = method(service, name);
  return m.requestDeserialize(m.requestSerialize(msg)) as T;
}

function roundTripResponse<T>(service: EtcdServiceName, name: string, msg: object): T {
  const m = method(service, name);
  return m.responseDeserialize(m.responseSerialize(msg)) as T;
}

const b = (s: string): Buffer => Buffer.from(s);

// ------------------------------------------------------------------ services

// name: 'Request>Response', with '*' marking a stream.
const EXPECTED_METHODS: Record<EtcdServiceName, Record<string, string>> = {
  KV: {
    Range: 'RangeRequest>RangeResponse',
    Put: 'PutRequest>PutResponse',
    DeleteRange: 'DeleteRangeRequest>DeleteRangeResponse',
    Txn: 'TxnRequest>TxnResponse',
    Compact: 'CompactionRequest>CompactionResponse',
  },
  Watch: { Watch: '*WatchRequest>*WatchResponse' },
  Lease: {
    LeaseGrant: 'LeaseGrantRequest>LeaseGrantResponse',
    LeaseRevoke: 'LeaseRevokeRequest>LeaseRevokeResponse',
    LeaseKeepAlive: '*LeaseKeepAliveRequest>*LeaseKeepAliveResponse',
    LeaseTimeToLive: 'LeaseTimeToLiveRequest>LeaseTimeToLiveResponse',
    LeaseLeases: 'LeaseLeasesRequest>LeaseLeasesResponse',
  },
  Cluster: {
    MemberAdd: 'MemberAddRequest>MemberAddResponse',
    MemberRemove: 'MemberRemoveRequest>MemberRemoveResponse',
    MemberUpdate: 'MemberUpdateRequest>MemberUpdateResponse',
    MemberList: 'MemberListRequest>MemberListResponse',
    MemberPromote: 'MemberPromoteRequest>MemberPromoteResponse',
  },
  Maintenance: {
    Alarm: 'AlarmRequest>AlarmResponse',
    Status: 'StatusRequest>StatusResponse',
    Defragment: 'DefragmentRequest>DefragmentResponse',
    Hash: 'HashRequest>HashResponse',
    HashKV: 'HashKVRequest>HashKVResponse',
    Snapshot: 'SnapshotRequest>*SnapshotResponse',
    MoveLeader: 'MoveLeaderRequest>MoveLeaderResponse',
    Downgrade: 'DowngradeRequest>DowngradeResponse',
  },
  Auth: {
    AuthEnable: 'AuthEnableRequest>AuthEnableResponse',
    AuthDisable: 'AuthDisableRequest>AuthDisableResponse',
    AuthStatus: 'AuthStatusRequest>AuthStatusResponse',
    Authenticate: 'AuthenticateRequest>AuthenticateResponse',
    UserAdd: 'AuthUserAddRequest>AuthUserAddResponse',
    UserGet: 'AuthUserGetRequest>AuthUserGetResponse',
    UserList: 'AuthUserListRequest>AuthUserListResponse',
    UserDelete: 'AuthUserDeleteRequest>AuthUserDeleteResponse',
    UserChangePassword: 'AuthUserChangePasswordRequest>AuthUserChangePasswordResponse',
    UserGrantRole: 'AuthUserGrantRoleRequest>AuthUserGrantRoleResponse',
    UserRevokeRole: 'AuthUserRevokeRoleRequest>AuthUserRevokeRoleResponse',
    RoleAdd: 'AuthRoleAddRequest>AuthRoleAddResponse',
    RoleGet: 'AuthRoleGetRequest>AuthRoleGetResponse',
    RoleList: 'AuthRoleListRequest>AuthRoleListResponse',
    RoleDelete: 'AuthRoleDeleteRequest>AuthRoleDeleteResponse',
    RoleGrantPermission: 'AuthRoleGrantPermissionRequest>AuthRoleGrantPermissionResponse',
    RoleRevokePermission: 'AuthRoleRevokePermissionRequest>AuthRoleRevokePermissionResponse',
  },
  Lock: { Lock: 'LockRequest>LockResponse', Unlock: 'UnlockRequest>UnlockResponse' },
  Election: {
    Campaign: 'CampaignRequest>CampaignResponse',
    Proclaim: 'ProclaimRequest>ProclaimResponse',
    Leader: 'LeaderRequest>LeaderResponse',
    Observe: 'LeaderRequest>*LeaderResponse',
    Resign: 'ResignRequest>ResignResponse',
  },
};

// ------------------------------------------------------------------ fields
// Each message: 'name=tag type' with type one of the proto scalar names, a
// message/enum name, and a leading '*' for repeated. Written from etcd's API
// reference, independently of the .proto files.

const EXPECTED_FIELDS: Record<string, string> = {
  'mvccpb.KeyValue': 'key=1 bytes, create_revision=2 int64, mod_revision=3 int64, version=4 int64, value=5 bytes, lease=6 int64',
  'mvccpb.Event': 'type=1 EventType, kv=2 KeyValue, prev_kv=3 KeyValue',
  'etcdserverpb.ResponseHeader': 'cluster_id=1 uint64, member_id=2 uint64, revision=3 int64, raft_term=4 uint64',
  'etcdserverpb.RangeRequest':
    'key=1 bytes, range_end=2 bytes, limit=3 int64, revision=4 int64, sort_order=5 SortOrder, sort_target=6 SortTarget, ' +
    'serializable=7 bool, keys_only=8 bool, count_only=9 bool, min_mod_revision=10 int64, max_mod_revision=11 int64, ' +
    'min_create_revision=12 int64, max_create_revision=13 int64',
  'etcdserverpb.RangeResponse': 'header=1 ResponseHeader, kvs=2 *KeyValue, more=3 bool, count=4 int64',
  'etcdserverpb.PutRequest': 'key=1 bytes, value=2 bytes, lease=3 int64, prev_kv=4 bool, ignore_value=5 bool, ignore_lease=6 bool',
  'etcdserverpb.PutResponse': 'header=1 ResponseHeader, prev_kv=2 KeyValue',
  'etcdserverpb.DeleteRangeRequest': 'key=1 bytes, range_end=2 bytes, prev_kv=3 bool',
  'etcdserverpb.DeleteRangeResponse': 'header=1 ResponseHeader, deleted=2 int64, prev_kvs=3 *KeyValue',
  'etcdserverpb.RequestOp':
    'request_range=1 RangeRequest, request_put=2 PutRequest, request_delete_range=3 DeleteRangeRequest, request_txn=4 TxnRequest',
  'etcdserverpb.ResponseOp':
    'response_range=1 RangeResponse, response_put=2 PutResponse, response_delete_range=3 DeleteRangeResponse, response_txn=4 TxnResponse',
  'etcdserverpb.Compare':
    'result=1 CompareResult, target=2 CompareTarget, key=3 bytes, version=4 int64, create_revision=5 int64, ' +
    'mod_revision=6 int64, value=7 bytes, lease=8 int64, range_end=64 bytes',
  'etcdserverpb.TxnRequest': 'compare=1 *Compare, success=2 *RequestOp, failure=3 *RequestOp',
  'etcdserverpb.TxnResponse': 'header=1 ResponseHeader, succeeded=2 bool, responses=3 *ResponseOp',
  'etcdserverpb.CompactionRequest': 'revision=1 int64, physical=2 bool',
  'etcdserverpb.CompactionResponse': 'header=1 ResponseHeader',
  'etcdserverpb.WatchRequest':
    'create_request=1 WatchCreateRequest, cancel_request=2 WatchCancelRequest, progress_request=3 WatchProgressRequest',
  'etcdserverpb.WatchCreateRequest':
    'key=1 bytes, range_end=2 bytes, start_revision=3 int64, progress_notify=4 bool, filters=5 *FilterType, ' +
    'prev_kv=6 bool, watch_id=7 int64, fragment=8 bool',
  'etcdserverpb.WatchCancelRequest': 'watch_id=1 int64',
  'etcdserverpb.WatchProgressRequest': '',
  'etcdserverpb.WatchResponse':
    'header=1 ResponseHeader, watch_id=2 int64, created=3 bool, canceled=4 bool, compact_revision=5 int64, ' +
    'cancel_reason=6 string, fragment=7 bool, events=11 *Event',
  'etcdserverpb.LeaseGrantRequest': 'TTL=1 int64, ID=2 int64',
  'etcdserverpb.LeaseGrantResponse': 'header=1 ResponseHeader, ID=2 int64, TTL=3 int64, error=4 string',
  'etcdserverpb.LeaseRevokeRequest': 'ID=1 int64',
  'etcdserverpb.LeaseRevokeResponse': 'header=1 ResponseHeader',
  'etcdserverpb.LeaseKeepAliveRequest': 'ID=1 int64',
  'etcdserverpb.LeaseKeepAliveResponse': 'header=1 ResponseHeader, ID=2 int64, TTL=3 int64',
  'etcdserverpb.LeaseTimeToLiveRequest': 'ID=1 int64, keys=2 bool',
  'etcdserverpb.LeaseTimeToLiveResponse': 'header=1 ResponseHeader, ID=2 int64, TTL=3 int64, grantedTTL=4 int64, keys=5 *bytes',
  'etcdserverpb.LeaseLeasesRequest': '',
  'etcdserverpb.LeaseStatus': 'ID=1 int64',
  'etcdserverpb.LeaseLeasesResponse': 'header=1 ResponseHeader, leases=2 *LeaseStatus',
  'etcdserverpb.Member': 'ID=1 uint64, name=2 string, peerURLs=3 *string, clientURLs=4 *string, isLearner=5 bool',
  'etcdserverpb.MemberAddRequest': 'peerURLs=1 *string, isLearner=2 bool',
  'etcdserverpb.MemberAddResponse': 'header=1 ResponseHeader, member=2 Member, members=3 *Member',
  'etcdserverpb.MemberRemoveRequest': 'ID=1 uint64',
  'etcdserverpb.MemberRemoveResponse': 'header=1 ResponseHeader, members=2 *Member',
  'etcdserverpb.MemberUpdateRequest': 'ID=1 uint64, peerURLs=2 *string',
  'etcdserverpb.MemberUpdateResponse': 'header=1 ResponseHeader, members=2 *Member',
  'etcdserverpb.MemberListRequest': 'linearizable=1 bool',
  'etcdserverpb.MemberListResponse': 'header=1 ResponseHeader, members=2 *Member',
  'etcdserverpb.MemberPromoteRequest': 'ID=1 uint64',
  'etcdserverpb.MemberPromoteResponse': 'header=1 ResponseHeader, members=2 *Member',
  'etcdserverpb.AlarmRequest': 'action=1 AlarmAction, memberID=2 uint64, alarm=3 AlarmType',
  'etcdserverpb.AlarmMember': 'memberID=1 uint64, alarm=2 AlarmType',
  'etcdserverpb.AlarmResponse': 'header=1 ResponseHeader, alarms=2 *AlarmMember',
  'etcdserverpb.StatusRequest': '',
  'etcdserverpb.StatusResponse':
    'header=1 ResponseHeader, version=2 string, dbSize=3 int64, leader=4 uint64, raftIndex=5 uint64, raftTerm=6 uint64, ' +
    'raftAppliedIndex=7 uint64, errors=8 *string, dbSizeInUse=9 int64, isLearner=10 bool, storageVersion=11 string, ' +
    'dbSizeQuota=12 int64, downgradeInfo=13 DowngradeInfo',
  'etcdserverpb.DowngradeInfo': 'enabled=1 bool, targetVersion=2 string',
  'etcdserverpb.HashResponse': 'header=1 ResponseHeader, hash=2 uint32',
  'etcdserverpb.HashKVRequest': 'revision=1 int64',
  'etcdserverpb.HashKVResponse': 'header=1 ResponseHeader, hash=2 uint32, compact_revision=3 int64, hash_revision=4 int64',
  'etcdserverpb.SnapshotResponse': 'header=1 ResponseHeader, remaining_bytes=2 uint64, blob=3 bytes, version=4 string',
  'etcdserverpb.MoveLeaderRequest': 'targetID=1 uint64',
  'etcdserverpb.DowngradeRequest': 'action=1 DowngradeAction, version=2 string',
  'etcdserverpb.DowngradeResponse': 'header=1 ResponseHeader, version=2 string',
  'etcdserverpb.AuthStatusResponse': 'header=1 ResponseHeader, enabled=2 bool, authRevision=3 uint64',
  'etcdserverpb.AuthenticateRequest': 'name=1 string, password=2 string',
  'etcdserverpb.AuthenticateResponse': 'header=1 ResponseHeader, token=2 string',
  'etcdserverpb.AuthUserAddRequest': 'name=1 string, password=2 string, options=3 UserAddOptions, hashedPassword=4 string',
  'etcdserverpb.AuthRoleGrantPermissionRequest': 'name=1 string, perm=2 Permission',
  'etcdserverpb.AuthRoleRevokePermissionRequest': 'role=1 string, key=2 bytes, range_end=3 bytes',
  'etcdserverpb.AuthRoleGetResponse': 'header=1 ResponseHeader, perm=2 *Permission',
  'authpb.Permission': 'permType=1 Type, key=2 bytes, range_end=3 bytes',
  'authpb.UserAddOptions': 'no_password=1 bool',
  'v3lockpb.LockRequest': 'name=1 bytes, lease=2 int64',
  'v3lockpb.LockResponse': 'header=1 ResponseHeader, key=2 bytes',
  'v3lockpb.UnlockRequest': 'key=1 bytes',
  'v3lockpb.UnlockResponse': 'header=1 ResponseHeader',
  'v3electionpb.CampaignRequest': 'name=1 bytes, lease=2 int64, value=3 bytes',
  'v3electionpb.CampaignResponse': 'header=1 ResponseHeader, leader=2 LeaderKey',
  'v3electionpb.LeaderKey': 'name=1 bytes, key=2 bytes, rev=3 int64, lease=4 int64',
  'v3electionpb.LeaderRequest': 'name=1 bytes',
  'v3electionpb.LeaderResponse': 'header=1 ResponseHeader, kv=2 KeyValue',
  'v3electionpb.ResignRequest': 'leader=1 LeaderKey',
  'v3electionpb.ResignResponse': 'header=1 ResponseHeader',
  'v3electionpb.ProclaimRequest': 'leader=1 LeaderKey, value=2 bytes',
  'v3electionpb.ProclaimResponse': 'header=1 ResponseHeader',
};

const EXPECTED_ENUMS: Record<string, string> = {
  'mvccpb.Event.EventType': 'PUT=0 DELETE=1',
  'etcdserverpb.RangeRequest.SortOrder': 'NONE=0 ASCEND=1 DESCEND=2',
  'etcdserverpb.RangeRequest.SortTarget': 'KEY=0 VERSION=1 CREATE=2 MOD=3 VALUE=4',
  'etcdserverpb.Compare.CompareResult': 'EQUAL=0 GREATER=1 LESS=2 NOT_EQUAL=3',
  'etcdserverpb.Compare.CompareTarget': 'VERSION=0 CREATE=1 MOD=2 VALUE=3 LEASE=4',
  'etcdserverpb.WatchCreateRequest.FilterType': 'NOPUT=0 NODELETE=1',
  'etcdserverpb.AlarmType': 'NONE=0 NOSPACE=1 CORRUPT=2',
  'etcdserverpb.AlarmRequest.AlarmAction': 'GET=0 ACTIVATE=1 DEACTIVATE=2',
  'etcdserverpb.DowngradeRequest.DowngradeAction': 'VALIDATE=0 ENABLE=1 CANCEL=2',
  'authpb.Permission.Type': 'READ=0 WRITE=1 READWRITE=2',
};

interface FieldDescriptor {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

function describeFields(fullName: string): string {
  const def = protos.packageDefinition[fullName] as { type?: { field?: FieldDescriptor[] } } | undefined;
  assert.ok(def?.type?.field, `message ${fullName} is defined`);
  return def.type.field
    .map((f) => {
      const type = f.typeName ? (f.typeName.split('.').pop() ?? '') : f.type.replace(/^TYPE_/, '').toLowerCase();
      return `${f.name}=${f.number} ${f.label === 'LABEL_REPEATED' ? '*' : ''}${type}`;
    })
    .join(', ');
}

interface EnumDescriptor {
  name: string;
  value: { name: string; number: number }[];
}

/** Top-level enums are package entries of their own; nested ones live in their message's descriptor. */
function enumValues(fullName: string): string {
  const top = protos.packageDefinition[fullName] as { type?: EnumDescriptor } | undefined;
  let found = top?.type?.value ? top.type : undefined;
  if (!found) {
    const dot = fullName.lastIndexOf('.');
    const parent = protos.packageDefinition[fullName.slice(0, dot)] as { type?: { enumType?: EnumDescriptor[] } } | undefined;
    found = parent?.type?.enumType?.find((e) => e.name === fullName.slice(dot + 1));
  }
  assert.ok(found, `enum ${fullName} is defined`);
  return found.value.map((v) => `${v.name}=${v.number}`).join(' ');
}

describe('etcd proto definitions', () => {
  it('finds the proto root from both src and dist layouts', () => {
    assert.ok(existsSync(join(protos.protoRoot, 'etcd', 'etcdserverpb', 'rpc.proto')));
    assert.equal(findProtoRoot(), protos.protoRoot);
    assert.equal(LOADER_OPTIONS.longs, String);
    assert.equal(loadEtcdProtos(), protos, 'cached');
  });

  it('defines every service with exactly the expected methods, paths and stream kinds', () => {
    for (const [service, methods] of Object.entries(EXPECTED_METHODS) as [EtcdServiceName, Record<string, string>][]) {
      const full = SERVICE_NAMES[service];
      const def = protos.services[service] as unknown as Record<string, AnyMethod & { requestType: { type: { name: string } }; responseType: { type: { name: string } } }>;
      assert.deepEqual(Object.keys(def).sort(), Object.keys(methods).sort(), `${full} methods`);
      for (const [name, sig] of Object.entries(methods)) {
        const m = def[name];
        assert.ok(m);
        assert.equal(m.path, `/${full}/${name}`);
        const got = `${m.requestStream ? '*' : ''}${m.requestType.type.name}>${m.responseStream ? '*' : ''}${m.responseType.type.name}`;
        assert.equal(got, sig, `${full}/${name}`);
      }
      assert.equal(typeof protos.clients[service], 'function');
    }
  });

  it('gives every message field etcd\'s tag and type', () => {
    for (const [message, fields] of Object.entries(EXPECTED_FIELDS)) {
      assert.equal(describeFields(message), fields, message);
    }
  });

  it('gives every enum etcd\'s values', () => {
    for (const [name, values] of Object.entries(EXPECTED_ENUMS)) {
      assert.equal(enumValues(name), values, name);
    }
  });

  it('encodes bytes exactly as protobuf specifies (spot check of tags on the wire)', () => {
    // RangeRequest{key:'a', limit:5, sort_order:DESCEND, count_only:true, max_create_revision:1}
    const range = method('KV', 'Range').requestSerialize({
      key: b('a'),
      limit: 5,
      sort_order: 'DESCEND',
      count_only: true,
      max_create_revision: 1,
    } satisfies Init<RangeRequest<Int64Like>>);
    assert.equal(range.toString('hex'), '0a0161' + '1805' + '2802' + '4801' + '6801');
    // Compare{key:'k', version:0}: the oneof member keeps presence at its zero value.
    const txn = method('KV', 'Txn').requestSerialize({ compare: [{ key: b('k'), version: 0 }] });
    assert.equal(txn.toString('hex'), '0a05' + '1a016b' + '2000');
    // Compare.range_end is tag 64: varint key (64<<3|2) = 0x202 -> 82 04.
    const ranged = method('KV', 'Txn').requestSerialize({ compare: [{ key: b('k'), range_end: b('l') }] });
    assert.equal(ranged.toString('hex'), '0a07' + '1a016b' + '8204016c');
    // WatchResponse.events is tag 11: key 0x5a.
    const watch = method('Watch', 'Watch').responseSerialize({ events: [{ type: 'DELETE' }] });
    assert.equal(watch.toString('hex'), '5a020801');
  });

  it('round-trips KV messages with defaults, 64-bit strings and oneofs', () => {
    const range = roundTripRequest<RangeRequest>('KV', 'Range', { key: b('a'), range_end: b('b'), revision: 9007199254740993n });
    assert.deepEqual(range.key, b('a'));
    assert.equal(range.revision, '9007199254740993', 'beyond 2^53 survives exactly');
    assert.equal(range.limit, '0');
    assert.equal(range.sort_order, 'NONE');
    assert.equal(range.serializable, false);
    assert.deepEqual(range.min_mod_revision, '0');

    const resp = roundTripResponse<RangeResponse>('KV', 'Range', {
      header: { cluster_id: '18446744073709551615', member_id: 1, revision: 7, raft_term: 2 },
      kvs: [{ key: b('a'), value: b('1'), create_revision: 3, mod_revision: 7, version: 2, lease: '-1' }],
      count: 1,
    });
    assert.deepEqual(resp.header, { cluster_id: '18446744073709551615', member_id: '1', revision: '7', raft_term: '2' });
    assert.equal(resp.kvs.length, 1);
    assert.deepEqual(resp.kvs[0], { key: b('a'), value: b('1'), create_revision: '3', mod_revision: '7', version: '2', lease: '-1' });
    assert.equal(resp.more, false);
    assert.equal(resp.count, '1');

    const empty = roundTripResponse<RangeResponse>('KV', 'Range', {});
    assert.equal(empty.header, null, 'unset message fields decode to null');
    assert.deepEqual(empty.kvs, []);

    const txn = roundTripRequest<TxnRequest>('KV', 'Txn', {
      compare: [
        { result: 'EQUAL', target: 'VERSION', key: b('x'), version: 0 },
        { result: 'NOT_EQUAL', target: 'VALUE', key: b('y'), value: b('v') },
        { result: 'LESS', target: 'LEASE', key: b('z'), lease: 5 },
      ],
      success: [
        { request_put: { key: b('x'), value: b('1'), lease: '7' } },
        { request_txn: { success: [{ request_range: { key: b('x') } }] } },
      ],
      failure: [{ request_delete_range: { key: b('x'), prev_kv: true } }],
    });
    const [c0, c1, c2] = txn.compare;
    assert.equal(c0?.target_union, 'version');
    assert.equal(c0?.version, '0');
    assert.equal(c0?.value, undefined, 'unset oneof members are absent');
    assert.equal(c1?.target_union, 'value');
    assert.deepEqual(c1?.value, b('v'));
    assert.equal(c1?.result, 'NOT_EQUAL');
    assert.equal(c2?.target_union, 'lease');
    assert.equal(c2?.target, 'LEASE');
    const [put, nested] = txn.success;
    assert.ok(put?.request === 'request_put');
    assert.equal(put.request_put.lease, '7');
    assert.ok(nested?.request === 'request_txn');
    const inner = nested.request_txn.success[0];
    assert.ok(inner?.request === 'request_range');
    assert.deepEqual(inner.request_range.key, b('x'));
    const del = txn.failure[0];
    assert.ok(del?.request === 'request_delete_range');
    assert.equal(del.request_delete_range.prev_kv, true);

    const tresp = roundTripResponse<TxnResponse>('KV', 'Txn', {
      succeeded: true,
      responses: [{ response_put: { prev_kv: { key: b('x') } } }, { response_delete_range: { deleted: 2 } }],
    });
    assert.equal(tresp.succeeded, true);
    assert.ok(tresp.responses[0]?.response === 'response_put');
    assert.deepEqual(tresp.responses[0].response_put.prev_kv?.key, b('x'));
    assert.ok(tresp.responses[1]?.response === 'response_delete_range');
    assert.equal(tresp.responses[1].response_delete_range.deleted, '2');
  });

  it('round-trips watch, lease, maintenance, lock and election messages', () => {
    const create = roundTripRequest<WatchRequest>('Watch', 'Watch', {
      create_request: { key: b('a'), range_end: b('\0'), start_revision: 4, filters: ['NODELETE'], prev_kv: true, watch_id: 3 },
    });
    assert.ok(create.request_union === 'create_request');
    assert.deepEqual(create.create_request.filters, ['NODELETE']);
    assert.equal(create.create_request.start_revision, '4');
    const cancel = roundTripRequest<WatchRequest>('Watch', 'Watch', { cancel_request: { watch_id: 3 } });
    assert.ok(cancel.request_union === 'cancel_request');
    assert.equal(cancel.cancel_request.watch_id, '3');
    const progress = roundTripRequest<WatchRequest>('Watch', 'Watch', { progress_request: {} });
    assert.equal(progress.request_union, 'progress_request');

    const wresp = roundTripResponse<WatchResponse>('Watch', 'Watch', {
      watch_id: 3,
      created: true,
      cancel_reason: 'x',
      compact_revision: 2,
      fragment: true,
      events: [
        { type: 'PUT', kv: { key: b('a'), mod_revision: 5 } },
        { type: 'DELETE', kv: { key: b('a') }, prev_kv: { key: b('a'), value: b('old') } },
      ],
    });
    assert.equal(wresp.watch_id, '3');
    assert.equal(wresp.events[0]?.type, 'PUT');
    assert.equal(wresp.events[0]?.prev_kv, null);
    assert.equal(wresp.events[1]?.type, 'DELETE');
    assert.deepEqual(wresp.events[1]?.prev_kv?.value, b('old'));
    assert.deepEqual([wresp.created, wresp.canceled, wresp.fragment, wresp.cancel_reason, wresp.compact_revision], [true, false, true, 'x', '2']);

    const ttl = roundTripResponse<LeaseTimeToLiveResponse>('Lease', 'LeaseTimeToLive', {
      ID: '7587862072415964161',
      TTL: -1,
      grantedTTL: 60,
      keys: [b('k1'), b('k2')],
    });
    assert.deepEqual([ttl.ID, ttl.TTL, ttl.grantedTTL], ['7587862072415964161', '-1', '60']);
    assert.deepEqual(ttl.keys, [b('k1'), b('k2')]);

    const status = roundTripResponse<StatusResponse>('Maintenance', 'Status', {
      version: '3.5.0',
      dbSize: 4096,
      leader: '10276657743932975437',
      raftIndex: 9,
      raftTerm: 2,
      raftAppliedIndex: 9,
      errors: ['e'],
      isLearner: false,
      downgradeInfo: { enabled: false, targetVersion: '' },
    });
    assert.equal(status.leader, '10276657743932975437');
    assert.deepEqual(status.errors, ['e']);
    assert.equal(status.dbSizeInUse, '0');
    assert.deepEqual(status.downgradeInfo, { enabled: false, targetVersion: '' });

    const alarm = roundTripResponse<AlarmResponse>('Maintenance', 'Alarm', { alarms: [{ memberID: 1, alarm: 'NOSPACE' }] });
    assert.deepEqual(alarm.alarms, [{ memberID: '1', alarm: 'NOSPACE' }]);
    const hash = roundTripResponse<HashKVResponse>('Maintenance', 'HashKV', { hash: 4294967295, compact_revision: 1, hash_revision: 2 });
    assert.deepEqual([hash.hash, hash.compact_revision, hash.hash_revision], [4294967295, '1', '2']);
    const snap = roundTripResponse<SnapshotResponse>('Maintenance', 'Snapshot', { remaining_bytes: 10, blob: b('xyz') });
    assert.deepEqual([snap.remaining_bytes, snap.blob], ['10', b('xyz')]);

    const members = roundTripResponse<MembersResponse>('Cluster', 'MemberList', {
      members: [{ ID: '18446744073709551615', name: 'n1', peerURLs: ['http://p'], clientURLs: ['http://c'], isLearner: true }],
    });
    assert.deepEqual(members.members, [{ ID: '18446744073709551615', name: 'n1', peerURLs: ['http://p'], clientURLs: ['http://c'], isLearner: true }]);

    const lock = roundTripResponse<LockResponse>('Lock', 'Lock', { key: b('lock/694d'), header: { revision: 3 } });
    assert.deepEqual(lock.key, b('lock/694d'));
    assert.equal(lock.header?.revision, '3');
    const campaign = roundTripResponse<CampaignResponse>('Election', 'Campaign', {
      leader: { name: b('e'), key: b('e/1'), rev: 12, lease: 99 },
    });
    assert.deepEqual(campaign.leader, { name: b('e'), key: b('e/1'), rev: '12', lease: '99' });
    const leader = roundTripResponse<LeaderResponse>('Election', 'Observe', { kv: { key: b('e/1'), value: b('v') } });
    assert.deepEqual(leader.kv?.value, b('v'));
  });

  it('converts 64-bit integers exactly and rejects what does not fit', () => {
    assert.equal(int64(5), '5');
    assert.equal(int64(-1n), '-1');
    assert.equal(int64('9223372036854775807'), '9223372036854775807');
    assert.throws(() => int64('9223372036854775808'), RangeError);
    assert.throws(() => int64(1.5), RangeError);
    assert.throws(() => int64('0x10'), RangeError);
    assert.equal(uint64('18446744073709551615'), '18446744073709551615');
    assert.throws(() => uint64(-1), RangeError);
    assert.equal(toBigInt('18446744073709551615'), 18446744073709551615n);
    assert.equal(toSafeNumber('9007199254740991'), 9007199254740991);
    assert.throws(() => toSafeNumber('9007199254740992'), RangeError);
  });
});

// ------------------------------------------------------------------ real etcd

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

const ETCD = findOnPath('etcd');
const ETCDCTL = findOnPath('etcdctl');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

type Callback = (err: grpc.ServiceError | null, res?: unknown) => void;
type UnaryFn = (req: object, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => grpc.ClientUnaryCall;

function unary<T>(client: grpc.Client, name: string, req: object, timeoutMs = 5000): Promise<T> {
  const fn = (client as unknown as Record<string, UnaryFn | undefined>)[name];
  assert.ok(fn, `client method ${name}`);
  return new Promise<T>((resolve, reject) => {
    fn.call(client, req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res as T),
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function etcdctlJson(endpoint: string, args: string[]): string {
  assert.ok(ETCDCTL);
  const out = spawnSync(ETCDCTL, ['--endpoints', endpoint, '-w', 'json', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
    timeout: 10_000,
  });
  assert.equal(out.status, 0, `etcdctl ${args.join(' ')}: ${out.stderr}`);
  return out.stdout;
}

/** A numeric JSON field read as text, so uint64 values keep every digit. */
function jsonNumber(text: string, field: string): string {
  const m = new RegExp(`"${field}":(-?\\d+)`).exec(text);
  assert.ok(m?.[1], `${field} in ${text}`);
  return m[1];
}

describe('against a real etcd', { skip: ETCD ? false : 'etcd is not installed (apt-get install etcd-server etcd-client to run this part)' }, () => {
  let child: ChildProcess | undefined;
  let dataDir = '';
  let endpoint = '';
  const clients: Partial<Record<EtcdServiceName, grpc.Client>> = {};
  const client = (name: EtcdServiceName): grpc.Client => {
    const existing = clients[name];
    if (existing) return existing;
    const made = new protos.clients[name](endpoint, grpc.credentials.createInsecure());
    clients[name] = made;
    return made;
  };

  before(async () => {
    assert.ok(ETCD);
    dataDir = mkdtempSync(join(tmpdir(), 'synod-proto-etcd-'));
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    endpoint = `127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    child = spawn(
      ETCD,
      [
        '--name', 'proto-test',
        '--data-dir', join(dataDir, 'data'),
        '--listen-client-urls', `http://${endpoint}`,
        '--advertise-client-urls', `http://${endpoint}`,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `proto-test=${peer}`,
        '--logger', 'zap',
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`etcd exited early (${child.exitCode}): ${stderr}`);
      try {
        await unary<StatusResponse>(client('Maintenance'), 'Status', {}, 1000);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`etcd not ready after 30s: ${stderr}`, { cause: err });
        await sleep(200);
      }
    }
  });

  after(async () => {
    for (const c of Object.values(clients)) c.close();
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child?.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('Put and Range: revisions increase and key-values come back', async () => {
    const kv = client('KV');
    const p1 = await unary<PutResponse>(kv, 'Put', { key: b('proto/a'), value: b('one') });
    const p2 = await unary<PutResponse>(kv, 'Put', { key: b('proto/a'), value: b('two'), prev_kv: true });
    const r1 = toBigInt(p1.header?.revision ?? '0');
    const r2 = toBigInt(p2.header?.revision ?? '0');
    assert.ok(r1 > 1n, `first revision ${r1}`);
    assert.equal(r2, r1 + 1n);
    assert.deepEqual(p2.prev_kv?.value, b('one'));
    assert.notEqual(p1.header?.cluster_id, '0');
    assert.notEqual(p1.header?.member_id, '0');
    assert.notEqual(p1.header?.raft_term, '0');

    await unary<PutResponse>(kv, 'Put', { key: b('proto/b'), value: b('bee') });
    const range = await unary<RangeResponse>(kv, 'Range', { key: b('proto/'), range_end: b('proto0'), sort_order: 'DESCEND' });
    assert.equal(range.count, '2');
    assert.deepEqual(range.kvs.map((x) => x.key.toString()), ['proto/b', 'proto/a']);
    const a = range.kvs[1];
    assert.ok(a);
    assert.deepEqual(a.value, b('two'));
    assert.equal(a.version, '2');
    assert.equal(a.create_revision, r1.toString());
    assert.equal(a.mod_revision, r2.toString());
    assert.equal(a.lease, '0');

    const limited = await unary<RangeResponse>(kv, 'Range', { key: b('proto/'), range_end: b('proto0'), limit: 1, keys_only: true });
    assert.equal(limited.more, true);
    assert.equal(limited.kvs.length, 1);
    assert.equal(limited.kvs[0]?.value.length, 0);
    const old = await unary<RangeResponse>(kv, 'Range', { key: b('proto/a'), revision: r1.toString() });
    assert.deepEqual(old.kvs[0]?.value, b('one'), 'revision field selects history');

    if (ETCDCTL) {
      const text = etcdctlJson(endpoint, ['get', 'proto/a']);
      const fresh = await unary<RangeResponse>(kv, 'Range', { key: b('proto/a') });
      assert.equal(jsonNumber(text, 'cluster_id'), fresh.header?.cluster_id);
      assert.equal(jsonNumber(text, 'member_id'), fresh.header?.member_id);
      assert.equal(jsonNumber(text, 'revision'), fresh.header?.revision);
      assert.equal(jsonNumber(text, 'raft_term'), fresh.header?.raft_term);
      assert.equal(jsonNumber(text, 'create_revision'), a.create_revision);
      assert.equal(jsonNumber(text, 'mod_revision'), a.mod_revision);
      assert.equal(jsonNumber(text, 'version'), '2');
      assert.match(text, new RegExp(`"key":"${b('proto/a').toString('base64')}"`));
      assert.match(text, new RegExp(`"value":"${b('two').toString('base64')}"`));
    }
  });

  it('Txn: compares, oneof ops and nested responses', async () => {
    const kv = client('KV');
    const created = await unary<TxnResponse>(kv, 'Txn', {
      compare: [{ result: 'EQUAL', target: 'VERSION', key: b('proto/txn'), version: 0 }],
      success: [{ request_put: { key: b('proto/txn'), value: b('x') } }, { request_range: { key: b('proto/txn') } }],
      failure: [{ request_range: { key: b('proto/txn') } }],
    });
    assert.equal(created.succeeded, true, 'version == 0 on a missing key');
    assert.ok(created.responses[0]?.response === 'response_put');
    const read = created.responses[1];
    assert.ok(read?.response === 'response_range');
    assert.deepEqual(read.response_range.kvs[0]?.value, b('x'));
    const rev = created.header?.revision ?? '0';
    assert.equal(read.response_range.kvs[0]?.mod_revision, rev);

    const again = await unary<TxnResponse>(kv, 'Txn', {
      compare: [{ result: 'EQUAL', target: 'VERSION', key: b('proto/txn'), version: 0 }],
      success: [{ request_put: { key: b('proto/txn'), value: b('y') } }],
      failure: [{ request_delete_range: { key: b('proto/txn'), prev_kv: true } }],
    });
    assert.equal(again.succeeded, false);
    const del = again.responses[0];
    assert.ok(del?.response === 'response_delete_range');
    assert.equal(del.response_delete_range.deleted, '1');
    assert.deepEqual(del.response_delete_range.prev_kvs[0]?.value, b('x'));

    const mod = await unary<TxnResponse>(kv, 'Txn', {
      compare: [{ result: 'LESS', target: 'MOD', key: b('proto/'), range_end: b('proto0'), mod_revision: '1000000' }],
      success: [{ request_txn: { success: [{ request_range: { key: b('proto/b') } }] } }],
    });
    assert.equal(mod.succeeded, true, 'range_end (tag 64) compares the whole range');
    const nested = mod.responses[0];
    assert.ok(nested?.response === 'response_txn');
    const inner = nested.response_txn.responses[0];
    assert.ok(inner?.response === 'response_range');
    assert.deepEqual(inner.response_range.kvs[0]?.value, b('bee'));

    const deleted = await unary<DeleteRangeResponse>(kv, 'DeleteRange', { key: b('proto/b'), prev_kv: true });
    assert.equal(deleted.deleted, '1');
    assert.deepEqual(deleted.prev_kvs[0]?.key, b('proto/b'));
  });

  it('Lease: grant, attach, time-to-live, keep-alive, list, revoke', async () => {
    const lease = client('Lease');
    const grant = await unary<LeaseGrantResponse>(lease, 'LeaseGrant', { TTL: 60 });
    assert.notEqual(grant.ID, '0');
    assert.ok(toBigInt(grant.ID) > 0n);
    assert.equal(grant.TTL, '60');
    assert.equal(grant.error, '');
    await unary<PutResponse>(client('KV'), 'Put', { key: b('proto/leased'), value: b('v'), lease: grant.ID });
    const got = await unary<RangeResponse>(client('KV'), 'Range', { key: b('proto/leased') });
    assert.equal(got.kvs[0]?.lease, grant.ID, 'a full-range lease ID survives as a string');

    const ttl = await unary<LeaseTimeToLiveResponse>(lease, 'LeaseTimeToLive', { ID: grant.ID, keys: true });
    assert.equal(ttl.ID, grant.ID);
    assert.equal(ttl.grantedTTL, '60');
    assert.ok(toSafeNumber(ttl.TTL) > 0 && toSafeNumber(ttl.TTL) <= 60);
    assert.deepEqual(ttl.keys, [b('proto/leased')]);

    const stream = (lease as unknown as { LeaseKeepAlive(opts: grpc.CallOptions): grpc.ClientDuplexStream<object, LeaseKeepAliveResponse> })
      .LeaseKeepAlive({ deadline: Date.now() + 5000 });
    const first = new Promise<LeaseKeepAliveResponse>((resolve, reject) => {
      stream.once('data', resolve);
      stream.once('error', reject);
    });
    stream.write({ ID: grant.ID });
    const ka = await first;
    stream.cancel();
    stream.on('error', () => undefined);
    assert.equal(ka.ID, grant.ID);
    assert.equal(ka.TTL, '60');

    const list = await unary<{ leases: { ID: string }[] }>(lease, 'LeaseLeases', {});
    assert.ok(list.leases.some((l) => l.ID === grant.ID));
    await unary<object>(lease, 'LeaseRevoke', { ID: grant.ID });
    const gone = await unary<RangeResponse>(client('KV'), 'Range', { key: b('proto/leased') });
    assert.equal(gone.kvs.length, 0, 'revoking deletes attached keys');
  });

  it('Watch: create, receive events with prev_kv, cancel', async () => {
    const watch = (client('Watch') as unknown as { Watch(opts: grpc.CallOptions): grpc.ClientDuplexStream<object, WatchResponse> })
      .Watch({ deadline: Date.now() + 10_000 });
    const responses: WatchResponse[] = [];
    const waiters: (() => void)[] = [];
    watch.on('data', (r: WatchResponse) => {
      responses.push(r);
      waiters.splice(0).forEach((w) => w());
    });
    watch.on('error', () => undefined);
    const next = async (pred: (r: WatchResponse) => boolean): Promise<WatchResponse> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = responses.find(pred);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`watch: timed out, got ${JSON.stringify(responses)}`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), sleep(200)]);
      }
    };
    watch.write({ create_request: { key: b('proto/w'), prev_kv: true, watch_id: 0 } });
    const created = await next((r) => r.created);
    const id = created.watch_id;
    await unary<PutResponse>(client('KV'), 'Put', { key: b('proto/w'), value: b('1') });
    await unary<PutResponse>(client('KV'), 'Put', { key: b('proto/w'), value: b('2') });
    await unary<DeleteRangeResponse>(client('KV'), 'DeleteRange', { key: b('proto/w') });
    const events = async () => {
      await next(() => responses.flatMap((r) => r.events).length >= 3);
      return responses.filter((r) => r.watch_id === id).flatMap((r) => r.events);
    };
    const evs = await events();
    assert.deepEqual(evs.map((e) => e.type), ['PUT', 'PUT', 'DELETE']);
    assert.deepEqual(evs[0]?.kv?.value, b('1'));
    assert.equal(evs[0]?.kv?.version, '1');
    assert.deepEqual(evs[1]?.prev_kv?.value, b('1'));
    assert.deepEqual(evs[2]?.kv?.key, b('proto/w'));
    assert.deepEqual(evs[2]?.prev_kv?.value, b('2'));
    watch.write({ cancel_request: { watch_id: id } });
    const canceled = await next((r) => r.canceled);
    assert.equal(canceled.watch_id, id);
    watch.end();
    watch.cancel();
  });

  it('Maintenance and Cluster: Status, Alarm, HashKV, MemberList agree with etcdctl', async () => {
    const status = await unary<StatusResponse>(client('Maintenance'), 'Status', {});
    assert.match(status.version, /^3\.\d+\.\d+/);
    assert.equal(status.leader, status.header?.member_id, 'single member leads');
    assert.ok(toBigInt(status.raftIndex) > 0n);
    assert.ok(toBigInt(status.raftTerm) > 0n);
    assert.ok(toBigInt(status.dbSize) > 0n);
    assert.equal(status.isLearner, false);
    assert.deepEqual(status.errors, []);

    const members = await unary<MembersResponse>(client('Cluster'), 'MemberList', {});
    assert.equal(members.members.length, 1);
    const me = members.members[0];
    assert.ok(me);
    assert.equal(me.ID, status.header?.member_id);
    assert.equal(me.name, 'proto-test');
    assert.deepEqual(me.clientURLs, [`http://${endpoint}`]);
    assert.equal(me.isLearner, false);

    const alarms = await unary<AlarmResponse>(client('Maintenance'), 'Alarm', { action: 'GET', memberID: 0, alarm: 'NONE' });
    assert.deepEqual(alarms.alarms, []);
    const hash = await unary<HashKVResponse>(client('Maintenance'), 'HashKV', { revision: 0 });
    assert.equal(typeof hash.hash, 'number');
    assert.ok(hash.hash > 0);

    if (ETCDCTL) {
      const st = etcdctlJson(endpoint, ['endpoint', 'status']);
      assert.equal(jsonNumber(st, 'leader'), status.leader);
      assert.equal(jsonNumber(st, 'member_id'), status.header?.member_id);
      assert.equal(jsonNumber(st, 'cluster_id'), status.header?.cluster_id);
      assert.match(st, new RegExp(`"version":"${status.version.replace(/\./g, '\\.')}"`));
      const ml = etcdctlJson(endpoint, ['member', 'list']);
      assert.equal(jsonNumber(ml, 'ID'), me.ID);
    }
  });

  it('Snapshot streams chunks', async () => {
    const call = (client('Maintenance') as unknown as { Snapshot(req: object, opts: grpc.CallOptions): grpc.ClientReadableStream<SnapshotResponse> })
      .Snapshot({}, { deadline: Date.now() + 10_000 });
    let bytes = 0;
    let last: SnapshotResponse | undefined;
    await new Promise<void>((resolve, reject) => {
      call.on('data', (r: SnapshotResponse) => {
        bytes += r.blob.length;
        last = r;
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    assert.ok(bytes > 0);
    assert.equal(last?.remaining_bytes, '0');
  });

  it('Lock and Election services answer on the client port', async () => {
    const grant = await unary<LeaseGrantResponse>(client('Lease'), 'LeaseGrant', { TTL: 30 });
    const lock = await unary<LockResponse>(client('Lock'), 'Lock', { name: b('proto-lock'), lease: grant.ID });
    assert.ok(lock.key.toString().startsWith('proto-lock/'), lock.key.toString());
    await unary<object>(client('Lock'), 'Unlock', { key: lock.key });

    const camp = await unary<CampaignResponse>(client('Election'), 'Campaign', { name: b('proto-elect'), lease: grant.ID, value: b('me') });
    assert.ok(camp.leader);
    assert.equal(camp.leader.lease, grant.ID);
    assert.ok(toBigInt(camp.leader.rev) > 0n);
    await unary<object>(client('Election'), 'Proclaim', { leader: camp.leader, value: b('me2') });
    const leader = await unary<LeaderResponse>(client('Election'), 'Leader', { name: b('proto-elect') });
    assert.deepEqual(leader.kv?.value, b('me2'));
    assert.deepEqual(leader.kv?.key, camp.leader.key);
    await unary<object>(client('Election'), 'Resign', { leader: camp.leader });
    await unary<object>(client('Lease'), 'LeaseRevoke', { ID: grant.ID });
  });

  it('Auth status: a valid answer, or Unimplemented on etcd older than 3.5', async () => {
    try {
      const res = await unary<{ enabled: boolean }>(client('Auth'), 'AuthStatus', {});
      assert.equal(res.enabled, false);
    } catch (err) {
      assert.equal((err as grpc.ServiceError).code, grpc.status.UNIMPLEMENTED);
    }
  });
});

// ------------------------------------------------------------------ etcdctl against these protos

interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs etcdctl without blocking the event loop (the server under test lives in this process). */
function etcdctl(endpoint: string, args: string[], input = '', timeoutMs = 10_000): Promise<CtlResult> {
  assert.ok(ETCDCTL);
  return new Promise((resolve) => {
    const proc = spawn(ETCDCTL, ['--endpoints', endpoint, '--command-timeout=3s', ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    proc.stdin.end(input);
  });
}

type Handler = (call: { request: unknown }, cb: grpc.sendUnaryData<object>) => void;

describe('etcdctl against a grpc-js server built from these protos', { skip: ETCDCTL ? false : 'etcdctl is not installed' }, () => {
  const server = new grpc.Server();
  const seen: { method: string; request: unknown }[] = [];
  let endpoint = '';
  const header = { cluster_id: '18446744073709551615', member_id: '12345678901234567890', revision: 42, raft_term: 3 };
  const record = (method: string, reply: (req: never) => object): Handler => (call, cb) => {
    seen.push({ method, request: call.request });
    cb(null, reply(call.request as never));
  };
  const lastRequest = <T>(method: string): T => {
    const hit = seen.filter((s) => s.method === method).pop();
    assert.ok(hit, `server saw ${method}`);
    return hit.request as T;
  };

  before(async () => {
    server.addService(protos.services.KV, {
      Range: record('Range', (req: RangeRequest) => ({
        header,
        kvs: [{ key: req.key, value: b('val'), create_revision: 2, mod_revision: 42, version: 5, lease: '7587862072415964161' }],
        count: 1,
      })),
      Put: record('Put', () => ({ header, prev_kv: { key: b('foo'), value: b('old'), mod_revision: 41 } })),
      DeleteRange: record('DeleteRange', () => ({ header, deleted: 1 })),
      Txn: record('Txn', () => ({ header, succeeded: true, responses: [{ response_put: { header } }] })),
    });
    server.addService(protos.services.Lease, {
      LeaseGrant: record('LeaseGrant', (req: { TTL: string }) => ({ header, ID: '7587862072415964161', TTL: req.TTL })),
    });
    server.addService(protos.services.Maintenance, {
      Status: record('Status', () => ({
        header,
        version: '3.5.0',
        dbSize: 20480,
        leader: header.member_id,
        raftIndex: 10,
        raftTerm: 3,
        raftAppliedIndex: 10,
      })),
    });
    server.addService(protos.services.Watch, {
      Watch: (call: grpc.ServerDuplexStream<WatchRequest, object>) => {
        call.on('data', (req: WatchRequest) => {
          seen.push({ method: 'Watch', request: req });
          if (req.request_union !== 'create_request') return;
          call.write({ header, watch_id: 0, created: true });
          call.write({ header, watch_id: 0, events: [{ type: 'PUT', kv: { key: req.create_request.key, value: b('hello'), mod_revision: 43 } }] });
        });
        call.on('error', () => undefined);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    endpoint = `127.0.0.1:${port}`;
  });

  after(() => {
    server.forceShutdown();
  });

  it('put/get/del decode on the server, and etcdctl reads the answers', async () => {
    const put = await etcdctl(endpoint, ['put', 'foo', 'bar', '--prev-kv']);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^OK\nfoo\nold\n/);
    assert.deepEqual(lastRequest<object>('Put'), {
      key: b('foo'), value: b('bar'), lease: '0', prev_kv: true, ignore_value: false, ignore_lease: false,
    });

    const get = await etcdctl(endpoint, ['get', 'foo', '-w', 'json']);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(jsonNumber(get.stdout, 'cluster_id'), '18446744073709551615');
    assert.equal(jsonNumber(get.stdout, 'member_id'), '12345678901234567890');
    assert.equal(jsonNumber(get.stdout, 'lease'), '7587862072415964161');
    assert.equal(jsonNumber(get.stdout, 'version'), '5');
    assert.match(get.stdout, /"value":"dmFs"/);

    const ranged = await etcdctl(endpoint, ['get', 'foo', '--prefix', '--limit=3', '--order=DESCEND', '--sort-by=MODIFY', '--rev=7']);
    assert.equal(ranged.code, 0, ranged.stderr);
    const req = lastRequest<RangeRequest>('Range');
    assert.deepEqual([req.range_end, req.limit, req.revision, req.sort_order, req.sort_target], [b('fop'), '3', '7', 'DESCEND', 'MOD']);

    const del = await etcdctl(endpoint, ['del', 'foo']);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout.trim(), '1');
  });

  it('txn compares keep their oneof member, even at zero', async () => {
    const txn = await etcdctl(endpoint, ['txn'], 'mod("foo") > "0"\nversion("bar") = "0"\nvalue("baz") != "q"\n\nput foo x\nget bar\n\ndel foo\n\n');
    assert.equal(txn.code, 0, txn.stderr);
    assert.match(txn.stdout, /^SUCCESS/);
    const req = lastRequest<TxnRequest>('Txn');
    const [mod, ver, val] = req.compare;
    assert.deepEqual([mod?.target, mod?.result, mod?.target_union, mod?.mod_revision], ['MOD', 'GREATER', 'mod_revision', '0']);
    assert.deepEqual([ver?.target, ver?.result, ver?.target_union, ver?.version], ['VERSION', 'EQUAL', 'version', '0']);
    assert.deepEqual([val?.target, val?.result, val?.target_union, val?.value], ['VALUE', 'NOT_EQUAL', 'value', b('q')]);
    assert.deepEqual(req.success.map((op) => op.request), ['request_put', 'request_range']);
    assert.deepEqual(req.failure.map((op) => op.request), ['request_delete_range']);
  });

  it('lease grant and endpoint status show the 64-bit IDs intact', async () => {
    const grant = await etcdctl(endpoint, ['lease', 'grant', '60']);
    assert.equal(grant.code, 0, grant.stderr);
    assert.match(grant.stdout, new RegExp(`lease ${(7587862072415964161n).toString(16)} granted with TTL\\(60s\\)`));
    assert.deepEqual(lastRequest<object>('LeaseGrant'), { TTL: '60', ID: '0' });

    const status = await etcdctl(endpoint, ['endpoint', 'status', '-w', 'json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(jsonNumber(status.stdout, 'leader'), '12345678901234567890');
    assert.equal(jsonNumber(status.stdout, 'raftAppliedIndex'), '10');
    assert.match(status.stdout, /"version":"3\.5\.0"/);
  });

  it('watch: the create request decodes and etcdctl prints the event', async () => {
    const watched = await etcdctl(endpoint, ['watch', 'wkey', '--prefix', '--prev-kv', '--rev=5'], '', 3000);
    // etcdctl watch never exits by itself; the timeout kills it after it printed.
    assert.match(watched.stdout, /PUT\nwkey\nhello/);
    const req = lastRequest<WatchRequest>('Watch');
    assert.ok(req.request_union === 'create_request');
    assert.deepEqual(req.create_request.key, b('wkey'));
    assert.deepEqual(req.create_request.range_end, b('wkez'));
    assert.equal(req.create_request.start_revision, '5');
    assert.equal(req.create_request.prev_kv, true);
  });
});
