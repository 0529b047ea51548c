/**
 * The benchmark's etcd v3 client: grpc-js clients built from Synod's own etcd
 * protos, the same code for Synod and for etcd.
 *
 * Each channel gets its own subchannel pool (`grpc.use_local_subchannel_pool`),
 * so N channels to one endpoint are N HTTP/2 connections: grpc-js would
 * otherwise share one connection among all clients with equal options, and a
 * single connection's framing then bounds the run rather than the server.
 */
import * as grpc from '@grpc/grpc-js';
import { loadEtcdProtos } from '../server/proto.js';
import type * as pb from '../server/proto.js';

/** Every request carries a deadline, so a stuck server cannot hang a worker. */
export const REQUEST_TIMEOUT_MS = 10_000;

type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;
type UnaryMethod = (request: object, options: grpc.CallOptions, callback: Callback<unknown>) => void;

/** One channel with the KV, Lock and Maintenance services over it. */
export class EtcdChannel {
  private readonly kv: grpc.Client;
  private readonly lock: grpc.Client;
  private readonly maintenance: grpc.Client;

  constructor(readonly endpoint: string) {
    const { clients } = loadEtcdProtos();
    const options: grpc.ChannelOptions = {
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    };
    const credentials = grpc.credentials.createInsecure();
    this.kv = new clients.KV(endpoint, credentials, options);
    // The services share the channel (and its connection) of the KV client.
    const channel = this.kv.getChannel();
    this.lock = new clients.Lock(endpoint, credentials, { ...options, channelOverride: channel });
    this.maintenance = new clients.Maintenance(endpoint, credentials, { ...options, channelOverride: channel });
  }

  range(request: Partial<pb.RangeRequest>): Promise<pb.RangeResponse> {
    return call(this.kv, 'Range', request);
  }

  put(request: { key: Buffer; value: Buffer }): Promise<pb.PutResponse> {
    return call(this.kv, 'Put', request);
  }

  txn(request: object): Promise<pb.TxnResponse> {
    return call(this.kv, 'Txn', request);
  }

  compact(revision: string): Promise<unknown> {
    return call(this.kv, 'Compact', { revision, physical: false }, 60_000);
  }

  lockAcquire(name: Buffer): Promise<pb.LockResponse> {
    return call(this.lock, 'Lock', { name, lease: '0' });
  }

  lockRelease(key: Buffer): Promise<unknown> {
    return call(this.lock, 'Unlock', { key });
  }

  status(timeoutMs = 2_000): Promise<pb.StatusResponse> {
    return call(this.maintenance, 'Status', {}, timeoutMs);
  }

  /** Resolves once the connection is up (or rejects after `timeoutMs`). */
  ready(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.kv.waitForReady(new Date(Date.now() + timeoutMs), (error) => (error === undefined || error === null ? resolve() : reject(error)));
    });
  }

  close(): void {
    this.lock.close();
    this.maintenance.close();
    this.kv.close();
  }
}

function call<Res>(client: grpc.Client, method: string, request: object, timeoutMs = REQUEST_TIMEOUT_MS): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
  if (fn === undefined) return Promise.reject(new Error(`no method ${method}`));
  return new Promise((resolve, reject) => {
    fn.call(client, request, { deadline: Date.now() + timeoutMs }, (error, response) => (error === null ? resolve(response as Res) : reject(error)));
  });
}

/** The gRPC status code of an error, if it is a gRPC error. */
export function grpcCode(error: unknown): number | null {
  if (typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number') return (error as { code: number }).code;
  return null;
}

export function isUnimplemented(error: unknown): boolean {
  return grpcCode(error) === grpc.status.UNIMPLEMENTED;
}

/** The channels a run uses: `channelsPerEndpoint` to each endpoint; worker i uses channel i mod N. */
export class ChannelPool {
  readonly channels: readonly EtcdChannel[];

  constructor(endpoints: readonly string[], channelsPerEndpoint: number) {
    const channels: EtcdChannel[] = [];
    // Interleaved, so that consecutive workers land on different endpoints.
    for (let i = 0; i < channelsPerEndpoint; i += 1) for (const endpoint of endpoints) channels.push(new EtcdChannel(endpoint));
    this.channels = channels;
  }

  forWorker(worker: number): EtcdChannel {
    return this.channels[worker % this.channels.length] as EtcdChannel;
  }

  async ready(timeoutMs: number): Promise<void> {
    await Promise.all(this.channels.map((channel) => channel.ready(timeoutMs)));
  }

  close(): void {
    for (const channel of this.channels) channel.close();
  }
}

/**
 * The endpoint whose member is the leader, asked of every endpoint through
 * Maintenance.Status: the one whose own member id is the leader id all of them
 * report. Undefined while they do not agree.
 */
export async function findLeader(endpoints: readonly string[]): Promise<string | undefined> {
  const channels = endpoints.map((endpoint) => new EtcdChannel(endpoint));
  try {
    const statuses = await Promise.all(channels.map((channel) => channel.status()));
    const leaders = new Set(statuses.map((s) => s.leader));
    const leader = statuses[0]?.leader;
    if (leaders.size !== 1 || leader === undefined || leader === '0') return undefined;
    const index = statuses.findIndex((s) => s.header?.member_id === leader);
    return index < 0 ? undefined : endpoints[index];
  } finally {
    for (const channel of channels) channel.close();
  }
}
