/**
 * Transport over TCP (node:net). Each node dials every peer and sends only on
 * the connections it dialed (OutboundPeer); it only reads from the connections
 * peers dialed to it (InboundConnection). So there is never a question of which
 * of two connections to use, and a peer's restart is just a new inbound
 * connection, which replaces the old one.
 *
 * Every frame is validated at the boundary by src/wire; see inbound.ts for what
 * closes a connection and outbound.ts for batching, backoff and the queue bound.
 */
import net from 'node:net';
import { assert } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import type { Message } from '../core/multipaxos/types.js';
import { DEFAULT_WIRE_LIMITS, type WireLimits } from '../wire/buffer.js';
import type { CommandCodec } from '../wire/command-codec.js';
import { WireError } from '../wire/errors.js';
import { DEFAULT_FRAME_BYTES_MAX, encodeMessageFrame } from '../wire/frame.js';
import type { PeerAddress } from './address.js';
import { InboundConnection, type InboundHost } from './inbound.js';
import { silentLogger, type Logger } from './logger.js';
import { OutboundPeer } from './outbound.js';
import { type MessageHandler, type PeerCounters, type Transport, type TransportStats } from './transport.js';

export interface TcpTransportLimits {
  /** Largest frame sent or accepted (length field value). */
  readonly frameBytesMax: number;
  /** Per-peer send queue bounds; a message that would exceed one is dropped (send() returns false). */
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
  /** Most bytes handed to one socket per flush. */
  readonly writeBatchBytesMax: number;
  /** Reconnect backoff: first delay and cap. */
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
  /** An inbound connection must complete its handshake within this time. */
  readonly handshakeTimeoutMs: number;
  /** Most inbound connections that have not yet completed a handshake. */
  readonly unidentifiedConnectionsMax: number;
  readonly wire: WireLimits;
}

export const DEFAULT_TCP_LIMITS: TcpTransportLimits = Object.freeze({
  frameBytesMax: DEFAULT_FRAME_BYTES_MAX,
  queueMessagesMax: 4096,
  queueBytesMax: DEFAULT_FRAME_BYTES_MAX,
  writeBatchBytesMax: 1024 * 1024,
  reconnectMinMs: 50,
  reconnectMaxMs: 2_000,
  connectTimeoutMs: 3_000,
  handshakeTimeoutMs: 5_000,
  unidentifiedConnectionsMax: 64,
  wire: DEFAULT_WIRE_LIMITS,
});

export interface TcpTransportOptions<C> {
  readonly self: NodeId;
  /** Connections between nodes of different clusters are refused at the handshake. */
  readonly clusterId: string;
  /** Where to listen. Port 0 picks a free port; see listenAddress(). */
  readonly listen: PeerAddress;
  /** The other members and where to dial them. An entry for `self` is ignored. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress | null>;
  readonly commandCodec: CommandCodec<C>;
  /** This node's data-directory incarnation, sent in every handshake ('' if it has none). */
  readonly incarnation?: string;
  /** Decides whether a peer may connect with the incarnation it sent (all may, by default). */
  readonly admit?: (peer: NodeId, incarnation: string) => string | null;
  readonly logger?: Logger;
  readonly limits?: Partial<TcpTransportLimits>;
  /** Jitter for reconnect delays; Math.random unless a test needs determinism. */
  readonly random?: () => number;
}

type Lifecycle = 'new' | 'starting' | 'running' | 'closed';

export class TcpTransport<C> implements Transport<C> {
  readonly self: NodeId;
  private readonly limits: TcpTransportLimits;
  private readonly logger: Logger;
  private readonly outbound = new Map<NodeId, OutboundPeer>();
  private readonly inboundFrom = new Map<NodeId, InboundConnection<C>>();
  private readonly connections = new Set<InboundConnection<C>>();
  private readonly server: net.Server;
  private handler: MessageHandler<C> = () => {};
  private lifecycle: Lifecycle = 'new';
  private connectionsRejected = 0;
  private messagesUnroutable = 0;
  private bound: PeerAddress | null = null;
  private readonly inboundHost: InboundHost<C>;
  private starting: Promise<void> | null = null;

  constructor(private readonly options: TcpTransportOptions<C>) {
    this.self = options.self;
    this.limits = { ...DEFAULT_TCP_LIMITS, ...options.limits };
    this.logger = options.logger ?? silentLogger;
    assert(this.limits.queueBytesMax >= this.limits.frameBytesMax, 'the send queue must hold at least one frame of the largest size');
    for (const [peer, address] of options.peers) {
      if (peer !== this.self) this.outbound.set(peer, this.newOutbound(peer, address));
    }
    this.server = net.createServer((socket) => this.onConnection(socket));
    this.inboundHost = {
      self: this.options.self,
      clusterId: this.options.clusterId,
      codec: this.options.commandCodec,
      wireLimits: this.limits.wire,
      frameBytesMax: this.limits.frameBytesMax,
      handshakeTimeoutMs: this.limits.handshakeTimeoutMs,
      logger: this.logger,
      countersOf: (peer) => this.outbound.get(peer)?.counters,
      admit: (peer, incarnation) => this.options.admit?.(peer, incarnation) ?? null,
      identified: (connection, peer) => {
        const previous = this.inboundFrom.get(peer);
        this.inboundFrom.set(peer, connection);
        // The peer redialed (it restarted, or its old connection is half-dead):
        // the newest connection wins, since the peer only writes to its newest.
        if (previous !== undefined && previous !== connection) void previous.close();
      },
      rejected: () => {
        this.connectionsRejected++;
      },
      closed: (connection) => {
        this.connections.delete(connection);
        const peer = connection.identifiedAs;
        if (peer !== null && this.inboundFrom.get(peer) === connection) this.inboundFrom.delete(peer);
      },
      deliver: (message) => {
        if (this.lifecycle === 'running') this.handler(message);
      },
    };
  }

