/**
 * The admin HTTP endpoint an operator (and the lab) watches:
 *   /health   200 with {"health":"true"} when this node knows a leader, 503 otherwise
 *   /metrics  Prometheus text (prom-client): role, ballot, decided and applied slots,
 *             fsync latency, proposals, reads, peer traffic
 *   /status   the node's status as JSON
 *   /events   the status as server-sent events, twice a second (the lab's live view)
 *   /v3/...   etcd's JSON gateway (POST /v3/kv/put, /v3/kv/range, ...), see gateway.ts
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HostPort } from './config.js';
import { Gateway } from './gateway.js';
import { gatewayRoutes } from './grpc/gateway-routes.js';
import type { SynodNode } from './node.js';

export interface AdminServer {
  readonly url: string;
  close(): Promise<void>;
}

const ROLES = ['follower', 'candidate', 'leader'] as const;

function buildRegistry(node: SynodNode): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ member: node.config.name });
  collectDefaultMetrics({ register: registry, prefix: 'synod_process_' });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  };
  const status = (): ReturnType<SynodNode['status']> => node.status();
  new Gauge({
    name: 'synod_role',
    help: '1 for the role this member has now (follower, candidate or leader)',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      const role = status().role;
      for (const r of ROLES) this.set({ role: r }, r === role ? 1 : 0);
    },
  });
  gauge('synod_ballot_round', 'round of the highest ballot this member promised', () => node.header().raftTerm);
  gauge('synod_decided_slot', 'every log slot up to this one is decided here', () => status().decidedThrough);
  gauge('synod_applied_slot', 'every log slot up to this one is applied here', () => status().appliedThrough);
  gauge('synod_compacted_slot', 'the log is compacted (snapshotted) through this slot', () => status().compactedThrough);
  gauge('synod_kv_revision', 'current revision of the key-value store', () => status().revision);
  gauge('synod_proposals_total', 'commands proposed through this member', () => status().driver.proposals);
  gauge('synod_reads_total', 'linearizable read barriers requested on this member', () => status().driver.reads);
  gauge('synod_lease_reads_total', 'linearizable reads this member served as leader under its read lease, with no quorum round', () => status().driver.leaseReads);
  gauge('synod_applied_commands_total', 'commands applied to the state machine', () => status().driver.applied);
  gauge('synod_wal_syncs_total', 'write-ahead log syncs (fdatasync)', () => status().wal.syncs);
  gauge('synod_wal_records_total', 'records made durable', () => status().wal.records);
  gauge('synod_wal_sync_seconds_last', 'duration of the latest sync', () => status().wal.lastSyncMs / 1000);
  gauge('synod_wal_sync_seconds_total', 'total time spent syncing', () => status().wal.totalSyncMs / 1000);
  new Gauge({
    name: 'synod_peer_bytes_sent_total',
    help: 'bytes sent to each peer',
    labelNames: ['peer'],
    registers: [registry],
    collect() {
      for (const [peer, counters] of Object.entries(status().transport.peers)) this.set({ peer }, counters.bytesSent);
    },
  });
  return registry;
}

export async function startAdminServer(node: SynodNode, listen: HostPort): Promise<AdminServer> {
  const registry = buildRegistry(node);
  const gateway = new Gateway(gatewayRoutes(node));
  const streams = new Set<ServerResponse>();
  const statusJson = (): string => JSON.stringify({ ...node.status(), now: Date.now() });
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    response.setHeader('access-control-allow-origin', '*');
    if (path.startsWith('/v3/')) {
      await gateway.handle(path, request, response);
      return;
    }
    switch (path) {
      case '/health': {
        const healthy = node.leader !== null;
        response.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ health: String(healthy), reason: healthy ? '' : 'no leader' }));
        return;
      }
      case '/metrics':
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(await registry.metrics());
        return;
      case '/status':
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(statusJson());
        return;
      case '/events':
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        response.write(`data: ${statusJson()}\n\n`);
        streams.add(response);
        request.on('close', () => streams.delete(response));
        return;
      default:
        response.writeHead(404, { 'content-type': 'text/plain' });
        response.end('not found: try /health, /metrics, /status or /events\n');
    }
  };
  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      node.logger.warn({ err: error }, 'admin request failed');
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  const timer = setInterval(() => {
    if (streams.size === 0) return;
    const line = `data: ${statusJson()}\n\n`;
    for (const stream of streams) stream.write(line);
  }, 500);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  return {
    url: `http://${listen.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
