/**
 * The client-facing gRPC server: etcd's v3 services on --listen-client-urls.
 */
import * as grpc from '@grpc/grpc-js';
import type { HostPort } from '../config.js';
import type { SynodNode } from '../node.js';
import { loadEtcdProtos } from '../proto.js';
import { clusterService, maintenanceService } from './cluster-service.js';
import { electionService } from './election-service.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';
import { lockService } from './lock-service.js';
import { WatchHub } from './watch-hub.js';
import { DEFAULT_WATCH_OPTIONS, watchService, type WatchServiceOptions } from './watch-service.js';

/** etcd's default request size limit (1.5 MiB) plus headroom for gRPC framing. */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024 + 512 * 1024;

export interface ClientServer {
  readonly port: number;
  close(): Promise<void>;
}

export type ClientServerOptions = WatchServiceOptions;

export async function startClientServer(node: SynodNode, listen: HostPort, options: ClientServerOptions = DEFAULT_WATCH_OPTIONS): Promise<ClientServer> {
  const protos = loadEtcdProtos();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_REQUEST_BYTES,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  });
  // One hub per node: every watch stream, lock waiter and election observer shares it.
  const hub = new WatchHub(node);
  server.addService(protos.services.KV, kvService(node));
  server.addService(protos.services.Watch, watchService(node, hub, options));
  server.addService(protos.services.Lease, leaseService(node));
  server.addService(protos.services.Lock, lockService(node, hub));
  server.addService(protos.services.Election, electionService(node, hub));
  server.addService(protos.services.Cluster, clusterService(node));
  server.addService(protos.services.Maintenance, maintenanceService(node));
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host}:${listen.port}`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error === null ? resolve(bound) : reject(error)));
    });
  } catch (error) {
    hub.close();
    throw error;
  }
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          hub.close();
          resolve();
        };
        // Watch streams, keep-alive streams and waiting lock requests never end
        // on their own; they are cut after the grace period.
        const force = setTimeout(() => {
          server.forceShutdown();
          done();
        }, 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          done();
        });
      }),
  };
}