  onMessage(handler: MessageHandler<C>): void {
    this.handler = handler;
  }

  /** Listens, then starts dialing every peer whose address is known. */
  start(): Promise<void> {
    assert(this.lifecycle === 'new', () => `start() on a ${this.lifecycle} transport`);
    this.lifecycle = 'starting';
    this.starting = this.listen();
    return this.starting;
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen({ host: this.options.listen.host, port: this.options.listen.port }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.server.on('error', (error) => this.logger.warn({ error: error.message }, 'peer listener error'));
    const address = this.server.address();
    assert(address !== null && typeof address === 'object', 'a TCP server has an address once listening');
    this.bound = { host: address.address, port: address.port };
    // close() may have run while we were binding.
    if (this.lifecycle !== 'starting') return;
    this.lifecycle = 'running';
    this.logger.info({ self: this.self, address: this.bound }, 'peer transport listening');
    for (const peer of this.outbound.values()) peer.start();
  }

  /** The address actually bound (the real port when listen.port was 0). */
  listenAddress(): PeerAddress {
    assert(this.bound !== null, 'listenAddress() before start()');
    return this.bound;
  }

  /** Sets or changes where `peer` is dialed (a member whose port was not known at construction). */
  setPeerAddress(peer: NodeId, address: PeerAddress): void {
    assert(peer !== this.self, 'a node does not dial itself');
    const existing = this.outbound.get(peer);
    if (existing === undefined) {
      const created = this.newOutbound(peer, address);
      this.outbound.set(peer, created);
      if (this.lifecycle === 'running') created.start();
    } else {
      existing.setAddress(address);
    }
  }

  send(message: Message<C>): boolean {
    assert(message.from === this.self, () => `node ${this.self} cannot send a message from ${message.from}`);
    if (this.lifecycle !== 'running') return false;
    const peer = this.outbound.get(message.to);
    if (peer === undefined) {
      this.messagesUnroutable++;
      return false;
    }
    let frame: Uint8Array;
    try {
      frame = encodeMessageFrame(message, this.options.commandCodec, this.limits.frameBytesMax, this.limits.wire);
    } catch (error) {
      if (!(error instanceof WireError)) throw error;
      peer.counters.messagesDropped++;
      this.logger.warn({ peer: message.to, type: message.type, reason: error.message }, 'message too large to send; dropped');
      return false;
    }
    return peer.enqueue(frame);
  }

  stats(): TransportStats {
    const peers: Record<string, PeerCounters> = {};
    for (const [id, peer] of this.outbound) peers[id] = peer.snapshot();
    return { peers, connectionsRejected: this.connectionsRejected, messagesUnroutable: this.messagesUnroutable };
  }

  async close(): Promise<void> {
    if (this.lifecycle === 'closed') return;
    this.lifecycle = 'closed';
    const closing = [...this.outbound.values()].map((peer) => peer.close());
    closing.push(...[...this.connections].map((connection) => connection.close()));
    if (this.starting !== null) {
      // Let a bind in progress finish (or fail) first, so no listener outlives close().
      await this.starting.catch(() => {});
      closing.push(new Promise<void>((resolve) => this.server.close(() => resolve())));
    }
    await Promise.all(closing);
    // libuv frees a closed handle on the next loop iteration; wait for it, so
    // that "close() resolved" means "nothing of this transport is left".
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.logger.info({ self: this.self }, 'peer transport closed');
  }

  private newOutbound(peer: NodeId, address: PeerAddress | null): OutboundPeer {
    return new OutboundPeer(peer, address, {
      self: this.self,
      clusterId: this.options.clusterId,
      incarnation: this.options.incarnation ?? '',
      logger: this.logger,
      queue: { messagesMax: this.limits.queueMessagesMax, bytesMax: this.limits.queueBytesMax },
      backoff: { minMs: this.limits.reconnectMinMs, maxMs: this.limits.reconnectMaxMs },
      random: this.options.random ?? Math.random,
      connectTimeoutMs: this.limits.connectTimeoutMs,
      writeBatchBytesMax: this.limits.writeBatchBytesMax,
      now: () => performance.now(),
    });
  }

  private onConnection(socket: net.Socket): void {
    if (this.lifecycle !== 'running') {
      socket.destroy();
      return;
    }
    const unidentified = [...this.connections].filter((c) => c.identifiedAs === null).length;
    if (unidentified >= this.limits.unidentifiedConnectionsMax) {
      this.connectionsRejected++;
      this.logger.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'too many connections awaiting a handshake; refused');
      socket.destroy();
      return;
    }
    this.connections.add(new InboundConnection(socket, this.inboundHost));
  }
}
