/**
 * etcd's Election service (v3electionpb), after etcd's v3election server and
 * the clientv3 Election it runs. Candidates queue exactly as lock contenders
 * do (contention.ts); the leader is the candidate key created first, and its
 * value is the leader's proclamation.
 *
 * - Campaign puts `<name>/<lease hex>` = value unless it exists (then proclaims
 *   the value if it differs), waits to lead, and returns the LeaderKey
 *   (name, key, create revision, lease) and the header of its first txn.
 * - Proclaim and Resign act only if the key still has the create revision the
 *   LeaderKey names (a txn on create_revision); Resign of a stale key succeeds
 *   without deleting anything, Proclaim of one fails with "election: not
 *   leader".
 * - Leader answers the first-created key, or "election: no leader".
 * - Observe streams the leader's key-value: the current one, each proclamation,
 *   and the next leader after a resignation or expiry.
 *
 * Errors carry etcd's messages with code Unknown, as etcd's server (itself a
 * clientv3 user) sends them. A candidate whose key is deleted while it waits
 * fails with "election: not leader" (etcd would report success, with a key
 * that no longer exists, once the candidates before it were gone).
 */
import type * as grpc from '@grpc/grpc-js';
import { bytesEqual } from '../../kv/bytes.js';
import { contenderKey, contenderPrefix, holderRequest, prefixRangeEnd } from '../../kv/lock-election.js';
import type { Event, KeyValue, TxnRequest, TxnResponse } from '../../kv/types.js';
import type { SynodNode } from '../node.js';
import type * as pb from '../proto.js';
import { bytes, headerToPb, kvToPb, leaderKeyFromPb, leaderKeyToPb, num, type LeaderKey } from './convert.js';
import { callSignal, concurrencyError, concurrencyTxn, rangeKvs, sessionLease, waitForTurn, WaitAbortedError } from './contention.js';
import { headerIds, toServiceError, unary } from './kv-service.js';
import type { Subscription, WatchHub } from './watch-hub.js';

/** etcd's messages (v3election, clientv3/concurrency). */
export const ELECTION_NO_LEADER = 'election: no leader';
export const ELECTION_NOT_LEADER = 'election: not leader';
export const ELECTION_MISSING_LEADER = '"leader" field must be provided';

type ObserveCall = grpc.ServerWritableStream<pb.LeaderRequest, pb.LeaderResponseInit>;

/** Puts `value` on the leader key if it still has the LeaderKey's create revision. */
function proclaimTxn(leader: LeaderKey, value: Uint8Array): TxnRequest {
  return {
    compare: [{ key: leader.key, target: 'CREATE', result: 'EQUAL', createRevision: leader.rev }],
    success: [{ type: 'put', request: { key: leader.key, value, lease: leader.lease } }],
  };
}

/** Deletes the leader key if it still has the LeaderKey's create revision. */
function resignTxn(leader: LeaderKey): TxnRequest {
  return {
    compare: [{ key: leader.key, target: 'CREATE', result: 'EQUAL', createRevision: leader.rev }],
    success: [{ type: 'delete-range', request: { key: leader.key } }],
  };
}

function requireLeader(leader: LeaderKey | null): LeaderKey {
  if (leader === null) throw concurrencyError(ELECTION_MISSING_LEADER);
  return leader;
}

/** The first-created candidate under `<name>/`, read from this member's state machine. */
function currentLeader(node: SynodNode, name: Uint8Array): { kv: KeyValue | null; revision: number } {
  const result = node.stateMachine.range(holderRequest(name));
  if (!result.ok) throw new Error(`reading the election leader failed: ${result.error.message}`);
  return { kv: result.value.kvs[0] ?? null, revision: result.value.header.revision };
}

