/**
 * The replicated key-value state machine with etcd v3 semantics: MVCC
 * revisions and history, ranges, txns, compaction, leases, watch catch-up,
 * and the lock/election helpers the server builds on.
 */
export * from './types.js';
export * from './errors.js';
export { KvStateMachine, type KvStateMachineOptions } from './kv-state-machine.js';
export { keyInRange, keySpan, type KeySpan } from './mvcc-store.js';
export { isTxnReadOnly, MAX_TXN_OPS_DEFAULT, validateKvCommand, validateTxn } from './validate.js';
export { checkRequestSize, commandBytes, MAX_REQUEST_BYTES_DEFAULT } from './limits.js';
export { leaseIdCandidate, MAX_LEASE_TTL_SECONDS, MIN_LEASE_TTL_SECONDS_DEFAULT } from './leases.js';
export { bytesJsonReplacer, bytesJsonReviver, SnapshotError, SNAPSHOT_FORMAT } from './snapshot.js';
export { compareBytes, decodeText, encodeText } from './bytes.js';
export * as lockElection from './lock-election.js';
