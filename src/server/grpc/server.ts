/**
 * The client-facing gRPC server: etcd's v3 services on --listen-client-urls.
 */
import * as grpc from '@grpc/grpc-js';
import type { HostPort } from '../config.js';
import type { SynodNode } from '../node.js';
import { loadEtcdProtos } from '../proto.js';
import { clusterService, maintenanceService } from './cluster-service.js';
import { kvService } from './kv-service.js';

/** etcd's default request size limit (1.5 MiB) plus headroom for gRPC framing. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024 + 512 * 1024;

export interface ClientServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startClientServer(node: SynodNode, listen: HostPort): Promise<ClientServer> {
  const protos = loadEtcdProtos();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  server.addService(protos.services.KV, kvService(node));
  server.addService(protos.services.Cluster, clusterService(node));
  server.addService(protos.services.Maintenance, maintenanceService(node));
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${listen.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error)));
  });
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
