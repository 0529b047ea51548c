// The real replica under every fault, over many seeds, must show no violation.
// Seeds alternate between 3 and 5 replicas and run on two worker threads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { runSeeds, type SimJob } from '../../src/cli/pool.js';
import { FAULT_KINDS } from '../../src/sim/events.js';
import { defaultNodes } from '../../src/sim/options.js';
import { SweepTally, formatViolation } from '../../src/sim/report.js';

const FIRST_SEED = 1;
const SEEDS = 2_000;
const THREADS = 2;

test(`${SEEDS} seeds across 3 and 5 replicas with every fault on find no violation`, async () => {
  const jobs: SimJob[] = Array.from({ length: SEEDS }, (_, i) => {
    const seed = FIRST_SEED + i;
    return { seed, overrides: { nodes: defaultNodes(seed) } };
  });
  const tally = new SweepTally();
  let threeNodeRuns = 0;
  let checkedHistories = 0;
  const started = performance.now();
  await runSeeds(jobs, THREADS, (result) => {
    tally.add(result);
    if (result.options.nodes === 3) threeNodeRuns += 1;
    if (result.figures.linearizability === 'ok') checkedHistories += 1;
  });
  const elapsedMs = performance.now() - started;
  console.log(`${tally.summaryLine()}\n${tally.figures(elapsedMs)}`);

  const failures = tally.failures().map((result) => (result.outcome.kind === 'violation' ? formatViolation(result, result.outcome.violation, true) : ''));
  assert.deepEqual(failures, [], 'violations with the real replica');
  assert.equal(tally.seeds, SEEDS);
  assert.ok(threeNodeRuns > 0 && threeNodeRuns < SEEDS, 'both cluster sizes ran');
  // The sweep proves something only if the faults happened and the machinery
  // they should exercise (state transfer, torn writes, retries) ran.
  for (const kind of FAULT_KINDS) assert.ok(tally.faults[kind] > 0, `no ${kind} was injected`);
  for (const kind of ['compaction', 'state-transfer', 'catchup', 'election', 'client-retry', 'reconfiguration', 'hand-over'] as const) {
    assert.ok(tally.activity[kind] > 0, `nothing exercised ${kind}`);
  }
  assert.ok(tally.opsCompleted > SEEDS * 20, `only ${tally.opsCompleted} client operations completed`);
  assert.ok(checkedHistories > SEEDS * 0.95, `only ${checkedHistories} histories were decided linearizable`);
});
