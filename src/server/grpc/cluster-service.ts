/**
 * etcd's Cluster and Maintenance services. Membership changes go through the
 * log as configuration changes (core/multipaxos/membership.ts); the member
 * list is the newest configuration this member knows. Paxos terms map onto
 * etcd's fields: raft term = the ballot's round, raft index = the decided slot.
 */
import * as grpc from '@grpc/grpc-js';
import type { NodeId } from '../../core/ids.js';
import type { Membership } from '../../core/multipaxos/types.js';
import { ReconfigureError } from '../../smr/driver.js';
import { encodeInfo, hostPortOf, memberIdOfNode, nodeIdForPeerUrl, normalizeUrl, withMember, withoutMember, type MemberView } from '../membership.js';
import type { SynodNode } from '../node.js';
import type * as pb from '../proto.js';
import { RequestError, headerToPb } from './convert.js';
import { headerIds, unary } from './kv-service.js';

/** The etcd API version Synod speaks; etcdctl reads this from Status. */
export const ETCD_API_VERSION = '3.5.0';

const FAILED_PRECONDITION = grpc.status.FAILED_PRECONDITION;

export function memberToPb(member: MemberView): pb.Init<pb.Member<pb.Int64Like>> {
  return { ID: member.id.toString(), name: member.name, peerURLs: [...member.peerURLs], clientURLs: [...member.clientURLs], isLearner: member.isLearner };
}

export function membersOf(node: SynodNode): pb.Init<pb.Member<pb.Int64Like>>[] {
  return node.members().map(memberToPb);
}

function unimplemented(what: string): grpc.handleUnaryCall<unknown, unknown> {
  return (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: `${what} is not supported by Synod` } as grpc.ServiceError);
}

/** etcd's error texts for the refusals a client can act on. */
function reconfigureFailure(error: unknown): unknown {
  if (!(error instanceof ReconfigureError)) return error;
  switch (error.reason) {
    case 'behind':
      return new RequestError(FAILED_PRECONDITION, 'etcdserver: can only promote a learner member which is in sync with leader');
    case 'invalid':
      return new RequestError(FAILED_PRECONDITION, 'etcdserver: re-configuration failed: the resulting membership would have no voting member');
    case 'in-progress':
    case 'stale':
      return new RequestError(grpc.status.UNAVAILABLE, 'etcdserver: unhealthy cluster: another membership change is in progress');
    case 'not-leader':
    case 'stepped-down':
      return new RequestError(grpc.status.UNAVAILABLE, 'etcdserver: leader changed');
  }
}

/** The node id of the member with etcd id `id` in `membership`, or a NOT_FOUND error. */
function memberById(node: SynodNode, membership: Membership, id: pb.Int64Like): NodeId {
  const wanted = BigInt(String(id));
  const found = membership.members.find((m) => memberIdOfNode(node.config.clusterToken, m.id) === wanted);
  if (found === undefined) throw new RequestError(grpc.status.NOT_FOUND, 'etcdserver: member not found');
  return found.id;
}

function peerUrlsFrom(request: { peerURLs: string[] }): string[] {
  if (request.peerURLs.length === 0) throw new RequestError(grpc.status.INVALID_ARGUMENT, 'etcdserver: peer URLs are required');
  return request.peerURLs.map((text) => {
    if (hostPortOf(text) === null) throw new RequestError(grpc.status.INVALID_ARGUMENT, `etcdserver: "${text}" is not an http://host:port peer URL`);
    return normalizeUrl(text);
  });
}

function peerUrlTaken(node: SynodNode, urls: readonly string[], except: NodeId | null): boolean {
  return node.members().some((m) => m.node !== except && m.peerURLs.some((u) => urls.includes(normalizeUrl(u))));
}

function changed(work: () => Promise<MemberView[]>): Promise<MemberView[]> {
  return work().catch((error: unknown) => {
    throw reconfigureFailure(error);
  });
}

