/**
 * etcd's JSON gateway for curl users: POST /v3/kv/put with {"key":"Zm9v","value":"YmFy"}
 * (bytes in base64, int64 as strings, field names as in the .proto files) gets the
 * same answer as the gRPC call, as JSON.
 *
 * It runs the very handlers the gRPC server runs: the JSON body is converted to
 * the message, the message to the object proto-loader would have produced, and
 * the handler's reply back through the message to JSON. So the gateway cannot
 * drift from the gRPC API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { PROTO_FILES, findProtoRoot } from './proto.js';

export interface GatewayRoute {
  readonly handler: grpc.UntypedHandleCall;
  /** Fully qualified message names, e.g. etcdserverpb.RangeRequest. */
  readonly request: string;
  readonly response: string;
}

/** The largest JSON body accepted (etcd's request limit, base64 inflated). */
const BODY_BYTES_MAX = 3 * 1024 * 1024;

/** gRPC status -> HTTP status, as grpc-gateway maps them. */
const HTTP_STATUS: Record<number, number> = {
  [grpc.status.OK]: 200,
  [grpc.status.CANCELLED]: 499,
  [grpc.status.INVALID_ARGUMENT]: 400,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
  [grpc.status.NOT_FOUND]: 404,
  [grpc.status.ALREADY_EXISTS]: 409,
  [grpc.status.PERMISSION_DENIED]: 403,
  [grpc.status.RESOURCE_EXHAUSTED]: 429,
  [grpc.status.FAILED_PRECONDITION]: 400,
  [grpc.status.ABORTED]: 409,
  [grpc.status.OUT_OF_RANGE]: 400,
  [grpc.status.UNIMPLEMENTED]: 501,
  [grpc.status.UNAVAILABLE]: 503,
};

let root: protobuf.Root | undefined;

function protoRoot(): protobuf.Root {
  if (root !== undefined) return root;
  const base = findProtoRoot();
  const loaded = new protobuf.Root();
  loaded.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${base}/${target}`);
  loaded.loadSync([...PROTO_FILES], { keepCase: true });
  root = loaded;
  return loaded;
}

/** The object shape proto-loader hands to handlers (see LOADER_OPTIONS in proto.ts). */
const TO_HANDLER: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, arrays: true, oneofs: true };
/** JSON out: base64 bytes, string int64, enum names, defaults omitted (as etcd's gateway). */
const TO_JSON: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false, arrays: false };

class GatewayError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > BODY_BYTES_MAX) throw new GatewayError(grpc.status.INVALID_ARGUMENT, 'etcdserver: request is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function invoke(route: GatewayRoute, message: unknown): Promise<unknown> {
  const handler = route.handler as grpc.handleUnaryCall<unknown, unknown>;
  return new Promise((resolve, reject) => {
    const call = { request: message, metadata: new grpc.Metadata(), getPeer: () => 'gateway', cancelled: false } as unknown as grpc.ServerUnaryCall<unknown, unknown>;
    handler(call, (error, value) => {
      if (error !== null && error !== undefined) {
        const failure = error as Partial<grpc.ServiceError>;
        reject(new GatewayError(failure.code ?? grpc.status.INTERNAL, failure.details ?? failure.message ?? 'internal error'));
      } else {
        resolve(value);
      }
    });
  });
}

export class Gateway {
  private readonly routes: ReadonlyMap<string, GatewayRoute>;

  constructor(routes: ReadonlyMap<string, GatewayRoute>) {
    this.routes = routes;
    const types = protoRoot();
    for (const route of routes.values()) {
      types.lookupType(route.request);
      types.lookupType(route.response);
    }
  }

  handles(path: string): boolean {
    return this.routes.has(path);
  }

  async handle(path: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const route = this.routes.get(path);
    try {
      if (route === undefined) throw new GatewayError(grpc.status.NOT_FOUND, `no gateway route ${path}`);
      if (request.method !== 'POST') throw new GatewayError(grpc.status.INVALID_ARGUMENT, 'use POST with a JSON body');
      const text = await readBody(request);
      let json: unknown;
      try {
        json = text.trim() === '' ? {} : JSON.parse(text);
      } catch (error) {
        throw new GatewayError(grpc.status.INVALID_ARGUMENT, `body is not JSON: ${(error as Error).message}`);
      }
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new GatewayError(grpc.status.INVALID_ARGUMENT, 'body must be a JSON object');
      const types = protoRoot();
      const requestType = types.lookupType(route.request);
      // fromObject converts JSON's forms (base64 bytes, decimal int64, enum names)
      // and throws on what it cannot convert; the handler validates the rest.
      let message: Record<string, unknown>;
      try {
        message = requestType.toObject(requestType.fromObject(json), TO_HANDLER);
      } catch (error) {
        throw new GatewayError(grpc.status.INVALID_ARGUMENT, `invalid ${route.request}: ${(error as Error).message}`);
      }
      const reply = await invoke(route, message);
      const responseType = types.lookupType(route.response);
      const body = responseType.toObject(responseType.fromObject(reply as Record<string, unknown>), TO_JSON);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    } catch (error) {
      const code = error instanceof GatewayError ? error.code : grpc.status.INTERNAL;
      const message = error instanceof Error ? error.message : String(error);
      response.writeHead(HTTP_STATUS[code] ?? 500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: message, code, message }));
    }
  }
}
