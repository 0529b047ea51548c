/**
 * The cluster's membership as the etcd API shows it, kept in the replicated
 * configuration (core/multipaxos/membership.ts): each member's opaque `info` is
 * the JSON of its name and URLs.
 *
 * Member ids: a bootstrap member's node id is its name and its etcd member id
 * a hash of token and name (identity.ts). A member added later (MemberAdd names
 * only peer URLs) gets a node id derived from its first peer URL, "@" and the
 * 16 hex digits of its member id, so the new process can work out who it is
 * from its own flags; the same URL added again after a removal gets the same
 * id, which is safe because removal and addition are both ordered in the log.
 */
import { type NodeId, nodeId } from '../core/ids.js';
import type { ConfigEntry, Member, Membership } from '../core/multipaxos/types.js';
import type { HostPort, NodeConfig } from './config.js';
import { memberIdOf } from './identity.js';

export interface MemberInfo {
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
}

/** A member as the Cluster API lists it. */
export interface MemberView {
  readonly node: NodeId;
  readonly id: bigint;
  readonly name: string;
  readonly peerURLs: readonly string[];
  readonly clientURLs: readonly string[];
  readonly isLearner: boolean;
}

export function url(address: HostPort): string {
  return `http://${address.host}:${address.port}`;
}

export function encodeInfo(info: MemberInfo): string {
  return JSON.stringify({ name: info.name, peerURLs: info.peerURLs, clientURLs: info.clientURLs });
}

/** The info of a member, or null when it has none (a bootstrap member) or it is not ours. */
export function decodeInfo(text: string): MemberInfo | null {
  if (text === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((s) => typeof s === 'string');
  if (typeof v.name !== 'string' || !strings(v.peerURLs) || !strings(v.clientURLs)) return null;
  return { name: v.name, peerURLs: v.peerURLs, clientURLs: v.clientURLs };
}

const ADDED_PREFIX = '@';

/** The node id of a member added through the API with `peerUrl` as its first peer URL. */
export function nodeIdForPeerUrl(token: string, peerUrl: string): NodeId {
  return nodeId(`${ADDED_PREFIX}${memberIdOf(token, `peer\u0000${normalizeUrl(peerUrl)}`).toString(16).padStart(16, '0')}`);
}

/** The etcd member id of a node id. */
export function memberIdOfNode(token: string, id: NodeId): bigint {
  if (id.startsWith(ADDED_PREFIX) && /^@[0-9a-f]{16}$/.test(id)) return BigInt(`0x${id.slice(1)}`);
  return memberIdOf(token, id);
}

export function normalizeUrl(text: string): string {
  const parsed = new URL(text);
  return `${parsed.protocol}//${parsed.hostname}:${parsed.port}`;
}

/** A peer URL's host and port, or null if it is not a plain http URL. */
export function hostPortOf(text: string): HostPort | null {
  try {
    const parsed = new URL(text);
    const port = Number(parsed.port);
    if (parsed.protocol !== 'http:' || !Number.isInteger(port) || port < 1 || port > 65535) return null;
    return { host: parsed.hostname, port };
  } catch {
    return null;
  }
}

/** Every member of `entry` as the API lists it; bootstrap members take their URLs from the flags. */
export function viewMembers(config: NodeConfig, entry: ConfigEntry | null): MemberView[] {
  if (entry === null) return [];
  return entry.membership.members.map((member) => viewMember(config, member));
}

export function viewMember(config: NodeConfig, member: Member): MemberView {
  const info = decodeInfo(member.info);
  const peer = config.initialCluster.get(member.id);
  const client = config.clientUrls.get(member.id);
  return {
    node: member.id,
    id: memberIdOfNode(config.clusterToken, member.id),
    name: info?.name ?? member.id,
    peerURLs: info?.peerURLs ?? (peer === undefined ? [] : [url(peer)]),
    clientURLs: info !== null && info.clientURLs.length > 0 ? info.clientURLs : client === undefined ? [] : [url(client)],
    isLearner: !member.voter,
  };
}

export function withMember(membership: Membership, member: Member): Membership {
  return { members: [...membership.members.filter((m) => m.id !== member.id), member] };
}

export function withoutMember(membership: Membership, id: NodeId): Membership {
  return { members: membership.members.filter((m) => m.id !== id) };
}