export function electionService(node: SynodNode, hub: WatchHub): grpc.UntypedServiceImplementation {
  const campaign = async (request: pb.CampaignRequest, signal: AbortSignal): Promise<pb.CampaignResponseInit> => {
    const name = bytes(request.name);
    const value = bytes(request.value);
    const lease = await sessionLease(node, num(request.lease, 'lease'));
    const key = contenderKey(name, lease);
    const first: TxnResponse = await concurrencyTxn(node, {
      compare: [{ key, target: 'CREATE', result: 'EQUAL', createRevision: 0 }],
      success: [{ type: 'put', request: { key, value, lease } }],
      failure: [{ type: 'range', request: { key } }],
    });
    let leader: LeaderKey = { name, key, rev: first.header.revision, lease };
    if (!first.succeeded) {
      // The same lease campaigned before: keep its place, publish the new value.
      const existing = rangeKvs(first.responses[0])[0];
      if (existing === undefined) throw new Error('campaign txn failed its compare yet found no key');
      leader = { ...leader, rev: existing.createRevision };
      if (!bytesEqual(existing.value, value)) {
        const proclaimed = await concurrencyTxn(node, proclaimTxn(leader, value));
        if (!proclaimed.succeeded) {
          await concurrencyTxn(node, resignTxn(leader)).catch(() => undefined);
          throw concurrencyError(ELECTION_NOT_LEADER);
        }
      }
    }
    let turn;
    try {
      turn = await waitForTurn(node, hub, name, key, leader.rev, signal);
    } catch (error) {
      if (error instanceof WaitAbortedError) {
        // etcd resigns a campaign whose caller gave up.
        concurrencyTxn(node, resignTxn(leader)).catch((cause: unknown) => {
          node.logger.warn({ err: cause }, 'could not withdraw an abandoned campaign; its lease will');
        });
      }
      throw error;
    }
    if (turn.type === 'lost') throw concurrencyError(ELECTION_NOT_LEADER);
    return { header: headerToPb(headerIds(node), first.header.revision), leader: leaderKeyToPb(leader) };
  };

  return {
    Campaign: unary<pb.CampaignRequest, pb.CampaignResponseInit>((request, call) => campaign(request, callSignal(call))),
    Proclaim: unary<pb.ProclaimRequest, pb.HeaderOnlyResponseInit>(async (request) => {
      const leader = requireLeader(leaderKeyFromPb(request.leader));
      const response = await concurrencyTxn(node, proclaimTxn(leader, bytes(request.value)));
      if (!response.succeeded) throw concurrencyError(ELECTION_NOT_LEADER);
      return { header: headerToPb(headerIds(node), response.header.revision) };
    }),
    Leader: unary<pb.LeaderRequest, pb.LeaderResponseInit>(async (request) => {
      const name = bytes(request.name);
      await node.readBarrier();
      const { kv, revision } = currentLeader(node, name);
      if (kv === null) throw concurrencyError(ELECTION_NO_LEADER);
      return { header: headerToPb(headerIds(node), revision), kv: kvToPb(kv) };
    }),
    Observe: (call: ObserveCall) => {
      new Observer(node, hub, call).start();
    },
    Resign: unary<pb.ResignRequest, pb.HeaderOnlyResponseInit>(async (request) => {
      const leader = requireLeader(leaderKeyFromPb(request.leader));
      const response = await concurrencyTxn(node, resignTxn(leader));
      return { header: headerToPb(headerIds(node), response.header.revision) };
    }),
  };
}

/**
 * clientv3's Election.observe, on the watch hub: send the leader (or wait
 * for the first put under the prefix), then follow the leader key's puts
 * until it is deleted, and start over. A client that reads slowly gets the
 * newest leader value, not every intermediate one (etcd promises no more).
 */
class Observer {
  private readonly name: Uint8Array;
  private subscription: Subscription | null = null;
  /** Bumped at each re-subscription; a sink of an older one ignores what it gets. */
  private generation = 0;
  private blocked = false;
  private pending: pb.LeaderResponseInit | null = null;
  private closed = false;

  constructor(
    private readonly node: SynodNode,
    private readonly hub: WatchHub,
    private readonly call: ObserveCall,
  ) {
    this.name = bytes(call.request.name);
  }

  start(): void {
    this.call.on('cancelled', () => this.close());
    this.call.on('close', () => this.close());
    this.call.on('error', () => this.close());
    this.node.readBarrier().then(
      () => this.findLeader(),
      (error: unknown) => {
        if (this.closed) return;
        this.close();
        this.call.emit('error', toServiceError(error));
      },
    );
  }

  private findLeader(): void {
    if (this.closed) return;
    const { kv, revision } = currentLeader(this.node, this.name);
    if (kv !== null) {
      this.send(kv, revision);
      this.followLeader(kv.key, revision + 1);
      return;
    }
    const prefix = contenderPrefix(this.name);
    const generation = this.resubscribe();
    this.subscription = this.hub.follow({ key: prefix, rangeEnd: prefixRangeEnd(prefix) }, 0, {
      events: (events) => {
        if (generation !== this.generation) return;
        const put = events.find((event) => event.type === 'PUT');
        if (put === undefined) return;
        this.send(put.kv, put.kv.modRevision);
        this.followLeader(put.kv.key, put.kv.modRevision + 1);
      },
      compacted: () => this.findLeader(),
    });
  }

  private followLeader(key: Uint8Array, fromRevision: number): void {
    const generation = this.resubscribe();
    const subscription = this.hub.follow({ key }, fromRevision, {
      events: (events: readonly Event[], headerRevision: number) => {
        for (const event of events) {
          if (generation !== this.generation) return;
          if (event.type === 'DELETE') {
            this.findLeader();
            return;
          }
          this.send(event.kv, headerRevision);
        }
      },
      compacted: () => {
        if (generation === this.generation) this.findLeader();
      },
    });
    // The history delivered inside follow() may already have moved on.
    if (generation === this.generation) this.subscription = subscription;
    else subscription?.cancel();
  }

  private resubscribe(): number {
    this.subscription?.cancel();
    this.subscription = null;
    this.generation += 1;
    return this.generation;
  }

  private send(kv: KeyValue, revision: number): void {
    if (this.closed) return;
    const response: pb.LeaderResponseInit = { header: headerToPb(headerIds(this.node), revision), kv: kvToPb(kv) };
    if (this.blocked) {
      this.pending = response;
      return;
    }
    this.write(response);
  }

  private write(response: pb.LeaderResponseInit): void {
    if (this.call.write(response)) return;
    this.blocked = true;
    this.call.once('drain', () => {
      this.blocked = false;
      const pending = this.pending;
      this.pending = null;
      if (pending !== null && !this.closed) this.write(pending);
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.resubscribe();
  }
}
