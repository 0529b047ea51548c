/**
 * A gRPC server that speaks etcd's KV service and does nothing: Put and Range
 * answer at once with a header. Run as its own process by the benchmark's
 * floors, it measures what grpc-js on Node costs per request with the
 * benchmark's own client: no Synod server can be faster than this, because
 * every Synod node serves clients through the same library.
 *
 * `node dist/src/bench/noop-server.js <port>` prints "ready" once it listens.
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadEtcdProtos } from '../server/proto.js';

export function noopServerPath(): string {
  return fileURLToPath(import.meta.url);
}

async function serve(port: number): Promise<void> {
  const protos = loadEtcdProtos();
  const server = new grpc.Server();
  const header = { cluster_id: '1', member_id: '1', revision: '1', raft_term: '1' };
  const answer: grpc.handleUnaryCall<unknown, unknown> = (_call, callback) => callback(null, { header });
  server.addService(protos.services.KV, { Put: answer, Range: answer });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) => (error === null ? resolve() : reject(error))),
  );
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => server.forceShutdown());
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  await serve(Number.parseInt(process.argv[2] ?? '0', 10));
}
