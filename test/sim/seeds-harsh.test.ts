// Sweeps with the knobs turned past the defaults: a network that loses a
// quarter of all messages and delays many, and long runs with many clients
// (deep logs, full pipelines, batches, many snapshots). Still no violation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds, type SimJob, type SimOverrides } from '../../src/cli/pool.js';
import { DEFAULT_FAULTS, defaultNodes } from '../../src/sim/options.js';
import { SweepTally, formatViolation } from '../../src/sim/report.js';

const THREADS = 2;

async function sweep(firstSeed: number, seeds: number, overrides: SimOverrides): Promise<SweepTally> {
  const jobs: SimJob[] = Array.from({ length: seeds }, (_, i) => ({ seed: firstSeed + i, overrides: { nodes: defaultNodes(firstSeed + i), ...overrides } }));
  const tally = new SweepTally();
  await runSeeds(jobs, THREADS, (result) => tally.add(result));
  const failures = tally.failures().map((result) => (result.outcome.kind === 'violation' ? formatViolation(result, result.outcome.violation, true) : ''));
  assert.deepEqual(failures, [], 'violations with the real replica');
  assert.equal(tally.seeds, seeds);
  return tally;
}

test('400 seeds on a network losing 25% and duplicating 15% of messages, 40% of them delayed long, find no violation', async () => {
  const tally = await sweep(50_001, 400, { faults: { ...DEFAULT_FAULTS, loss: 0.25, duplicate: 0.15, longDelay: 0.4 } });
  console.log(`harsh network: ${tally.summaryLine()}; ${tally.opsCompleted} ops; lost ${tally.faults['message-lost']} messages`);
  assert.ok(tally.faults['message-lost'] > tally.events / 20, 'the network really was lossy');
});

test('60 long runs (15 s virtual, 12 clients) find no violation under a heavy load of clients', async () => {
  const tally = await sweep(60_001, 60, { safetyMs: 15_000, clients: 12 });
  console.log(`long runs: ${tally.summaryLine()}; ${tally.opsCompleted} ops; ${tally.activity['state-transfer']} state transfers`);
  assert.ok(tally.opsCompleted > 60 * 300, `only ${tally.opsCompleted} operations in long runs`);
});
