/**
 * The receiving half of a peer link: one TCP connection a peer dialed to us.
 * It is read-only from this side. The first frame must be a valid handshake
 * (our cluster, addressed to us, from a known member); every later frame must
 * be a valid message from that member to us. Anything else closes THIS
 * connection with a logged reason; the transport keeps serving the others.
 *
 * Until the handshake passes, a connection may buffer at most a small frame
 * (handshakeBytesMax) and must finish within handshakeTimeoutMs, so a stranger
 * cannot make us hold 64 MiB or a socket forever.
 */
import type net from 'node:net';
import type { NodeId } from '../core/ids.js';
import type { Message } from '../core/multipaxos/types.js';
import type { WireLimits } from '../wire/buffer.js';
import type { CommandCodec } from '../wire/command-codec.js';
import { WireError } from '../wire/errors.js';
import { FRAME_HEADER_BYTES, FrameDecoder, decodeHandshake, type Frame } from '../wire/frame.js';
import { decodeMessage } from '../wire/message.js';
import type { Logger } from './logger.js';
import type { PeerCounters } from './transport.js';

/** A handshake is three short strings and a magic: 1 KiB is plenty. */
export const HANDSHAKE_BYTES_MAX = 1024;

export interface InboundHost<C> {
  readonly self: NodeId;
  readonly clusterId: string;
  readonly codec: CommandCodec<C>;
  readonly wireLimits: WireLimits;
  readonly frameBytesMax: number;
  readonly handshakeTimeoutMs: number;
  readonly logger: Logger;
  /** The counters of a known peer, or undefined for a node that is not a member. */
  countersOf(peer: NodeId): PeerCounters | undefined;
  /** Why a peer with this data-directory incarnation may not connect, or null if it may. */
  admit(peer: NodeId, incarnation: string): string | null;
  /** The handshake passed: the host makes this the one inbound connection from `peer`. */
  identified(connection: InboundConnection<C>, peer: NodeId): void;
  /** The connection closed before identifying itself, for a reason worth counting. */
  rejected(): void;
  /** The socket is gone, for whatever reason. */
  closed(connection: InboundConnection<C>): void;
  deliver(message: Message<C>): void;
}

export class InboundConnection<C> {
  /** The member this connection authenticated as; null until its handshake passes. */
  private peer: NodeId | null = null;
  private done = false;
  private closedByHost = false;
  private readonly decoder = new FrameDecoder(HANDSHAKE_BYTES_MAX);
  private readonly handshakeTimer: NodeJS.Timeout;
  readonly remote: string;

  constructor(
    private readonly socket: net.Socket,
    private readonly host: InboundHost<C>,
  ) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.handshakeTimer = setTimeout(() => this.refuse(`no handshake within ${host.handshakeTimeoutMs} ms`), host.handshakeTimeoutMs);
    let failure: Error | null = null;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => {
      failure = error;
    });
    socket.once('close', () => this.onClose(failure));
  }

  get identifiedAs(): NodeId | null {
    return this.peer;
  }

  /** Closed by the transport (shutdown, or replaced by a newer connection from the same peer): not a reset. */
  close(): Promise<void> {
    this.closedByHost = true;
    this.done = true;
    clearTimeout(this.handshakeTimer);
    const closed = this.socket.closed ? Promise.resolve() : new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.destroy();
    return closed;
  }

  private onData(chunk: Uint8Array): void {
    // One frame at a time: the handshake raises the frame bound for the frames
    // after it, and a refusal (or the handler closing the transport) stops the rest.
    try {
      this.decoder.append(chunk);
      while (!this.done) {
        const frame = this.decoder.next();
        if (frame === null) return;
        if (this.peer === null) this.onHandshake(frame);
        else this.onMessage(this.peer, frame);
      }
    } catch (error) {
      if (error instanceof WireError) return this.refuse(`bad frame: ${error.message}`, true);
      throw error;
    }
  }

  private onHandshake(frame: Frame): void {
    let handshake;
    try {
      handshake = decodeHandshake(frame.payload, this.host.wireLimits);
    } catch (error) {
      if (error instanceof WireError) return this.refuse(`bad handshake: ${error.message}`);
      throw error;
    }
    if (handshake.clusterId !== this.host.clusterId) {
      return this.refuse(`handshake for cluster ${JSON.stringify(handshake.clusterId)}, this is ${JSON.stringify(this.host.clusterId)}`);
    }
    if (handshake.to !== this.host.self) {
      return this.refuse(`handshake addressed to ${JSON.stringify(handshake.to)}, this is ${JSON.stringify(this.host.self)} (stale peer address?)`);
    }
    if (handshake.from === this.host.self || this.host.countersOf(handshake.from) === undefined) {
      return this.refuse(`handshake from ${JSON.stringify(handshake.from)}, which is not a peer of this node`);
    }
    const refusal = this.host.admit(handshake.from, handshake.incarnation);
    if (refusal !== null) return this.refuse(refusal);
    clearTimeout(this.handshakeTimer);
    this.peer = handshake.from;
    this.decoder.frameBytesMax = this.host.frameBytesMax;
    this.host.logger.info({ peer: this.peer, remote: this.remote }, 'peer connected');
    this.host.identified(this, this.peer);
  }

  private onMessage(peer: NodeId, frame: Frame): void {
    const counters = this.host.countersOf(peer) as PeerCounters;
    let message: Message<C>;
    try {
      message = decodeMessage(frame.payload, this.host.codec, this.host.wireLimits);
    } catch (error) {
      if (error instanceof WireError) return this.refuse(`bad message: ${error.message}`, true);
      throw error;
    }
    // The handshake named the sender; a message claiming another one is forged or misrouted.
    if (message.from !== peer) return this.refuse(`${message.type} claims to be from ${JSON.stringify(message.from)}`, true);
    if (message.to !== this.host.self) return this.refuse(`${message.type} is addressed to ${JSON.stringify(message.to)}`, true);
    counters.framesReceived++;
    counters.bytesReceived += FRAME_HEADER_BYTES + frame.payload.byteLength;
    this.host.deliver(message);
  }

  private refuse(reason: string, malformed = false): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.handshakeTimer);
    this.host.logger.warn({ peer: this.peer, remote: this.remote, reason }, 'closing peer connection');
    if (this.peer === null) this.host.rejected();
    else if (malformed) (this.host.countersOf(this.peer) as PeerCounters).malformedFrames++;
    this.socket.destroy();
  }

  private onClose(failure: Error | null): void {
    clearTimeout(this.handshakeTimer);
    // A stream that ends inside a frame sent a truncated frame: malformed, and worth a reason in the log.
    if (!this.done && this.decoder.partialFrameBytes > 0) {
      this.refuse(`connection ended inside a frame (${this.decoder.partialFrameBytes} bytes of it received)`, true);
    }
    const peer = this.peer;
    if (peer !== null && !this.closedByHost) {
      (this.host.countersOf(peer) as PeerCounters).connectionResets++;
      if (!this.done) this.host.logger.info({ peer, remote: this.remote, reason: failure?.message ?? 'closed by peer' }, 'peer disconnected');
    }
    this.done = true;
    this.host.closed(this);
  }
}
