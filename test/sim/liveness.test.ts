// The liveness phase must be able to fail: with a majority kept down after the
// faults heal, no write can commit, and the run must say so. With only a
// minority down the cluster is still live, so the check is not just a timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_FAULTS, simOptions } from '../../src/sim/options.js';
import { runSimulation } from '../../src/sim/simulator.js';

// The membership stays fixed here, so "a majority of the nodes" means what it says.
const FIXED_MEMBERSHIP = { ...DEFAULT_FAULTS, reconfiguration: false };

test('a majority that stays crashed through the liveness phase is reported as a liveness violation', () => {
  for (const [seed, nodes, down] of [[41, 3, 2], [42, 5, 3], [43, 3, 3]] as const) {
    const result = runSimulation(simOptions(seed, { nodes, crashedInLiveness: down, faults: FIXED_MEMBERSHIP }));
    assert.equal(result.outcome.kind, 'violation', `seed ${seed}: ${down} of ${nodes} down should not be live`);
    if (result.outcome.kind !== 'violation') return;
    assert.equal(result.outcome.violation.invariant, 'liveness');
    assert.equal(result.outcome.violation.phase, 'liveness');
    assert.match(result.outcome.violation.message, /open operations: c/);
  }
});

test('a minority that stays crashed does not stop the cluster from converging', () => {
  for (const [seed, nodes, down] of [[44, 3, 1], [45, 5, 2]] as const) {
    const result = runSimulation(simOptions(seed, { nodes, crashedInLiveness: down, faults: FIXED_MEMBERSHIP }));
    assert.deepEqual(result.outcome, { kind: 'ok' }, `seed ${seed} with ${down} of ${nodes} down`);
  }
});

test('with no faults at all every operation completes and nothing is given up', () => {
  const faults = { loss: 0, duplicate: 0, longDelay: 0, crashes: false, partitions: false, pauses: false, tornWrites: false, compaction: false, reconfiguration: false };
  const result = runSimulation(simOptions(46, { faults }));
  assert.deepEqual(result.outcome, { kind: 'ok' });
  assert.equal(result.figures.opsIncomplete, 0);
  assert.ok(result.figures.opsCompleted > 100, `only ${result.figures.opsCompleted} operations in a fault-free run`);
});

test('with configuration changes, the voters kept down are those of the newest configuration', () => {
  // Three voters down is a majority of any configuration the simulator makes (3 to 5 voters).
  const stopped = runSimulation(simOptions(47, { crashedInLiveness: 3 }));
  assert.ok(stopped.figures.activity.reconfiguration > 0, 'seed 47 changed the configuration');
  assert.equal(stopped.outcome.kind === 'violation' ? stopped.outcome.violation.invariant : 'ok', 'liveness');
  // One voter down is a minority of any of them.
  const live = runSimulation(simOptions(50, { crashedInLiveness: 1 }));
  assert.ok(live.figures.activity.reconfiguration > 0, 'seed 50 changed the configuration');
  assert.deepEqual(live.outcome, { kind: 'ok' });
});
