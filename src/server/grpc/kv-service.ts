/**
 * etcd's KV service (Range, Put, DeleteRange, Txn, Compact) over a Synod node.
 *
 * Writes are ordered through the log on whichever member receives them (a
 * follower forwards to the leader). Linearizable reads wait on the node's read
 * barrier; serializable reads are served from the local replica at once, as
 * etcd does, and may be stale.
 */
import * as grpc from '@grpc/grpc-js';
import type { KvCommand, KvOutput } from '../../kv/types.js';
import { isTxnReadOnly } from '../../kv/validate.js';
import { NotLeaderError, TimeoutError } from '../../smr/driver.js';
import type { SynodNode } from '../node.js';
import type * as pb from '../proto.js';
import { RequestError, deleteFromPb, deleteToPb, headerToPb, num, putFromPb, putToPb, rangeFromPb, rangeToPb, txnFromPb, txnToPb, type HeaderIds } from './convert.js';

const UNAVAILABLE = grpc.status.UNAVAILABLE;

/** Turns any failure into the gRPC status etcd would send. */
export function toServiceError(error: unknown): Partial<grpc.ServiceError> {
  if (error instanceof RequestError) return { code: error.code, details: error.message };
  if (error instanceof TimeoutError) return { code: UNAVAILABLE, details: 'etcdserver: request timed out' };
  if (error instanceof NotLeaderError) {
    return { code: UNAVAILABLE, details: error.leader === null ? 'etcdserver: no leader' : 'etcdserver: leader changed' };
  }
  return { code: grpc.status.INTERNAL, details: error instanceof Error ? error.message : String(error) };
}

/** Wraps an async unary handler so every failure becomes a status, never a crash. */
export function unary<Req, Res>(
  handler: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handler(call.request, call).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toServiceError(error) as grpc.ServiceError),
    );
  };
}

export function headerIds(node: SynodNode): HeaderIds {
  const header = node.header();
  return { clusterId: header.clusterId, memberId: header.memberId, raftTerm: header.raftTerm };
}

/** Orders a command and returns its output, or throws its expected failure as a RequestError. */
export async function writeThrough<T extends KvOutput['type']>(node: SynodNode, op: KvCommand, expect: T): Promise<Extract<KvOutput, { type: T }>> {
  const output = await node.write(op);
  if (output.type === 'error') throw new RequestError(output.error.statusCode, output.error.message);
  if (output.type !== expect) throw new Error(`expected a ${expect} output, got ${output.type}`);
  return output as Extract<KvOutput, { type: T }>;
}

export function kvService(node: SynodNode): grpc.UntypedServiceImplementation {
  return {
    Range: unary<pb.RangeRequest, pb.Init<pb.RangeResponse<pb.Int64Like>>>(async (request) => {
      const range = rangeFromPb(request);
      if (!range.serializable) await node.readBarrier();
      const result = node.stateMachine.range(range);
      if (!result.ok) throw new RequestError(result.error.statusCode, result.error.message);
      return rangeToPb(headerIds(node), result.value);
    }),
    Put: unary<pb.PutRequest, pb.Init<pb.PutResponse<pb.Int64Like>>>(async (request) => {
      const output = await writeThrough(node, { type: 'put', request: putFromPb(request) }, 'put');
      return putToPb(headerIds(node), output.response);
    }),
    DeleteRange: unary<pb.DeleteRangeRequest, pb.Init<pb.DeleteRangeResponse<pb.Int64Like>>>(async (request) => {
      const output = await writeThrough(node, { type: 'delete-range', request: deleteFromPb(request) }, 'delete-range');
      return deleteToPb(headerIds(node), output.response);
    }),
    Txn: unary<pb.TxnRequest, pb.Init<pb.TxnResponse<pb.Int64Like>>>(async (request) => {
      const txn = txnFromPb(request);
      if (isTxnReadOnly(txn)) {
        // A read-only txn needs no log slot: a read barrier orders it.
        await node.readBarrier();
        const result = node.stateMachine.readTxn(txn);
        if (!result.ok) throw new RequestError(result.error.statusCode, result.error.message);
        return txnToPb(headerIds(node), result.value);
      }
      const output = await writeThrough(node, { type: 'txn', request: txn }, 'txn');
      return txnToPb(headerIds(node), output.response);
    }),
    Compact: unary<pb.CompactionRequest, pb.Init<pb.CompactionResponse<pb.Int64Like>>>(async (request) => {
      const output = await writeThrough(node, { type: 'compact', request: { revision: num(request.revision, 'revision'), physical: request.physical } }, 'compact');
      return { header: headerToPb(headerIds(node), output.response.header.revision) };
    }),
  };
}
