/**
 * The JSON gateway's paths (as etcd's gateway names them) and the gRPC handlers
 * behind them.
 */
import type * as grpc from '@grpc/grpc-js';
import type { GatewayRoute } from '../gateway.js';
import type { SynodNode } from '../node.js';
import { clusterService, maintenanceService } from './cluster-service.js';
import { kvService } from './kv-service.js';
import { leaseService } from './lease-service.js';

type Services = Record<string, grpc.UntypedServiceImplementation>;

/** [path, service, method, request message, response message] */
const TABLE: readonly [string, string, string, string, string][] = [
  ['/v3/kv/range', 'KV', 'Range', 'etcdserverpb.RangeRequest', 'etcdserverpb.RangeResponse'],
  ['/v3/kv/put', 'KV', 'Put', 'etcdserverpb.PutRequest', 'etcdserverpb.PutResponse'],
  ['/v3/kv/deleterange', 'KV', 'DeleteRange', 'etcdserverpb.DeleteRangeRequest', 'etcdserverpb.DeleteRangeResponse'],
  ['/v3/kv/txn', 'KV', 'Txn', 'etcdserverpb.TxnRequest', 'etcdserverpb.TxnResponse'],
  ['/v3/kv/compaction', 'KV', 'Compact', 'etcdserverpb.CompactionRequest', 'etcdserverpb.CompactionResponse'],
  ['/v3/cluster/member/list', 'Cluster', 'MemberList', 'etcdserverpb.MemberListRequest', 'etcdserverpb.MemberListResponse'],
  ['/v3/maintenance/status', 'Maintenance', 'Status', 'etcdserverpb.StatusRequest', 'etcdserverpb.StatusResponse'],
  ['/v3/lease/grant', 'Lease', 'LeaseGrant', 'etcdserverpb.LeaseGrantRequest', 'etcdserverpb.LeaseGrantResponse'],
  ['/v3/lease/revoke', 'Lease', 'LeaseRevoke', 'etcdserverpb.LeaseRevokeRequest', 'etcdserverpb.LeaseRevokeResponse'],
  ['/v3/kv/lease/revoke', 'Lease', 'LeaseRevoke', 'etcdserverpb.LeaseRevokeRequest', 'etcdserverpb.LeaseRevokeResponse'],
  ['/v3/lease/timetolive', 'Lease', 'LeaseTimeToLive', 'etcdserverpb.LeaseTimeToLiveRequest', 'etcdserverpb.LeaseTimeToLiveResponse'],
  ['/v3/kv/lease/timetolive', 'Lease', 'LeaseTimeToLive', 'etcdserverpb.LeaseTimeToLiveRequest', 'etcdserverpb.LeaseTimeToLiveResponse'],
  ['/v3/lease/leases', 'Lease', 'LeaseLeases', 'etcdserverpb.LeaseLeasesRequest', 'etcdserverpb.LeaseLeasesResponse'],
  ['/v3/kv/lease/leases', 'Lease', 'LeaseLeases', 'etcdserverpb.LeaseLeasesRequest', 'etcdserverpb.LeaseLeasesResponse'],
];

export function gatewayRoutes(node: SynodNode, extra: Services = {}): Map<string, GatewayRoute> {
  const services: Services = { KV: kvService(node), Lease: leaseService(node), Cluster: clusterService(node), Maintenance: maintenanceService(node), ...extra };
  const routes = new Map<string, GatewayRoute>();
  for (const [path, service, method, request, response] of TABLE) {
    const handler = services[service]?.[method];
    if (handler !== undefined) routes.set(path, { handler, request, response });
  }
  return routes;
}
