/**
 * The text a chaos run prints: what ran, what was injected, what was checked,
 * and, on any anomaly, the details with the seed and the command that replays
 * the same schedule.
 */
import type { ChaosOptions, ChaosReport } from './run.js';
import { DEFAULT_CHAOS } from './run.js';
import { FAULT_KINDS } from './schedule.js';

export function rerunCommand(options: ChaosOptions): string {
  const parts = ['node bin/synod.js chaos', `--seed ${options.seed}`, `--duration ${Math.round(options.durationMs / 1000)}`, `--nodes ${options.nodes}`, `--clients ${options.clients}`];
  if (options.lockClients !== DEFAULT_CHAOS.lockClients) parts.push(`--lock-clients ${options.lockClients}`);
  if (options.faults.length !== FAULT_KINDS.length) parts.push(`--faults ${options.faults.join(',')}`);
  if (options.electionTimeoutMs !== DEFAULT_CHAOS.electionTimeoutMs) parts.push(`--election-timeout ${options.electionTimeoutMs}`);
  if (options.heartbeatMs !== DEFAULT_CHAOS.heartbeatMs) parts.push(`--heartbeat-interval ${options.heartbeatMs}`);
  if (options.snapshotCount !== DEFAULT_CHAOS.snapshotCount) parts.push(`--snapshot-count ${options.snapshotCount}`);
  if (options.workload.serializableReads) parts.push('--serializable-reads');
  return parts.join(' ');
}

export function formatHeader(options: ChaosOptions): string {
  return (
    `synod chaos: seed ${options.seed}, ${options.nodes} nodes, ${Math.round(options.durationMs / 1000)} s, ` +
    `${options.clients} key-value clients + ${options.lockClients} lock clients, faults: ${options.faults.join(', ')}` +
    (options.workload.serializableReads ? '\nreads are serializable (may be stale): this run is expected to find anomalies' : '')
  );
}

export function formatReport(report: ChaosReport): string {
  const lines: string[] = [];
  const { ops, locks } = report;
  const total = (c: { ok: number; failed: number; incomplete: number }): number => c.ok + c.failed + c.incomplete;
  lines.push(`ran ${(report.elapsedMs / 1000).toFixed(1)} s in ${report.dir}${report.kept ? ' (kept)' : ''}`);
  lines.push('operations:');
  lines.push(`  register  ${total(ops.register)} (ok ${ops.register.ok}, failed ${ops.register.failed}, incomplete ${ops.register.incomplete})`);
  lines.push(`  cas       ${total(ops.cas)} (ok ${ops.cas.ok}, failed ${ops.cas.failed}, incomplete ${ops.cas.incomplete})`);
  lines.push(`  final     ${ops.final.ok} reads after healing (${ops.final.failed} retried)`);
  if (locks.available) {
    lines.push(`  lock      ${locks.counts.attempts} attempts, ${locks.counts.acquired} acquired, ${locks.holds} holds with a token, ${locks.counts.lost} lost to lease expiry, ${locks.counts.failed} failed`);
  } else {
    lines.push(`  lock      ${locks.note}`);
  }
  const reasons = [...report.failureReasons].sort((a, b) => b[1] - a[1]).slice(0, 5);
  if (reasons.length > 0) {
    lines.push('  most common failures:');
    for (const [reason, count] of reasons) lines.push(`    ${String(count).padStart(5)}  ${reason}`);
  }
  lines.push('faults injected:');
  const injected = FAULT_KINDS.filter((kind) => report.options.faults.includes(kind));
  lines.push(`  ${injected.map((kind) => `${kind} ${report.faults.get(kind) ?? 0}`).join(', ')}`);
  for (const skipped of report.skippedFaults.slice(0, 5)) lines.push(`  skipped: ${skipped}`);
  if (report.skippedFaults.length > 5) lines.push(`  ... and ${report.skippedFaults.length - 5} more skipped`);
  for (const outcome of report.diskFull) lines.push(`  disk ${outcome.mode} on ${outcome.node} (files limited to ${outcome.limitBytes} B): ${outcome.result.slice(0, 200)}`);
  if (report.proxy !== null) {
    const p = report.proxy;
    lines.push(`  peer messages: ${p.framesForwarded} forwarded, ${p.framesDropped} dropped, ${p.framesSwallowed} swallowed by partitions; ${p.resets} connections reset`);
  }
  const expected = report.exits.filter((e) => e.cause !== 'unexpected' && e.cause !== 'stopped');
  lines.push(`  node exits: ${expected.filter((e) => e.cause === 'killed').length} kill -9, ${expected.filter((e) => e.cause === 'disk-full').length} disk full, ${report.exits.filter((e) => e.cause === 'unexpected').length} unexpected`);
  lines.push('checks:');
  const lin = report.linearizability;
  if (lin === null) lines.push('  linearizability: no history');
  else {
    const verdict = lin.result.kind === 'ok' ? 'ok' : lin.result.kind === 'violation' ? 'VIOLATION' : 'INCONCLUSIVE';
    lines.push(`  linearizability: ${verdict} (${lin.operations} operations over ${lin.keys} keys; ${lin.removedPuts} unobserved incomplete puts set aside)`);
  }
  const lostWrites = report.anomalies.filter((a) => a.kind === 'lost-write').length;
  lines.push(`  acknowledged writes present at the end: ${lostWrites === 0 ? 'ok' : `${lostWrites} LOST`}`);
  const lockAnomalies = report.anomalies.filter((a) => a.kind === 'lock').length;
  lines.push(`  lock holders never overlapped: ${!locks.available ? 'not checked' : lockAnomalies === 0 ? `ok (${locks.holds} holds)` : `${lockAnomalies} VIOLATIONS`}`);
  const recovery = report.recovery;
  lines.push(`  recovery after healing: ${recovery === null ? 'not reached' : recovery.recovered ? `ok (${(recovery.tookMs / 1000).toFixed(1)} s)` : 'FAILED'}`);
  const convergence = report.convergence;
  lines.push(
    `  replicas converged: ${
      convergence === null ? 'not checked' : convergence.kind === 'converged' ? `ok (applied through slot ${convergence.appliedThrough}, hash ${convergence.hash})` : convergence.kind === 'diverged' ? 'DIVERGED' : `not settled (${convergence.reason})`
    }`,
  );
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  if (report.anomalies.length === 0) {
    lines.push('anomalies: none');
    return lines.join('\n');
  }
  lines.push(`anomalies: ${report.anomalies.length}`);
  for (const anomaly of report.anomalies.slice(0, 20)) {
    lines.push(`  [${anomaly.kind}] ${anomaly.message}`);
    if (anomaly.kind === 'not-linearizable' && anomaly.excerpt !== null) {
      lines.push('  the key\'s operations:');
      lines.push(anomaly.excerpt.split('\n').map((l) => `    ${l}`).join('\n'));
    }
  }
  if (report.anomalies.length > 20) lines.push(`  ... and ${report.anomalies.length - 20} more`);
  if (report.kept) lines.push(`history, node logs and the nemesis log are in ${report.dir}`);
  lines.push(`seed ${report.options.seed}; replay the same schedule with:`);
  lines.push(`  ${rerunCommand(report.options)}`);
  return lines.join('\n');
}
