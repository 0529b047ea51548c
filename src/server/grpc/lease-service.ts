/**
 * etcd's Lease service. Grants, revocations and renewals are ordered through
 * the log, each stamped with this member's clock when it proposes them (the
 * lease deadlines are replicated state; see src/kv/leases.ts). The leader
 * expires leases through the log too (node.ts), so every member deletes a
 * lease's keys at the same revision.
 *
 * As etcd does: a keep-alive for a lease that does not exist is answered with
 * TTL 0 rather than an error; TimeToLive of a missing lease answers TTL -1.
 * Lease IDs are int64 on the wire; those beyond 2^53 are refused with
 * InvalidArgument, since the store keeps them as numbers.
 */
import * as grpc from '@grpc/grpc-js';
import type { SynodNode } from '../node.js';
import type * as pb from '../proto.js';
import { RequestError, headerToPb, num } from './convert.js';
import { headerIds, toServiceError, unary, writeThrough } from './kv-service.js';

type KeepAliveCall = grpc.ServerDuplexStream<pb.LeaseKeepAliveRequest, pb.LeaseKeepAliveResponseInit>;

/** Grants a lease through the log; `ttlSeconds` is raised to the store's minimum. */
export async function grantLease(node: SynodNode, ttlSeconds: number, id = 0): Promise<{ id: number; ttl: number; revision: number }> {
  const output = await writeThrough(node, { type: 'lease-grant', request: { ttl: ttlSeconds, id }, now: Date.now() }, 'lease-grant');
  return { id: output.response.id, ttl: output.response.ttl, revision: output.response.header.revision };
}

export function leaseService(node: SynodNode): grpc.UntypedServiceImplementation {
  return {
    LeaseGrant: unary<pb.LeaseGrantRequest, pb.LeaseGrantResponseInit>(async (request) => {
      const granted = await grantLease(node, num(request.TTL, 'TTL'), num(request.ID, 'ID'));
      return { header: headerToPb(headerIds(node), granted.revision), ID: String(granted.id), TTL: String(granted.ttl), error: '' };
    }),
    LeaseRevoke: unary<pb.LeaseRevokeRequest, pb.HeaderOnlyResponseInit>(async (request) => {
      const output = await writeThrough(node, { type: 'lease-revoke', request: { id: num(request.ID, 'ID') } }, 'lease-revoke');
      return { header: headerToPb(headerIds(node), output.response.header.revision) };
    }),
    LeaseKeepAlive: (call: KeepAliveCall) => keepAlive(node, call),
    LeaseTimeToLive: unary<pb.LeaseTimeToLiveRequest, pb.LeaseTimeToLiveResponseInit>(async (request) => {
      const id = num(request.ID, 'ID');
      await node.readBarrier();
      const answer = node.stateMachine.leaseTimeToLive({ id, keys: request.keys === true }, Date.now());
      // A lease past its deadline whose expiry is still on its way through the
      // log has 0 seconds left, not a negative count (which would read as "not found").
      const ttl = answer.grantedTtl > 0 ? Math.max(0, answer.ttl) : answer.ttl;
      return {
        header: headerToPb(headerIds(node), answer.header.revision),
        ID: String(answer.id),
        TTL: String(ttl),
        grantedTTL: String(answer.grantedTtl),
        keys: [...answer.keys],
      };
    }),
    LeaseLeases: unary<pb.EmptyRequest, pb.LeaseLeasesResponseInit>(async () => {
      await node.readBarrier();
      const answer = node.stateMachine.leaseLeases();
      return { header: headerToPb(headerIds(node), answer.header.revision), leases: answer.leases.map((lease) => ({ ID: String(lease.id) })) };
    }),
  };
}

/**
 * One renewal at a time per stream, in order: the stream stops reading while
 * a renewal is in flight, so a client that sends faster than the log orders
 * them is held back by gRPC flow control instead of queueing here.
 */
function keepAlive(node: SynodNode, call: KeepAliveCall): void {
  let closed = false;
  const close = (): void => {
    closed = true;
  };
  call.on('cancelled', close);
  call.on('close', close);
  call.on('error', close);
  call.on('data', (request: pb.LeaseKeepAliveRequest) => {
    call.pause();
    renew(node, request).then(
      (response) => {
        if (closed) return;
        call.write(response);
        call.resume();
      },
      (error: unknown) => {
        if (closed) return;
        closed = true;
        // etcd ends the stream with the error (a client reopens it).
        call.emit('error', toServiceError(error));
      },
    );
  });
}

async function renew(node: SynodNode, request: pb.LeaseKeepAliveRequest): Promise<pb.LeaseKeepAliveResponseInit> {
  const id = num(request.ID, 'ID');
  const output = await node.write({ type: 'lease-renew', request: { id }, now: Date.now() });
  if (output.type === 'error') {
    if (output.error.kind === 'lease-not-found') return { header: headerToPb(headerIds(node), node.stateMachine.currentRevision), ID: String(id), TTL: '0' };
    throw new RequestError(output.error.statusCode, output.error.message);
  }
  if (output.type !== 'lease-renew') throw new Error(`expected a lease-renew output, got ${output.type}`);
  return { header: headerToPb(headerIds(node), output.response.header.revision), ID: String(id), TTL: String(output.response.ttl) };
}