export function clusterService(node: SynodNode): grpc.UntypedServiceImplementation {
  const header = (): pb.Init<pb.ResponseHeader<pb.Int64Like>> | null => headerToPb(headerIds(node), node.stateMachine.currentRevision);
  return {
    MemberList: unary<pb.MemberListRequest, pb.Init<pb.MembersResponse<pb.Int64Like>>>(async (request) => {
      if (request.linearizable) await node.readBarrier();
      return { header: header(), members: membersOf(node) };
    }),
    MemberAdd: unary<pb.MemberAddRequest, pb.Init<pb.MemberAddResponse<pb.Int64Like>>>(async (request) => {
      const peerURLs = peerUrlsFrom(request);
      if (peerUrlTaken(node, peerURLs, null)) throw new RequestError(FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
      const id = nodeIdForPeerUrl(node.config.clusterToken, peerURLs[0] as string);
      const info = encodeInfo({ name: '', peerURLs, clientURLs: [] });
      const members = await changed(() =>
        node.changeMembership((current) => {
          if (current.members.some((m) => m.id === id)) throw new RequestError(FAILED_PRECONDITION, 'etcdserver: member ID already exists');
          return { membership: withMember(current, { id, voter: !request.isLearner, info }) };
        }),
      );
      const added = members.find((m) => m.node === id);
      return { header: header(), member: added === undefined ? null : memberToPb(added), members: members.map(memberToPb) };
    }),
    MemberRemove: unary<pb.MemberRemoveRequest<pb.Int64Like>, pb.Init<pb.MembersResponse<pb.Int64Like>>>(async (request) => {
      const members = await changed(() =>
        node.changeMembership((current) => {
          const id = memberById(node, current, request.ID);
          const next = withoutMember(current, id);
          if (!next.members.some((m) => m.voter)) {
            throw new RequestError(FAILED_PRECONDITION, 'etcdserver: re-configuration failed: the last voting member cannot be removed');
          }
          return { membership: next };
        }),
      );
      return { header: header(), members: members.map(memberToPb) };
    }),
    MemberUpdate: unary<pb.MemberUpdateRequest<pb.Int64Like>, pb.Init<pb.MembersResponse<pb.Int64Like>>>(async (request) => {
      const peerURLs = peerUrlsFrom(request);
      const members = await changed(() =>
        node.changeMembership((current) => {
          const id = memberById(node, current, request.ID);
          if (peerUrlTaken(node, peerURLs, id)) throw new RequestError(FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
          const member = node.members().find((m) => m.node === id);
          const info = encodeInfo({ name: member?.name ?? '', peerURLs, clientURLs: [...(member?.clientURLs ?? [])] });
          return { membership: { members: current.members.map((m) => (m.id === id ? { ...m, info } : m)) } };
        }),
      );
      return { header: header(), members: members.map(memberToPb) };
    }),
    MemberPromote: unary<pb.MemberPromoteRequest<pb.Int64Like>, pb.Init<pb.MembersResponse<pb.Int64Like>>>(async (request) => {
      const members = await changed(() =>
        node.changeMembership((current) => {
          const id = memberById(node, current, request.ID);
          const member = current.members.find((m) => m.id === id);
          if (member?.voter === true) throw new RequestError(FAILED_PRECONDITION, 'etcdserver: can only promote a learner member');
          return { membership: { members: current.members.map((m) => (m.id === id ? { ...m, voter: true } : m)) }, caughtUp: [id] };
        }),
      );
      return { header: header(), members: members.map(memberToPb) };
    }),
  };
}

export function maintenanceService(node: SynodNode): grpc.UntypedServiceImplementation {
  return {
    Status: unary<pb.EmptyRequest, pb.Init<pb.StatusResponse<pb.Int64Like>>>(async () => {
      const status = node.status();
      const leaderId = status.leader === null ? '0' : memberIdOfNode(node.config.clusterToken, status.leader).toString();
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
        isLearner: node.standing === 'learner',
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
