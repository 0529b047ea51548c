/**
 * The in-memory twin of TcpTransport: a hub connecting several in-process
 * transports, with the controls tests need (etcd-io/raft's network: cut a link,
 * isolate a node, partition, drop a fraction, heal).
 *
 * It keeps the TCP transport's contract (transport.ts): per-link FIFO, bounded
 * per-link queues that drop the newest, loss but no duplication or corruption.
 * Every message is encoded at send and decoded at delivery with the real
 * codecs, so a test over the hub also proves its messages survive the wire and
 * no sender and receiver share an object.
 *
 * Delivery is asynchronous: by default the hub delivers on the next macrotask
 * after a send (like a socket would); with `autoDeliver: false` nothing moves
 * until the test calls deliverAll().
 */
import { assert } from '../core/assert.js';
import type { NodeId } from '../core/ids.js';
import type { Message } from '../core/multipaxos/types.js';
import type { CommandCodec } from '../wire/command-codec.js';
import { decodeMessage, encodeMessage } from '../wire/message.js';
import { emptyPeerCounters, type MessageHandler, type PeerCounters, type Transport, type TransportStats } from './transport.js';

export interface MemoryHubOptions<C> {
  readonly commandCodec: CommandCodec<C>;
  /** Most messages in flight on one link (from, to); more are refused. */
  readonly linkMessagesMax?: number;
  /** Deliver on the next macrotask after a send (default), or only on deliverAll(). */
  readonly autoDeliver?: boolean;
  /** For setDropRate; deterministic in tests that care. */
  readonly random?: () => number;
}

interface InFlight {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly bytes: Uint8Array;
}

const linkKey = (from: NodeId, to: NodeId): string => JSON.stringify([from, to]);

export class MemoryHub<C> {
  private readonly transports = new Map<NodeId, MemoryTransport<C>>();
  private readonly cutLinks = new Set<string>();
  private readonly linkLoad = new Map<string, number>();
  private queue: InFlight[] = [];
  private dropRate = 0;
  private scheduled: NodeJS.Immediate | null = null;
  private readonly linkMessagesMax: number;
  private readonly random: () => number;
  /** Messages lost to cut links or the drop rate (send() said true: the sender cannot know). */
  messagesLost = 0;

  constructor(private readonly options: MemoryHubOptions<C>) {
    this.linkMessagesMax = options.linkMessagesMax ?? 4096;
    this.random = options.random ?? Math.random;
  }

  /** A transport for `self` on this hub (one per node id). */
  transport(self: NodeId): MemoryTransport<C> {
    assert(!this.transports.has(self), () => `the hub already has a transport for ${self}`);
    const transport = new MemoryTransport<C>(self, this);
    this.transports.set(self, transport);
    return transport;
  }

