/**
 * The Transport port: how a node's Multi-Paxos messages reach its peers.
 *
 * Contract (what the consensus core may rely on, and what it may not):
 *   - send() is fire-and-forget. A message may be lost, delayed or (after a
 *     reconnect) never delivered; Paxos tolerates all of it. Messages from one
 *     sender to one receiver that are delivered arrive in the order sent.
 *     Nothing is ever delivered twice by the transport itself, nor altered.
 *   - send() returns false when the transport refused the message (queue full,
 *     message over a size bound, unknown peer, not started or closed); true
 *     means only "queued", never "delivered".
 *   - Every delivered message was validated at the boundary (src/wire) and its
 *     `from` is the node the connection authenticated as (by handshake only:
 *     there is no cryptographic authentication yet), and its `to` is this node.
 *   - The handler runs on the transport's event-loop turn; it must not block.
 *     An exception it throws is a bug and is not caught (STYLE.md, habit 7).
 * Implementations: TcpTransport (node:net) and MemoryTransport (in-process, for tests).
 */
import type { NodeId } from '../core/ids.js';
import type { Message } from '../core/multipaxos/types.js';

export type MessageHandler<C> = (message: Message<C>) => void;

export interface Transport<C> {
  readonly self: NodeId;
  /** Starts listening (and dialing peers). Resolves once messages can be received. */
  start(): Promise<void>;
  /** Queues `message` for `message.to`; false when it was refused (see the contract above). */
  send(message: Message<C>): boolean;
  /** Sets the handler for delivered messages (replacing any earlier one). */
  onMessage(handler: MessageHandler<C>): void;
  /** Stops everything and releases every socket and timer. Queued messages are discarded. */
  close(): Promise<void>;
  /** A snapshot of the counters, for metrics. */
  stats(): TransportStats;
}

export interface PeerCounters {
  /** Frames (and their bytes, headers included) handed to the connection to this peer. */
  framesSent: number;
  bytesSent: number;
  /** Message frames from this peer that passed validation and were delivered. */
  framesReceived: number;
  bytesReceived: number;
  /** Messages to this peer refused by send(): queue full, or over a size bound. */
  messagesDropped: number;
  /** Connections to or from this peer that ended other than by close(). */
  connectionResets: number;
  /** Frames from this peer (after its handshake) refused by validation; each closed its connection. */
  malformedFrames: number;
  /** Messages and bytes waiting in the send queue now. */
  queuedMessages: number;
  queuedBytes: number;
  /** Whether an outbound connection to this peer is up now. */
  connected: boolean;
}

export interface TransportStats {
  readonly peers: Readonly<Record<string, PeerCounters>>;
  /** Inbound connections closed before completing a valid handshake (garbage, wrong cluster...). */
  readonly connectionsRejected: number;
  /** Messages refused because their destination is not a known peer. */
  readonly messagesUnroutable: number;
}

export function emptyPeerCounters(): PeerCounters {
  return {
    framesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    bytesReceived: 0,
    messagesDropped: 0,
    connectionResets: 0,
    malformedFrames: 0,
    queuedMessages: 0,
    queuedBytes: 0,
    connected: false,
  };
}
