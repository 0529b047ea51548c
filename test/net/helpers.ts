/** Shared helpers for the transport tests: a recording logger, bounded waits, loopback clusters. */
import net from 'node:net';
import { ballot } from '../../src/core/ballot.js';
import { nodeId, slot, type NodeId } from '../../src/core/ids.js';
import type { Message } from '../../src/core/multipaxos/types.js';
import type { Logger } from '../../src/net/logger.js';
import { TcpTransport, type TcpTransportLimits } from '../../src/net/tcp-transport.js';
import { bytesCommandCodec } from '../../src/wire/command-codec.js';

export interface LogEntry {
  readonly level: 'warn' | 'info' | 'debug';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export class RecordingLogger implements Logger {
  readonly entries: LogEntry[] = [];
  warn(fields: object, message: string): void {
    this.entries.push({ level: 'warn', fields: fields as Record<string, unknown>, message });
  }
  info(fields: object, message: string): void {
    this.entries.push({ level: 'info', fields: fields as Record<string, unknown>, message });
  }
  debug(fields: object, message: string): void {
    this.entries.push({ level: 'debug', fields: fields as Record<string, unknown>, message });
  }
  /** Reasons given for closing connections, in order. */
  closeReasons(): string[] {
    return this.entries.filter((e) => e.message === 'closing peer connection').map((e) => String(e.fields.reason));
  }
}

/** Polls `condition` every few ms; throws after `timeoutMs`. Every wait in these tests is bounded. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export const CLUSTER_ID = 'test-cluster';

/** A message from `from` to `to` carrying `round` (so tests can check order and content). */
export function heartbeat(from: NodeId, to: NodeId, round: number): Message<Uint8Array> {
  return { type: 'heartbeat', from, to, ballot: ballot(1, from), commitThrough: slot(round), readRound: round };
}

export interface Node {
  readonly id: NodeId;
  readonly transport: TcpTransport<Uint8Array>;
  readonly received: Message<Uint8Array>[];
  readonly logger: RecordingLogger;
}

export function makeNode(id: string, limits: Partial<TcpTransportLimits> = {}, port = 0): Node {
  const logger = new RecordingLogger();
  const transport = new TcpTransport<Uint8Array>({
    self: nodeId(id),
    clusterId: CLUSTER_ID,
    listen: { host: '127.0.0.1', port },
    peers: new Map(),
    commandCodec: bytesCommandCodec,
    logger,
    limits,
  });
  const node: Node = { id: nodeId(id), transport, received: [], logger };
  transport.onMessage((m) => node.received.push(m));
  return node;
}

/** Starts `ids` on ephemeral loopback ports and tells each where the others are. */
export async function startCluster(ids: readonly string[], limits: Partial<TcpTransportLimits> = {}): Promise<Node[]> {
  const nodes = ids.map((id) => makeNode(id, limits));
  await Promise.all(nodes.map((n) => n.transport.start()));
  for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.setPeerAddress(b.id, b.transport.listenAddress());
  return nodes;
}

export async function closeAll(nodes: readonly Node[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.transport.close()));
}

/** A raw client socket to `port`, for sending bytes no real peer would. */
export async function rawSocket(port: number): Promise<{ socket: net.Socket; closed: Promise<void> }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, closed };
}

/** Resolves when `promise` does, or rejects after `timeoutMs`. */
export async function within<T>(what: string, promise: Promise<T>, timeoutMs = 3_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
