// Configuration changes under every fault: grow, shrink, replace a down voter
// with a new node, promote learners, with hand-overs and partitions cut around
// changes. The real replica must show no violation, and every kind of change
// must really happen (a sweep that changed nothing would prove nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { runSeeds, type SimJob } from '../../src/cli/pool.js';
import { CHANGE_KINDS } from '../../src/sim/events.js';
import { DEFAULT_FAULTS, defaultNodes, simOptions } from '../../src/sim/options.js';
import { SweepTally, formatViolation, replayCommand } from '../../src/sim/report.js';
import { runSimulation } from '../../src/sim/simulator.js';

const FIRST_SEED = 70_001;
const SEEDS = 300;
const THREADS = 2;

test(`${SEEDS} seeds with configuration changes under every fault find no violation, and every kind of change happens`, async () => {
  const jobs: SimJob[] = Array.from({ length: SEEDS }, (_, i) => ({ seed: FIRST_SEED + i, overrides: { nodes: defaultNodes(FIRST_SEED + i) } }));
  const tally = new SweepTally();
  const started = performance.now();
  await runSeeds(jobs, THREADS, (result) => tally.add(result));
  console.log(`reconfiguration sweep: ${tally.summaryLine()}\n${tally.figures(performance.now() - started)}`);

  const failures = tally.failures().map((result) => (result.outcome.kind === 'violation' ? formatViolation(result, result.outcome.violation, true) : ''));
  assert.deepEqual(failures, [], 'violations with the real replica');
  assert.equal(tally.seeds, SEEDS);
  for (const kind of CHANGE_KINDS) assert.ok(tally.reconfigurations[kind] > 0, `no ${kind} change was applied`);
  assert.ok(tally.activity.reconfiguration > SEEDS * 2, `only ${tally.activity.reconfiguration} changes in ${SEEDS} runs`);
  assert.ok(tally.activity['hand-over'] > 0, 'no leader handed over after removing itself');
  assert.ok(tally.activity['reconfiguration-cut'] > 0, 'no partition was cut around a change');
  assert.ok(tally.reconfigurations.rejected > 0, 'no change was refused (stale, in progress, behind, not the leader)');
  assert.ok(tally.activity['state-transfer'] > 0, 'no new member caught up by snapshot');
});

test('with reconfiguration off, no change is made and the run has only its bootstrap members', () => {
  const options = simOptions(7, { faults: { ...DEFAULT_FAULTS, reconfiguration: false } });
  assert.match(replayCommand(options), /--no-reconfiguration/);
  const lines: string[] = [];
  const result = runSimulation({ ...options, onTrace: (line) => lines.push(line) });
  assert.deepEqual(result.outcome, { kind: 'ok' });
  assert.equal(result.figures.activity.reconfiguration, 0);
  assert.ok(Object.values(result.figures.reconfigurations).every((count) => count === 0));
  assert.ok(!lines.some((line) => / n[6-9] | n[6-9]->|->n[6-9] /.test(line)), 'no node beyond the five bootstrap members ever acts');
});

test('a replay of a seed with changes repeats them exactly', () => {
  const seed = FIRST_SEED + 1;
  const [first, second] = [0, 1].map(() => runSimulation(simOptions(seed)));
  assert.ok((first?.figures.activity.reconfiguration ?? 0) > 0, `seed ${seed} made no change`);
  assert.deepEqual(second?.figures, first?.figures);
  assert.equal(second?.traceDigest, first?.traceDigest);
});
