// Every planted bug must be caught within a fixed budget of seeds; a simulator
// that lets one through would make its passing runs worthless.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listMutants } from '../../src/sim/mutants.js';
import { simOptions } from '../../src/sim/options.js';
import { replayCommand } from '../../src/sim/report.js';
import { runSimulation } from '../../src/sim/simulator.js';

/** Seeds tried per mutant, from seed 1 on, alternating 3 and 5 replicas. */
const SEED_BUDGET = 100;

for (const mutant of listMutants()) {
  test(`the simulator catches the planted bug ${mutant} within ${SEED_BUDGET} seeds`, () => {
    for (let seed = 1; seed <= SEED_BUDGET; seed += 1) {
      const result = runSimulation(simOptions(seed, { mutant }));
      if (result.outcome.kind === 'ok') continue;
      const violation = result.outcome.violation;
      console.log(`${mutant}: caught by seed ${seed} (${result.options.nodes} replicas) as ${violation.invariant}; replay: ${replayCommand(result.options)}`);
      // A crash of the simulator is not a catch: it must be a broken invariant.
      assert.notEqual(violation.invariant, 'crash', violation.message);
      return;
    }
    assert.fail(`${mutant} survived ${SEED_BUDGET} seeds`);
  });
}

test('the mutant list is what the CLI and docs name, and each name is unique', () => {
  const names = listMutants();
  assert.deepEqual([...names].sort(), [
    'accept-below-promise',
    'activate-config-before-decided',
    'apply-out-of-order',
    'commit-without-majority',
    'forget-promise-on-restart',
    'forget-votes-on-restart',
    'ignore-promised-values',
    'lease-on-ticks',
    'read-without-quorum',
    'reply-before-durable',
  ]);
});
