/**
 * etcd's Lock service (v3lockpb), after etcd's v3lock server and the
 * clientv3 Mutex it runs: Lock puts `<name>/<lease hex>` with the lease unless
 * it exists (a retried Lock with the same lease gets the same key back), then
 * waits until no key under `<name>/` was created before it. The key's create
 * revision is the lock's fencing token. Unlock deletes the key.
 *
 * As etcd answers (checked against a real etcd): lease 0 locks with a fresh
 * 60 s lease nobody keeps alive; an unknown lease fails with code Unknown and
 * "etcdserver: requested lease not found"; a waiter whose key is deleted
 * (its lease expired or was revoked) fails with "mutex: session is expired",
 * as etcd 3.5 does (3.4 wrongly reported success); a waiter whose client gives
 * up deletes its key.
 */
import type * as grpc from '@grpc/grpc-js';
import { acquireTxn, contenderKey } from '../../kv/lock-election.js';
import type { SynodNode } from '../node.js';
import type * as pb from '../proto.js';
import { bytes, headerToPb, num } from './convert.js';
import { asConcurrencyError, callSignal, concurrencyError, concurrencyTxn, rangeKvs, sessionLease, waitForTurn, WaitAbortedError } from './contention.js';
import { headerIds, unary, writeThrough } from './kv-service.js';
import type { WatchHub } from './watch-hub.js';

/** concurrency.ErrSessionExpired, as etcd 3.5's Mutex.Lock returns it. */
export const LOCK_SESSION_EXPIRED = 'mutex: session is expired';

export function lockService(node: SynodNode, hub: WatchHub): grpc.UntypedServiceImplementation {
  return {
    Lock: unary<pb.LockRequest, pb.LockResponseInit>(async (request, call) => {
      const name = bytes(request.name);
      const requestedLease = num(request.lease, 'lease');
      const signal = callSignal(call);
      const lease = await sessionLease(node, requestedLease);
      const key = contenderKey(name, lease);
      const acquired = await concurrencyTxn(node, acquireTxn(name, lease));
      const myRevision = acquired.succeeded ? acquired.header.revision : (rangeKvs(acquired.responses[0])[0]?.createRevision ?? 0);
      const owner = rangeKvs(acquired.responses[1])[0];
      if (owner === undefined || owner.createRevision === myRevision) {
        return { header: headerToPb(headerIds(node), acquired.header.revision), key };
      }
      let turn;
      try {
        turn = await waitForTurn(node, hub, name, key, myRevision, signal);
      } catch (error) {
        if (error instanceof WaitAbortedError) {
          // etcd's Mutex deletes its key when the wait fails.
          writeThrough(node, { type: 'delete-range', request: { key } }, 'delete-range').catch((cause: unknown) => {
            node.logger.warn({ err: cause }, 'could not delete the key of an abandoned lock request; its lease will');
          });
        }
        throw error;
      }
      if (turn.type === 'lost') throw concurrencyError(LOCK_SESSION_EXPIRED);
      return { header: headerToPb(headerIds(node), turn.revision), key };
    }),
    Unlock: unary<pb.UnlockRequest, pb.HeaderOnlyResponseInit>(async (request) => {
      let output;
      try {
        output = await writeThrough(node, { type: 'delete-range', request: { key: bytes(request.key) } }, 'delete-range');
      } catch (error) {
        throw asConcurrencyError(error);
      }
      return { header: headerToPb(headerIds(node), output.response.header.revision) };
    }),
  };
}
