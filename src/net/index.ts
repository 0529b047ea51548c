/** Peer transport: the Transport port, its TCP implementation and in-memory twin. */
export { AddressError, formatPeerAddress, parseInitialCluster, parsePeerUrl, type PeerAddress, type ParsePeerUrlOptions } from './address.js';
export { Backoff, type BackoffPolicy } from './backoff.js';
export { silentLogger, type Logger } from './logger.js';
export { MemoryHub, MemoryTransport, type MemoryHubOptions } from './memory-transport.js';
export { SendQueue, type SendQueueLimits } from './send-queue.js';
export { DEFAULT_TCP_LIMITS, TcpTransport, type TcpTransportLimits, type TcpTransportOptions } from './tcp-transport.js';
export { emptyPeerCounters, type MessageHandler, type PeerCounters, type Transport, type TransportStats } from './transport.js';
