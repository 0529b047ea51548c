/**
 * A fault-injecting TCP proxy for ONE direction of one peer link.
 *
 * Synod's transport sends only on connections it dialed and reads only from
 * connections dialed to it (src/net/tcp-transport.ts), so everything node i
 * says to node j travels on i's connection to j, and j never answers on it.
 * Giving node i the address of proxy P(i->j) in place of j's therefore puts
 * exactly the i->j half of the link under the proxy's control: cutting P(i->j)
 * alone is a one-way partition, cutting both P(i->j) and P(j->i) a symmetric one.
 *
 * The proxy understands just enough of the framing (frame-splitter.ts) to act
 * on whole messages: the first frame of a connection (the handshake) is always
 * forwarded, later frames are forwarded, delayed (order kept), dropped at
 * random, or swallowed. Faults:
 * - `blackhole`: connections stay up but every message vanishes, as when
 *   packets are lost in a partition and TCP has not noticed yet;
 * - `reset`: every connection is closed and new ones are closed on arrival,
 *   as when a firewall rejects (the dialer sees errors and backs off);
 * - `delayMs`/`jitterMs`: each message waits that long (slow network);
 * - `dropProbability`: each message is lost with that probability.
 * Every buffer is bounded: a proxy holding too many delayed bytes stops
 * reading from the sender until it drains (TCP backpressure, as a slow link).
 */
import net from 'node:net';
import type { Random } from '../core/random.js';
import { DEFAULT_FRAME_BYTES_MAX } from '../wire/frame.js';
import { FrameSplitter } from './frame-splitter.js';

export type LinkBlock = 'none' | 'blackhole' | 'reset';

export interface LinkFaults {
  readonly block: LinkBlock;
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly dropProbability: number;
}

export const HEALTHY_LINK: LinkFaults = Object.freeze({ block: 'none', delayMs: 0, jitterMs: 0, dropProbability: 0 });

export interface ProxyCounters {
  connections: number;
  /** Connections closed because the link was reset, or refused on arrival during a reset. */
  resets: number;
  framesForwarded: number;
  framesDropped: number;
  framesSwallowed: number;
  bytesForwarded: number;
}

/** Delayed bytes held per connection before the proxy stops reading from the sender. */
export const DELAYED_BYTES_MAX = 8 * 1024 * 1024;

interface Delayed {
  readonly dueMs: number;
  readonly frame: Buffer;
}

