/**
 * The sending half of a peer link: one TCP connection this node dials to one
 * peer, used only to write. Owns the peer's bounded send queue, the reconnect
 * backoff and the write batching.
 *
 * Batching: send() only queues; the first send of an event-loop turn schedules
 * one flush (setImmediate) that hands everything queued to the socket between
 * cork() and uncork(), so a turn's messages leave in one writev. At most about
 * writeBatchBytesMax is handed over per flush, and none while the socket asks
 * for a drain, so Node's own write buffer stays bounded and the rest waits in
 * the bounded queue.
 */
import net from 'node:net';
import type { NodeId } from '../core/ids.js';
import { encodeFrame, encodeHandshake } from '../wire/frame.js';
import type { PeerAddress } from './address.js';
import { Backoff, type BackoffPolicy } from './backoff.js';
import type { Logger } from './logger.js';
import { SendQueue, type SendQueueLimits } from './send-queue.js';
import { emptyPeerCounters, type PeerCounters } from './transport.js';

export interface OutboundOptions {
  readonly self: NodeId;
  readonly clusterId: string;
  readonly incarnation: string;
  readonly logger: Logger;
  readonly queue: SendQueueLimits;
  readonly backoff: BackoffPolicy;
  readonly random: () => number;
  readonly connectTimeoutMs: number;
  readonly writeBatchBytesMax: number;
  readonly now: () => number;
}

type OutboundState =
  /** Not started, or no address known yet. */
  | { readonly phase: 'idle' }
  | { readonly phase: 'waiting'; readonly timer: NodeJS.Timeout }
  | { readonly phase: 'connecting'; readonly socket: net.Socket; readonly timer: NodeJS.Timeout }
  | { readonly phase: 'connected'; readonly socket: net.Socket; readonly sinceMs: number }
  | { readonly phase: 'closed' };

export class OutboundPeer {
  readonly counters: PeerCounters = emptyPeerCounters();
  private readonly queue: SendQueue;
  private readonly backoff: Backoff;
  private state: OutboundState = { phase: 'idle' };
  private flushPending: NodeJS.Immediate | null = null;
  private started = false;
  private failuresInRow = 0;

  constructor(
    readonly peer: NodeId,
    private address: PeerAddress | null,
    private readonly options: OutboundOptions,
  ) {
    this.queue = new SendQueue(options.queue);
    this.backoff = new Backoff(options.backoff, options.random);
  }

  get phase(): OutboundState['phase'] {
    return this.state.phase;
  }

  start(): void {
    this.started = true;
    if (this.state.phase === 'idle' && this.address !== null) this.dial();
  }

  /** Points the link at a new address; an existing connection is dropped and redialed at once. */
  setAddress(address: PeerAddress): void {
    this.address = address;
    if (!this.started || this.state.phase === 'closed') return;
    this.abandonCurrent();
    this.dial();
  }

  /** Queues an encoded frame; false when the queue is full (the frame is dropped). */
  enqueue(frame: Uint8Array): boolean {
    if (this.state.phase === 'closed' || !this.queue.push(frame)) {
      this.counters.messagesDropped++;
      return false;
    }
    this.scheduleFlush();
    return true;
  }

  snapshot(): PeerCounters {
    return { ...this.counters, queuedMessages: this.queue.messages, queuedBytes: this.queue.bytes, connected: this.state.phase === 'connected' };
  }

  /** Stops for good; resolves once the socket (if any) has closed. */
  close(): Promise<void> {
    const state = this.state;
    const socketClosed =
      (state.phase === 'connecting' || state.phase === 'connected') && !state.socket.closed
        ? new Promise<void>((resolve) => state.socket.once('close', () => resolve()))
        : Promise.resolve();
    this.abandonCurrent();
    this.state = { phase: 'closed' };
    if (this.flushPending !== null) clearImmediate(this.flushPending);
    this.flushPending = null;
    this.queue.clear();
    return socketClosed;
  }

