/**
 * etcd's Cluster and Maintenance services: enough for `etcdctl member list` and
 * `etcdctl endpoint status` to work, mapping Paxos terms onto etcd's fields
 * (raft term = the ballot's round, raft index = the decided slot).
 */
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../../core/ids.js';
import { memberIdOf } from '../identity.js';
import type { SynodNode } from '../node.js';
import type * as pb from '../proto.js';
import { headerToPb } from './convert.js';
import { headerIds, unary } from './kv-service.js';

/** The etcd API version Synod speaks; etcdctl reads this from Status. */
export const ETCD_API_VERSION = '3.5.0';

function url(address: { host: string; port: number }): string {
  return `http://${address.host}:${address.port}`;
}

export function membersOf(node: SynodNode): pb.Init<pb.Member<pb.Int64Like>>[] {
  const config = node.config;
  return [...config.initialCluster].map(([name, peer]) => {
    const client = config.clientUrls.get(name as NodeId);
    return {
      ID: memberIdOf(config.clusterToken, name).toString(),
      name,
      peerURLs: [url(peer)],
      clientURLs: client === undefined ? [] : [url(client)],
      isLearner: false,
    };
  });
}

function unimplemented(what: string): grpc.handleUnaryCall<unknown, unknown> {
  return (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: `${what} is not supported by Synod` } as grpc.ServiceError);
}

export function clusterService(node: SynodNode): grpc.UntypedServiceImplementation {
  return {
    MemberList: unary<pb.MemberListRequest, pb.Init<pb.MembersResponse<pb.Int64Like>>>(async () => ({
      header: headerToPb(headerIds(node), node.stateMachine.currentRevision),
      members: membersOf(node),
    })),
    MemberAdd: unimplemented('member add'),
    MemberRemove: unimplemented('member remove'),
    MemberUpdate: unimplemented('member update'),
    MemberPromote: unimplemented('member promote'),
  };
}

export function maintenanceService(node: SynodNode): grpc.UntypedServiceImplementation {
  return {
    Status: unary<pb.EmptyRequest, pb.Init<pb.StatusResponse<pb.Int64Like>>>(async () => {
      const status = node.status();
      const leaderId = status.leader === null ? '0' : memberIdOf(node.config.clusterToken, status.leader).toString();
      const size = status.wal.bytesWritten;
      return {
        header: headerToPb(headerIds(node), status.revision),
        version: ETCD_API_VERSION,
        dbSize: String(size),
        dbSizeInUse: String(size),
        leader: leaderId,
        raftIndex: String(status.decidedThrough),
        raftTerm: String(node.header().raftTerm),
        raftAppliedIndex: String(status.appliedThrough),
        errors: [],
        isLearner: false,
      };
    }),
    Alarm: unary<pb.AlarmRequest, pb.Init<pb.AlarmResponse<pb.Int64Like>>>(async () => ({
      header: headerToPb(headerIds(node), node.stateMachine.currentRevision),
      alarms: [],
    })),
    HashKV: unary<pb.HashKVRequest, pb.Init<pb.HashKVResponse<pb.Int64Like>>>(async () => ({
      header: headerToPb(headerIds(node), node.stateMachine.currentRevision),
      hash: Number.parseInt(node.stateMachine.digest().slice(0, 8), 16) >>> 0,
      compact_revision: String(node.stateMachine.compactRevision),
    })),
    Defragment: unary<pb.EmptyRequest, pb.Init<pb.HeaderOnlyResponse<pb.Int64Like>>>(async () => ({
      header: headerToPb(headerIds(node), node.stateMachine.currentRevision),
    })),
    Hash: unimplemented('hash'),
    Snapshot: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      call.destroy(Object.assign(new Error('snapshot is not supported by Synod'), { code: grpc.status.UNIMPLEMENTED }));
    },
    MoveLeader: unimplemented('move leader'),
    Downgrade: unimplemented('downgrade'),
  };
}