class ProxiedConnection {
  private readonly splitter = new FrameSplitter(DEFAULT_FRAME_BYTES_MAX);
  private readonly delayed: Delayed[] = [];
  private delayedBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private handshakeSeen = false;
  private lastDueMs = 0;
  private closed = false;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly downstream: net.Socket,
    private readonly upstream: net.Socket,
  ) {
    downstream.on('data', (chunk: Buffer) => this.fromSender(chunk));
    // Nodes never write on connections dialed to them; anything that does come back is passed on unchanged.
    upstream.on('data', (chunk: Buffer) => {
      if (!downstream.destroyed) downstream.write(chunk);
    });
    upstream.on('drain', () => this.maybeResume());
    for (const socket of [downstream, upstream]) {
      socket.on('error', () => this.close());
      socket.on('close', () => this.close());
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.delayed.length = 0;
    this.delayedBytes = 0;
    this.downstream.destroy();
    this.upstream.destroy();
    this.proxy.forget(this);
  }

  private fromSender(chunk: Buffer): void {
    for (const frame of this.splitter.push(chunk)) {
      if (!this.handshakeSeen || this.splitter.passingThrough) {
        // The handshake opens the connection; swallowing it would turn a lost
        // message into a refused peer, a different fault.
        this.handshakeSeen = true;
        this.forward(frame);
        continue;
      }
      this.oneFrame(frame);
    }
  }

  private oneFrame(frame: Buffer): void {
    const faults = this.proxy.faults;
    const counters = this.proxy.counters;
    if (faults.block === 'blackhole') {
      counters.framesSwallowed += 1;
      return;
    }
    if (faults.dropProbability > 0 && this.proxy.random.chance(faults.dropProbability)) {
      counters.framesDropped += 1;
      return;
    }
    const waitMs = faults.delayMs + (faults.jitterMs > 0 ? this.proxy.random.nextFloat() * faults.jitterMs : 0);
    if (waitMs <= 0 && this.delayed.length === 0) {
      this.forward(frame);
      return;
    }
    // Order is kept: a frame is never due before the one ahead of it.
    const dueMs = Math.max(performance.now() + waitMs, this.lastDueMs);
    this.lastDueMs = dueMs;
    this.delayed.push({ dueMs, frame });
    this.delayedBytes += frame.length;
    if (this.delayedBytes > DELAYED_BYTES_MAX) this.downstream.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== null || this.delayed.length === 0 || this.closed) return;
    const head = this.delayed[0] as Delayed;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushDue();
    }, Math.max(0, head.dueMs - performance.now()));
  }

  private flushDue(): void {
    const now = performance.now();
    while (this.delayed.length > 0 && (this.delayed[0] as Delayed).dueMs <= now) {
      const { frame } = this.delayed.shift() as Delayed;
      this.delayedBytes -= frame.length;
      // A blackhole that began while the frame waited swallows it: it was still "on the wire".
      if (this.proxy.faults.block === 'blackhole') this.proxy.counters.framesSwallowed += 1;
      else this.forward(frame);
    }
    this.maybeResume();
    this.schedule();
  }

  private forward(frame: Buffer): void {
    if (this.upstream.destroyed) return;
    this.proxy.counters.framesForwarded += 1;
    this.proxy.counters.bytesForwarded += frame.length;
    if (!this.upstream.write(frame)) this.downstream.pause();
  }

  private maybeResume(): void {
    if (this.closed || this.upstream.writableNeedDrain || this.delayedBytes > DELAYED_BYTES_MAX) return;
    this.downstream.resume();
  }
}

export class FaultProxy {
  private server: net.Server | null = null;
  private readonly connections = new Set<ProxiedConnection>();
  private current: LinkFaults = HEALTHY_LINK;
  readonly counters: ProxyCounters = { connections: 0, resets: 0, framesForwarded: 0, framesDropped: 0, framesSwallowed: 0, bytesForwarded: 0 };
  private listenPort = 0;

  /**
   * @param label for reports, e.g. "n1->n2"
   * @param targetPort the real peer port of the receiving node
   * @param random decides drops and jitter (seeded by the caller)
   */
  constructor(
    readonly label: string,
    readonly targetPort: number,
    readonly random: Random,
    readonly host = '127.0.0.1',
  ) {}

  get port(): number {
    return this.listenPort;
  }

  get faults(): LinkFaults {
    return this.current;
  }

  get openConnections(): number {
    return this.connections.size;
  }

  /** Listens on `port` (0: any free port) and resolves with the port. */
  async listen(port = 0): Promise<number> {
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => resolve());
    });
    const address = server.address();
    this.listenPort = typeof address === 'object' && address !== null ? address.port : 0;
    return this.listenPort;
  }

  /** Replaces the link's faults; a reset closes every open connection now. */
  set(faults: LinkFaults): void {
    this.current = faults;
    if (faults.block === 'reset') {
      for (const connection of [...this.connections]) {
        this.counters.resets += 1;
        connection.close();
      }
    }
  }

  heal(): void {
    this.set(HEALTHY_LINK);
  }

  async close(): Promise<void> {
    for (const connection of [...this.connections]) connection.close();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** @internal called by a connection once it has closed. */
  forget(connection: ProxiedConnection): void {
    this.connections.delete(connection);
  }

  private accept(downstream: net.Socket): void {
    this.counters.connections += 1;
    if (this.current.block === 'reset') {
      this.counters.resets += 1;
      downstream.on('error', () => undefined);
      downstream.destroy();
      return;
    }
    // Hold the sender's bytes until the receiver is reached; if it cannot be
    // (the node is down), the sender's connection fails as a direct one would.
    downstream.pause();
    const upstream = net.connect({ host: this.host, port: this.targetPort, noDelay: true });
    const connection = new ProxiedConnection(this, downstream, upstream);
    this.connections.add(connection);
    upstream.once('connect', () => downstream.resume());
  }
}
