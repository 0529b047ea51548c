/**
 * A node's configuration, validated from etcd's flag names into typed values.
 * Everything that crosses this boundary is checked here; past it, the types are
 * trusted (STYLE.md, habit 6).
 */
import { nodeId, type NodeId } from '../core/ids.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface NodeConfig {
  readonly name: NodeId;
  readonly dataDir: string;
  readonly clientListen: HostPort;
  readonly peerListen: HostPort;
  /** Admin HTTP: /health, /metrics, /status, /events. */
  readonly adminListen: HostPort | null;
  readonly initialCluster: ReadonlyMap<NodeId, HostPort>;
  /** Client URLs of every member, for redirects and member lists (port = peer port - 1 by convention when not given). */
  readonly clientUrls: ReadonlyMap<NodeId, HostPort>;
  readonly initialClusterState: 'new' | 'existing';
  readonly clusterToken: string;
  readonly heartbeatIntervalMs: number;
  readonly electionTimeoutMs: number;
  readonly snapshotCount: number;
  /** Serve linearizable reads under the leader's read lease (core/multipaxos/reads.ts). */
  readonly readLease: boolean;
  /** etcd's --experimental-watch-progress-notify-interval, in milliseconds. */
  readonly watchProgressNotifyIntervalMs: number;
  /** Most bytes of events queued for one slow watch stream before it is cancelled. */
  readonly watchQueueBytesMax: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Raw option values as the command line gives them (strings). */
export interface RawNodeOptions {
  name?: string;
  dataDir?: string;
  listenClientUrls?: string;
  listenPeerUrls?: string;
  listenAdminUrl?: string;
  initialCluster?: string;
  initialClusterClientUrls?: string;
  initialClusterState?: string;
  initialClusterToken?: string;
  heartbeatInterval?: string;
  electionTimeout?: string;
  snapshotCount?: string;
  /** False for --no-read-lease. */
  readLease?: boolean;
  experimentalWatchProgressNotifyInterval?: string;
  watchQueueBytesMax?: string;
  logLevel?: string;
}

export function parseUrl(text: string, flag: string): HostPort {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`${flag}: "${text}" is not a URL (expected e.g. http://127.0.0.1:2379)`);
  }
  if (url.protocol !== 'http:') {
    throw new ConfigError(`${flag}: "${text}" uses ${url.protocol} but only http:// is supported (TLS is not implemented)`);
  }
  if (url.port === '') throw new ConfigError(`${flag}: "${text}" has no port`);
  const port = Number(url.port);
  const host = url.hostname === 'localhost' ? '127.0.0.1' : url.hostname.replace(/^\[|\]$/g, '');
  return { host, port };
}

function parseUrlList(text: string, flag: string): HostPort {
  const urls = text.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length !== 1) throw new ConfigError(`${flag}: exactly one URL is supported, got "${text}"`);
  return parseUrl(urls[0] as string, flag);
}

function parseMembers(text: string, flag: string): Map<NodeId, HostPort> {
  const members = new Map<NodeId, HostPort>();
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${flag}: "${part}" is not of the form name=http://host:port`);
    const name = part.slice(0, eq);
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new ConfigError(`${flag}: member name "${name}" may use only letters, digits, ".", "_" and "-"`);
    const id = nodeId(name);
    if (members.has(id)) throw new ConfigError(`${flag}: member "${name}" is listed twice`);
    members.set(id, parseUrl(part.slice(eq + 1), `${flag} (${name})`));
  }
  if (members.size === 0) throw new ConfigError(`${flag} is empty`);
  return members;
}

function parsePositiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new ConfigError(`${flag}: "${text}" is not a positive whole number`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${flag}: "${text}" must be a positive whole number`);
  return value;
}

export function parseNodeConfig(raw: RawNodeOptions): NodeConfig {
  if (raw.name === undefined || raw.name.length === 0) throw new ConfigError('--name is required');
  const name = nodeId(raw.name);
  const clientListen = parseUrlList(raw.listenClientUrls ?? 'http://127.0.0.1:2379', '--listen-client-urls');
  const peerListen = parseUrlList(raw.listenPeerUrls ?? 'http://127.0.0.1:2380', '--listen-peer-urls');
  const initialCluster = parseMembers(raw.initialCluster ?? `${raw.name}=http://${peerListen.host}:${peerListen.port}`, '--initial-cluster');
  if (!initialCluster.has(name)) throw new ConfigError(`--initial-cluster does not list this member "${raw.name}"`);
  const ownPeer = initialCluster.get(name) as HostPort;
  if (ownPeer.port !== peerListen.port) {
    throw new ConfigError(`--initial-cluster gives ${raw.name} port ${ownPeer.port} but --listen-peer-urls listens on ${peerListen.port}`);
  }
  const clientUrls = raw.initialClusterClientUrls === undefined ? new Map<NodeId, HostPort>([[name, clientListen]]) : parseMembers(raw.initialClusterClientUrls, '--initial-cluster-client-urls');
  const state = raw.initialClusterState ?? 'new';
  if (state !== 'new' && state !== 'existing') throw new ConfigError(`--initial-cluster-state must be "new" or "existing", got "${state}"`);
  const heartbeatIntervalMs = parsePositiveInt(raw.heartbeatInterval, '--heartbeat-interval', 100);
  const electionTimeoutMs = parsePositiveInt(raw.electionTimeout, '--election-timeout', 1000);
  if (electionTimeoutMs < heartbeatIntervalMs * 3) {
    throw new ConfigError(`--election-timeout (${electionTimeoutMs} ms) must be at least 3 times --heartbeat-interval (${heartbeatIntervalMs} ms)`);
  }
  const logLevel = raw.logLevel ?? 'info';
  if (logLevel !== 'debug' && logLevel !== 'info' && logLevel !== 'warn' && logLevel !== 'error') {
    throw new ConfigError(`--log-level must be one of debug, info, warn, error; got "${logLevel}"`);
  }
  return {
    name,
    dataDir: raw.dataDir ?? `${raw.name}.synod`,
    clientListen,
    peerListen,
    adminListen: raw.listenAdminUrl === undefined ? null : parseUrl(raw.listenAdminUrl, '--listen-admin-url'),
    initialCluster,
    clientUrls,
    initialClusterState: state,
    clusterToken: raw.initialClusterToken ?? 'synod-cluster',
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: parsePositiveInt(raw.snapshotCount, '--snapshot-count', 10_000),
    readLease: raw.readLease !== false,
    watchProgressNotifyIntervalMs: parseDurationMs(raw.experimentalWatchProgressNotifyInterval, '--experimental-watch-progress-notify-interval', 10 * 60 * 1000),
    watchQueueBytesMax: parsePositiveInt(raw.watchQueueBytesMax, '--watch-queue-bytes-max', 64 * 1024 * 1024),
    logLevel,
  };
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A positive duration as etcd writes them ("10m", "500ms", "2s"); a bare number is milliseconds. */
export function parseDurationMs(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  const value = match === null ? Number.NaN : Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? 'ms'] ?? Number.NaN);
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${flag}: "${text}" is not a positive duration (e.g. 10m, 30s, 500ms)`);
  return value;
}
