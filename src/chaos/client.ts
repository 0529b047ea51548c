/**
 * The chaos tester's etcd client: promise-based unary calls over grpc-js to
 * one node, each with a deadline, and the one judgement a Jepsen-style client
 * must make about a failed call: did it certainly not happen, or might it have?
 */
import * as grpc from '@grpc/grpc-js';
import { loadEtcdProtos, type EtcdServiceName } from '../server/proto.js';

/**
 * - `not-sent`: the client never reached a server (no connection), so the
 *   request certainly had no effect;
 * - `rejected`: the server answered with an error that means it refused the
 *   request before ordering it (bad argument, unimplemented, ...);
 * - `indeterminate`: a timeout or a dropped connection: the request may or may
 *   not have taken effect, now or later.
 */
export type FailureKind = 'not-sent' | 'rejected' | 'indeterminate';

export class CallFailure extends Error {
  override readonly name = 'CallFailure';
  constructor(
    readonly kind: FailureKind,
    readonly code: number,
    readonly details: string,
  ) {
    super(`${grpc.status[code] ?? code}: ${details}`);
  }
}

/** Codes a server sends only when it refused the request outright. */
const REJECTED = new Set<number>([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.NOT_FOUND,
  grpc.status.ALREADY_EXISTS,
  grpc.status.PERMISSION_DENIED,
  grpc.status.FAILED_PRECONDITION,
  grpc.status.OUT_OF_RANGE,
  grpc.status.UNIMPLEMENTED,
  grpc.status.UNAUTHENTICATED,
  grpc.status.RESOURCE_EXHAUSTED,
]);

export function classify(error: grpc.ServiceError): CallFailure {
  const details = error.details ?? error.message;
  if (REJECTED.has(error.code)) return new CallFailure('rejected', error.code, details);
  // grpc-js fails a call with this text when its channel has no connection to
  // pick: the request was never written to any socket.
  if (error.code === grpc.status.UNAVAILABLE && /No connection established/i.test(details)) {
    return new CallFailure('not-sent', error.code, details);
  }
  return new CallFailure('indeterminate', error.code, details);
}

/**
 * Reconnect quickly after a node restarts: grpc-js's default backoff grows to
 * two minutes, longer than a whole fault.
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = Object.freeze({
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.min_reconnect_backoff_ms': 100,
});

type Callback = (error: grpc.ServiceError | null, response: unknown) => void;
type UnaryMethod = (request: object, metadata: grpc.Metadata, options: grpc.CallOptions, callback: Callback) => grpc.ClientUnaryCall;

/** Clients of the etcd services on one node, sharing one channel per service. */
export class EtcdClient {
  private readonly clients = new Map<EtcdServiceName, grpc.Client>();

  constructor(readonly endpoint: string) {}

  call<Res>(service: EtcdServiceName, method: string, request: object, timeoutMs: number): Promise<Res> {
    const client = this.client(service);
    const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
    if (typeof fn !== 'function') throw new Error(`${service} has no method ${method}`);
    return new Promise<Res>((resolve, reject) => {
      fn.call(client, request, new grpc.Metadata(), { deadline: new Date(Date.now() + timeoutMs) }, (error, response) => {
        if (error === null) resolve(response as Res);
        else reject(classify(error));
      });
    });
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private client(service: EtcdServiceName): grpc.Client {
    let client = this.clients.get(service);
    if (client === undefined) {
      const Ctor = loadEtcdProtos().clients[service];
      client = new Ctor(this.endpoint, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
      this.clients.set(service, client);
    }
    return client;
  }
}

/** One client per node, created on first use. */
export class ClientPool {
  private readonly clients = new Map<string, EtcdClient>();

  constructor(private readonly endpointOf: (name: string) => string) {}

  get(name: string): EtcdClient {
    let client = this.clients.get(name);
    if (client === undefined) {
      client = new EtcdClient(this.endpointOf(name));
      this.clients.set(name, client);
    }
    return client;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}

/** Decoded bytes fields arrive as Buffer; a string in a bytes field would be taken as base64. */
export function bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

export interface RangeKv {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  lease: string;
}

/**
 * Single-key read: the value, or null if absent. Linearizable unless
 * `serializable` (served from the local replica, possibly stale).
 */
export async function getValue(client: EtcdClient, key: string, timeoutMs: number, serializable = false): Promise<{ value: string | null; createRevision: number | null }> {
  const response = await client.call<{ kvs: RangeKv[] }>('KV', 'Range', { key: bytes(key), serializable }, timeoutMs);
  const first = response.kvs[0];
  return first === undefined ? { value: null, createRevision: null } : { value: first.value.toString('utf8'), createRevision: Number(first.create_revision) };
}

export async function putValue(client: EtcdClient, key: string, value: string, timeoutMs: number): Promise<void> {
  await client.call('KV', 'Put', { key: bytes(key), value: bytes(value) }, timeoutMs);
}

/**
 * Compare-and-set as one etcd Txn: if the key's value equals `expected` (or,
 * for `expected === null`, the key does not exist: create revision 0), put
 * `value`. Resolves with whether the comparison held.
 */
export async function compareAndSet(client: EtcdClient, key: string, expected: string | null, value: string, timeoutMs: number): Promise<boolean> {
  const compare =
    expected === null
      ? { result: 'EQUAL', target: 'CREATE', key: bytes(key), create_revision: '0' }
      : { result: 'EQUAL', target: 'VALUE', key: bytes(key), value: bytes(expected) };
  const response = await client.call<{ succeeded: boolean }>(
    'KV',
    'Txn',
    { compare: [compare], success: [{ request_put: { key: bytes(key), value: bytes(value) } }], failure: [] },
    timeoutMs,
  );
  return response.succeeded;
}
