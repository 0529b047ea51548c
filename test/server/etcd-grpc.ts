// Promise-based raw gRPC clients for etcd's Watch, Lease, Lock and Election
// services, for tests that check the wire behaviour itself. Every wait is
// bounded; streams collect what they receive for later assertions.
import * as grpc from '@grpc/grpc-js';
import { loadEtcdProtos } from '../../src/server/proto.js';
import type * as pb from '../../src/server/proto.js';

type Service = 'KV' | 'Watch' | 'Lease' | 'Lock' | 'Election';
type Callback<Res> = (error: grpc.ServiceError | null, response: Res) => void;
type UnaryFn<Res> = (request: object, options: grpc.CallOptions, callback: Callback<Res>) => grpc.ClientUnaryCall;

/** What a stream has received so far, with bounded waits on it. */
export class Collector<T> {
  readonly items: T[] = [];
  error: grpc.ServiceError | null = null;
  ended = false;
  private readonly waiters = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  fail(error: grpc.ServiceError): void {
    this.error = error;
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  /** Resolves once `done(items)` holds; rejects after `timeoutMs` naming `what`. */
  waitFor(what: string, done: (items: readonly T[]) => boolean, timeoutMs = 10_000): Promise<void> {
    if (done(this.items)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done(this.items)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; got ${this.items.length} item(s)${this.error === null ? '' : `, error ${this.error.details}`}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export class WatchSession {
  readonly responses = new Collector<pb.WatchResponse>();

  constructor(readonly call: grpc.ClientDuplexStream<object, pb.WatchResponse>) {
    call.on('data', (response: pb.WatchResponse) => this.responses.push(response));
    call.on('error', (error: grpc.ServiceError) => this.responses.fail(error));
    call.on('end', () => this.responses.end());
  }

  create(request: Partial<Record<keyof pb.WatchCreateRequest, unknown>>): void {
    this.call.write({ create_request: request });
  }

  cancelWatch(watchId: string): void {
    this.call.write({ cancel_request: { watch_id: watchId } });
  }

  requestProgress(): void {
    this.call.write({ progress_request: {} });
  }

  /** Every event received for `watchId`, in order. */
  events(watchId = '0'): pb.Event[] {
    return this.responses.items.filter((r) => r.watch_id === watchId).flatMap((r) => r.events);
  }

  close(): void {
    this.call.cancel();
  }
}

export class EtcdGrpc {
  private readonly clients: Record<Service, grpc.Client>;

  constructor(readonly endpoint: string) {
    const { clients } = loadEtcdProtos();
    const credentials = grpc.credentials.createInsecure();
    this.clients = {
      KV: new clients.KV(endpoint, credentials),
      Watch: new clients.Watch(endpoint, credentials),
      Lease: new clients.Lease(endpoint, credentials),
      Lock: new clients.Lock(endpoint, credentials),
      Election: new clients.Election(endpoint, credentials),
    };
  }

  call<Res>(service: Service, method: string, request: object, timeoutMs = 5_000): Promise<Res> {
    return this.callCancelable<Res>(service, method, request, timeoutMs).result;
  }

  /** A unary call the test may cancel before it completes. */
  callCancelable<Res>(service: Service, method: string, request: object, timeoutMs = 5_000): { result: Promise<Res>; cancel: () => void } {
    const client = this.clients[service];
    const fn = (client as unknown as Record<string, UnaryFn<Res>>)[method];
    if (fn === undefined) throw new Error(`no method ${service}.${method}`);
    let call: grpc.ClientUnaryCall | undefined;
    const result = new Promise<Res>((resolve, reject) => {
      call = fn.call(client, request, { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => (error === null ? resolve(response) : reject(error)));
    });
    return { result, cancel: () => call?.cancel() };
  }

  async put(key: string, value: string, lease = '0'): Promise<number> {
    const response = await this.call<pb.PutResponse>('KV', 'Put', { key: Buffer.from(key), value: Buffer.from(value), lease });
    return Number(response.header?.revision);
  }

  async keys(prefix: string): Promise<string[]> {
    const end = Buffer.from(prefix);
    end[end.length - 1] = (end[end.length - 1] as number) + 1;
    const response = await this.call<pb.RangeResponse>('KV', 'Range', { key: Buffer.from(prefix), range_end: end });
    return response.kvs.map((kv) => kv.key.toString());
  }

  watch(): WatchSession {
    const client = this.clients.Watch as unknown as { Watch(): grpc.ClientDuplexStream<object, pb.WatchResponse> };
    return new WatchSession(client.Watch());
  }

  observe(name: string): { responses: Collector<pb.LeaderResponse>; cancel: () => void } {
    const client = this.clients.Election as unknown as { Observe(request: object): grpc.ClientReadableStream<pb.LeaderResponse> };
    const call = client.Observe({ name: Buffer.from(name) });
    const responses = new Collector<pb.LeaderResponse>();
    call.on('data', (response: pb.LeaderResponse) => responses.push(response));
    call.on('error', (error: grpc.ServiceError) => responses.fail(error));
    call.on('end', () => responses.end());
    return { responses, cancel: () => call.cancel() };
  }

  keepAlive(): { call: grpc.ClientDuplexStream<object, pb.LeaseKeepAliveResponse>; responses: Collector<pb.LeaseKeepAliveResponse> } {
    const client = this.clients.Lease as unknown as { LeaseKeepAlive(): grpc.ClientDuplexStream<object, pb.LeaseKeepAliveResponse> };
    const call = client.LeaseKeepAlive();
    const responses = new Collector<pb.LeaseKeepAliveResponse>();
    call.on('data', (response: pb.LeaseKeepAliveResponse) => responses.push(response));
    call.on('error', (error: grpc.ServiceError) => responses.fail(error));
    call.on('end', () => responses.end());
    return { call, responses };
  }

  close(): void {
    for (const client of Object.values(this.clients)) client.close();
  }
}

/** A failed call's code and message, for deepEqual. */
export async function failure(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, details } = error as grpc.ServiceError;
    return { code, details };
  }
  throw new Error('expected the call to fail');
}
