// One seed, one run: the whole trace and every figure repeat exactly, in this
// thread or in a worker, which is what makes a printed seed worth replaying.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeeds } from '../../src/cli/pool.js';
import { simOptions } from '../../src/sim/options.js';
import { runSimulation, type SimResult } from '../../src/sim/simulator.js';

function comparable(result: SimResult): unknown {
  return { outcome: result.outcome, figures: result.figures, traceDigest: result.traceDigest };
}

test('the same seed twice gives an identical trace, outcome and figures', () => {
  for (const seed of [11, 12, 13]) {
    const lines: string[][] = [[], []];
    const runs = [0, 1].map((i) => runSimulation(simOptions(seed, { onTrace: (line) => lines[i]?.push(line) })));
    assert.deepEqual(comparable(runs[1] as SimResult), comparable(runs[0] as SimResult), `seed ${seed}`);
    assert.deepEqual(lines[1], lines[0], `trace of seed ${seed}`);
    assert.ok((lines[0]?.length ?? 0) > 100, 'a trace long enough to mean something');
  }
});

test('a failing seed fails the same way every time (a mutant run replays exactly)', () => {
  const options = simOptions(2, { nodes: 3, mutant: 'commit-without-majority' });
  const first = runSimulation(options);
  const second = runSimulation(options);
  assert.equal(first.outcome.kind, 'violation');
  assert.deepEqual(comparable(second), comparable(first));
});

test('different seeds give different runs (the fingerprint is not a constant)', () => {
  const digests = new Set([21, 22, 23, 24].map((seed) => runSimulation(simOptions(seed)).traceDigest));
  assert.equal(digests.size, 4);
});

test('a run in a worker thread equals the same run in this thread', async () => {
  const seeds = [31, 32, 33];
  const inWorkers = new Map<number, SimResult>();
  await runSeeds(seeds.map((seed) => ({ seed, overrides: {} })), 2, (result) => inWorkers.set(result.options.seed, result));
  for (const seed of seeds) {
    const here = runSimulation(simOptions(seed));
    assert.deepEqual(comparable(inWorkers.get(seed) as SimResult), comparable(here), `seed ${seed}`);
  }
});
