/**
 * Cluster and member ids as etcd clients expect them: 64-bit numbers, stable for
 * a cluster's life. They are derived from the cluster token and names with
 * SHA-256, so every member computes the same ids without coordination.
 */
import { createHash } from 'node:crypto';

function hash64(text: string): bigint {
  const digest = createHash('sha256').update(text).digest();
  // Keep it positive and non-zero: etcd treats 0 as "no id".
  const value = digest.readBigUInt64BE(0) & 0x7fff_ffff_ffff_ffffn;
  return value === 0n ? 1n : value;
}

export function clusterIdOf(token: string, members: readonly string[]): bigint {
  return hash64(`cluster\u0000${token}\u0000${[...members].sort().join('\u0000')}`);
}

export function memberIdOf(token: string, member: string): bigint {
  return hash64(`member\u0000${token}\u0000${member}`);
}