  // ---------------------------------------------------------------- connection

  private dial(): void {
    const address = this.address;
    if (address === null) return;
    const socket = net.connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${this.options.connectTimeoutMs} ms`)), this.options.connectTimeoutMs);
    this.state = { phase: 'connecting', socket, timer };
    let failure: Error | null = null;
    socket.once('connect', () => {
      if (this.state.phase !== 'connecting' || this.state.socket !== socket) return;
      clearTimeout(timer);
      socket.setKeepAlive(true, 5_000);
      this.state = { phase: 'connected', socket, sinceMs: this.options.now() };
      this.failuresInRow = 0;
      socket.write(encodeFrame(encodeHandshake({ clusterId: this.options.clusterId, from: this.options.self, to: this.peer, incarnation: this.options.incarnation })));
      this.options.logger.info({ peer: this.peer, address }, 'connected to peer');
      this.scheduleFlush();
    });
    // The receiver never writes on a connection it accepted (transport.ts); bytes
    // here mean the other end is not a Synod peer.
    socket.on('data', () => socket.destroy(new Error('peer wrote on a send-only connection')));
    socket.on('drain', () => this.scheduleFlush());
    socket.on('error', (error) => {
      failure = error;
    });
    socket.once('close', () => this.onClose(socket, address, failure));
  }

  private onClose(socket: net.Socket, address: PeerAddress, failure: Error | null): void {
    const state = this.state;
    if ((state.phase !== 'connecting' && state.phase !== 'connected') || state.socket !== socket) return;
    const reason = failure?.message ?? 'closed by peer';
    if (state.phase === 'connected') {
      this.counters.connectionResets++;
      // A connection that stayed up a while proves the peer healthy: start the
      // backoff over. One that dies at once (e.g. the peer refuses our
      // handshake) keeps growing it, so a misconfigured node is not hammered.
      if (this.options.now() - state.sinceMs >= this.options.backoff.maxMs) this.backoff.reset();
      this.options.logger.warn({ peer: this.peer, address, reason }, 'connection to peer lost');
    } else {
      clearTimeout(state.timer);
      this.failuresInRow++;
      // A peer that is down fails every attempt; say so once, not every 2 s.
      const log = this.failuresInRow === 1 ? this.options.logger.warn : this.options.logger.debug;
      log.call(this.options.logger, { peer: this.peer, address, reason, failuresInRow: this.failuresInRow }, 'cannot connect to peer');
    }
    const delayMs = this.backoff.next();
    this.state = { phase: 'waiting', timer: setTimeout(() => this.dial(), delayMs) };
  }

  /** Forgets the current socket or timer without scheduling a reconnect. */
  private abandonCurrent(): void {
    const state = this.state;
    if (state.phase === 'waiting') clearTimeout(state.timer);
    if (state.phase === 'connecting') clearTimeout(state.timer);
    if (state.phase === 'connecting' || state.phase === 'connected') {
      this.state = { phase: 'idle' }; // first, so the close event is recognised as stale
      state.socket.destroy();
    }
    if (this.state.phase !== 'closed') this.state = { phase: 'idle' };
  }

  // ---------------------------------------------------------------- writing

  private scheduleFlush(): void {
    if (this.flushPending !== null || this.state.phase !== 'connected' || this.queue.messages === 0) return;
    this.flushPending = setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushPending = null;
    const state = this.state;
    if (state.phase !== 'connected') return;
    const socket = state.socket;
    if (socket.writableNeedDrain) return; // 'drain' schedules the next flush
    const frames = this.queue.take(this.options.writeBatchBytesMax);
    socket.cork();
    for (const frame of frames) {
      socket.write(frame);
      this.counters.framesSent++;
      this.counters.bytesSent += frame.byteLength;
    }
    socket.uncork();
    if (!socket.writableNeedDrain) this.scheduleFlush();
  }
}