  /** Cuts both directions between a and b. */
  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(linkKey(a, b));
    this.cutLinks.add(linkKey(b, a));
  }

  /** Cuts every link to and from `node`. */
  isolate(node: NodeId): void {
    for (const other of this.transports.keys()) if (other !== node) this.cut(node, other);
  }

  /** Cuts every link between nodes of different groups. */
  partition(...groups: readonly (readonly NodeId[])[]): void {
    groups.forEach((group, i) =>
      groups.slice(i + 1).forEach((other) => group.forEach((a) => other.forEach((b) => this.cut(a, b)))),
    );
  }

  /** Restores every link and stops random drops. */
  heal(): void {
    this.cutLinks.clear();
    this.dropRate = 0;
  }

  /** Loses each message sent from now on with probability `rate`. */
  setDropRate(rate: number): void {
    assert(rate >= 0 && rate <= 1, () => `drop rate ${rate} is not in [0, 1]`);
    this.dropRate = rate;
  }

  get inFlight(): number {
    return this.queue.length;
  }

  /**
   * Delivers every message in flight now, in send order; messages sent by the
   * handlers meanwhile wait for the next call. Returns how many were delivered.
   */
  deliverAll(): number {
    const batch = this.queue;
    this.queue = [];
    let delivered = 0;
    for (const item of batch) {
      const key = linkKey(item.from, item.to);
      this.linkLoad.set(key, (this.linkLoad.get(key) ?? 1) - 1);
      // A link cut while the message was in flight loses it, as a partition would.
      if (this.cutLinks.has(key)) {
        this.messagesLost++;
        continue;
      }
      const receiver = this.transports.get(item.to);
      if (receiver?.receive(item.from, item.bytes) === true) delivered++;
    }
    return delivered;
  }

  /** @internal called by MemoryTransport.send */
  submit(from: NodeId, message: Message<C>): boolean {
    const key = linkKey(from, message.to);
    if (!this.transports.has(message.to)) return false;
    if ((this.linkLoad.get(key) ?? 0) >= this.linkMessagesMax) return false;
    if (this.cutLinks.has(key) || (this.dropRate > 0 && this.random() < this.dropRate)) {
      this.messagesLost++;
      return true;
    }
    this.linkLoad.set(key, (this.linkLoad.get(key) ?? 0) + 1);
    this.queue.push({ from, to: message.to, bytes: encodeMessage(message, this.options.commandCodec) });
    if (this.options.autoDeliver !== false && this.scheduled === null) {
      this.scheduled = setImmediate(() => {
        this.scheduled = null;
        this.deliverAll();
      });
    }
    return true;
  }

  /** @internal */
  has(node: NodeId): boolean {
    return this.transports.has(node);
  }

  /** @internal called by MemoryTransport.close */
  detach(node: NodeId): void {
    this.transports.delete(node);
    if (this.transports.size === 0 && this.scheduled !== null) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
  }

  /** @internal */
  decode(bytes: Uint8Array): Message<C> {
    return decodeMessage(bytes, this.options.commandCodec);
  }
}

export class MemoryTransport<C> implements Transport<C> {
  private handler: MessageHandler<C> = () => {};
  private lifecycle: 'new' | 'running' | 'closed' = 'new';
  private readonly counters = new Map<NodeId, PeerCounters>();
  private messagesUnroutable = 0;

  constructor(
    readonly self: NodeId,
    private readonly hub: MemoryHub<C>,
  ) {}

  start(): Promise<void> {
    assert(this.lifecycle === 'new', () => `start() on a ${this.lifecycle} transport`);
    this.lifecycle = 'running';
    return Promise.resolve();
  }

  onMessage(handler: MessageHandler<C>): void {
    this.handler = handler;
  }

  send(message: Message<C>): boolean {
    assert(message.from === this.self, () => `node ${this.self} cannot send a message from ${message.from}`);
    if (this.lifecycle !== 'running') return false;
    if (!this.hub.has(message.to) || message.to === this.self) {
      this.messagesUnroutable++;
      return false;
    }
    const counters = this.countersOf(message.to);
    if (!this.hub.submit(this.self, message)) {
      counters.messagesDropped++;
      return false;
    }
    counters.framesSent++;
    return true;
  }

  close(): Promise<void> {
    this.lifecycle = 'closed';
    this.hub.detach(this.self);
    return Promise.resolve();
  }

  stats(): TransportStats {
    return {
      peers: Object.fromEntries([...this.counters].map(([peer, c]) => [peer, { ...c }])),
      connectionsRejected: 0,
      messagesUnroutable: this.messagesUnroutable,
    };
  }

  /** @internal called by the hub; false when this transport no longer takes messages. */
  receive(from: NodeId, bytes: Uint8Array): boolean {
    if (this.lifecycle !== 'running') return false;
    const counters = this.countersOf(from);
    counters.framesReceived++;
    counters.bytesReceived += bytes.byteLength;
    this.handler(this.hub.decode(bytes));
    return true;
  }

  private countersOf(peer: NodeId): PeerCounters {
    let counters = this.counters.get(peer);
    if (counters === undefined) {
      counters = { ...emptyPeerCounters(), connected: true };
      this.counters.set(peer, counters);
    }
    return counters;
  }
}
