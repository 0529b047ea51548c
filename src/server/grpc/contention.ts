/**
 * The queue behind etcd's v3lock and v3election servers, run inside the node
 * instead of through a client: a contender's key `<name>/<lease hex>` carries
 * its lease, create revisions order the contenders, and a contender holds the
 * lock (leads the election) once no key under `<name>/` was created before
 * its own. See src/kv/lock-election.ts for the semantics as data.
 *
 * A waiter reads the prefix from this member's state machine and subscribes
 * to the deletion of its predecessor and of its own key in one synchronous
 * step, so no deletion slips between the read and the subscription. It
 * re-checks on either deletion. Its own key gone (lease expired or revoked,
 * or someone deleted it) means it lost its place: etcd's Mutex answers that
 * with "mutex: session is expired" once its predecessors are gone; Synod
 * answers at once.
 */
import * as grpc from '@grpc/grpc-js';
import { contenderPrefix, lockState, prefixRangeEnd } from '../../kv/lock-election.js';
import type { KeyValue, ResponseOp, TxnRequest, TxnResponse } from '../../kv/types.js';
import type { SynodNode } from '../node.js';
import { RequestError } from './convert.js';
import { writeThrough } from './kv-service.js';
import { grantLease } from './lease-service.js';
import type { Subscription, WatchHub } from './watch-hub.js';

/** concurrency.NewSession's default TTL: what etcd grants when Lock or Campaign names lease 0. */
export const SESSION_TTL_SECONDS = 60;

export type Turn = { readonly type: 'held'; readonly revision: number } | { readonly type: 'lost' };

/** The caller went away (cancelled or past its deadline) while waiting. */
export class WaitAbortedError extends RequestError {
  constructor() {
    super(grpc.status.CANCELLED, 'the client cancelled the request while it waited');
  }
}

/** An AbortSignal that fires when the client cancels the call or its deadline passes. */
export function callSignal(call: { readonly cancelled: boolean; on(event: 'cancelled', listener: () => void): unknown }): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  else call.on('cancelled', () => controller.abort());
  return controller.signal;
}

/**
 * etcd's lock and election servers are clients of etcd themselves: a store
 * error reaches their caller with its message but with gRPC code Unknown.
 */
export function asConcurrencyError(error: unknown): unknown {
  return error instanceof RequestError && !(error instanceof WaitAbortedError) ? new RequestError(grpc.status.UNKNOWN, error.message) : error;
}

export function concurrencyError(message: string): RequestError {
  return new RequestError(grpc.status.UNKNOWN, message);
}

/** A txn through the log, with store errors passed on as etcd's concurrency servers pass them. */
export async function concurrencyTxn(node: SynodNode, txn: TxnRequest): Promise<TxnResponse> {
  try {
    return (await writeThrough(node, { type: 'txn', request: txn }, 'txn')).response;
  } catch (error) {
    throw asConcurrencyError(error);
  }
}

/** The lease to contend with: the given one, or (for 0) a fresh one of etcd's session TTL that nobody keeps alive. */
export async function sessionLease(node: SynodNode, lease: number): Promise<number> {
  if (lease !== 0) return lease;
  try {
    return (await grantLease(node, SESSION_TTL_SECONDS)).id;
  } catch (error) {
    throw asConcurrencyError(error);
  }
}

/** The pairs a txn's range op returned. */
export function rangeKvs(op: ResponseOp | undefined): readonly KeyValue[] {
  if (op === undefined || op.type !== 'range') throw new Error(`expected a range response in the txn, got ${op?.type ?? 'nothing'}`);
  return op.response.kvs;
}

/**
 * Resolves when the contender with `myKey`, created at `myCreateRevision`,
 * holds the queue (with the revision it saw that at) or has lost its key.
 * Rejects with WaitAbortedError when `signal` fires.
 */
export function waitForTurn(node: SynodNode, hub: WatchHub, name: Uint8Array, myKey: Uint8Array, myCreateRevision: number, signal: AbortSignal): Promise<Turn> {
  const prefix = contenderPrefix(name);
  const rangeEnd = prefixRangeEnd(prefix);
  return new Promise<Turn>((resolve, reject) => {
    let subscriptions: Subscription[] = [];
    let settled = false;
    const unsubscribe = (): void => {
      for (const subscription of subscriptions) subscription.cancel();
      subscriptions = [];
    };
    const settle = (turn: Turn | null): void => {
      if (settled) return;
      settled = true;
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
      if (turn === null) reject(new WaitAbortedError());
      else resolve(turn);
    };
    const onAbort = (): void => settle(null);
    const check = (): void => {
      if (settled) return;
      unsubscribe();
      const result = node.stateMachine.range({ key: prefix, rangeEnd });
      if (!result.ok) throw new Error(`reading the contenders failed: ${result.error.message}`);
      const state = lockState(result.value.kvs, myKey);
      if (state.phase === 'lost' || state.key.createRevision !== myCreateRevision) return settle({ type: 'lost' });
      if (state.phase === 'held') return settle({ type: 'held', revision: result.value.header.revision });
      const sink = {
        events: (events: readonly { type: string }[]) => {
          if (events.some((event) => event.type === 'DELETE')) check();
        },
        compacted: () => check(),
      };
      for (const key of [state.waitFor.key, myKey]) {
        const subscription = hub.follow({ key }, 0, sink);
        if (subscription !== null) subscriptions.push(subscription);
      }
    };
    if (signal.aborted) return settle(null);
    signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}
