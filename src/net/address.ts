/**
 * Peer addresses as configured: `http://HOST:PORT` URLs, alone or in etcd's
 * --initial-cluster form `n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380`.
 * The scheme is http because that is what etcd configurations say; the peer
 * protocol itself is Synod's framed TCP (see src/wire/frame.ts), without TLS yet.
 */
import { nodeId, type NodeId } from '../core/ids.js';

export interface PeerAddress {
  /** A host name or IP address; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
}

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export interface ParsePeerUrlOptions {
  /** Port 0 (pick any free port) makes sense for a listen address, never for a peer. */
  readonly allowPortZero?: boolean;
}

export function parsePeerUrl(text: string, options: ParsePeerUrlOptions = {}): PeerAddress {
  const fail = (why: string): never => {
    throw new AddressError(`invalid peer URL ${JSON.stringify(text)}: ${why} (expected http://HOST:PORT, e.g. http://127.0.0.1:2380)`);
  };
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return fail('not a URL');
  }
  if (url.protocol === 'https:') fail('https (TLS) is not supported yet');
  if (url.protocol !== 'http:') fail(`scheme ${url.protocol} is not http:`);
  if (url.username !== '' || url.password !== '') fail('credentials are not allowed');
  if (url.pathname !== '/' && url.pathname !== '') fail(`a path (${url.pathname}) is not allowed`);
  if (url.search !== '' || url.hash !== '') fail('a query or fragment is not allowed');
  if (url.hostname === '') fail('the host is missing');
  // URL drops a port equal to the scheme's default (80), so look at the text too.
  if (url.port === '' && !/:80\/?$/.test(text.trim())) fail('the port is missing');
  const port = url.port === '' ? 80 : Number(url.port);
  if (port === 0 && options.allowPortZero !== true) fail('port 0 is only allowed for a listen address');
  const host = url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port };
}

/** Parses `name=url,name=url,...`; names must be unique and non-empty. */
export function parseInitialCluster(text: string): Map<NodeId, PeerAddress> {
  const members = new Map<NodeId, PeerAddress>();
  for (const item of text.split(',')) {
    const entry = item.trim();
    if (entry === '') continue;
    const equals = entry.indexOf('=');
    if (equals <= 0) throw new AddressError(`invalid cluster member ${JSON.stringify(entry)}: expected NAME=http://HOST:PORT`);
    const name = nodeId(entry.slice(0, equals).trim());
    if (members.has(name)) throw new AddressError(`cluster member ${JSON.stringify(name)} is listed twice`);
    members.set(name, parsePeerUrl(entry.slice(equals + 1)));
  }
  if (members.size === 0) throw new AddressError('the cluster lists no members');
  return members;
}

export function formatPeerAddress(address: PeerAddress): string {
  const host = address.host.includes(':') ? `[${address.host}]` : address.host;
  return `http://${host}:${address.port}`;
}
