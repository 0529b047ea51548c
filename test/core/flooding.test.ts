/**
 * FloodSet (Lynch, "Distributed Algorithms", §6.2), checked exhaustively for small
 * systems: every input assignment from {0, 1}, every set of up to f crashing
 * processes, every crash round and every subset that receives the last message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  runFlooding,
  startFlooding,
  stepFlooding,
  validateFloodingConfig,
  type FloodingConfig,
  type FloodingCrash,
} from '../../src/core/flooding/index.js';

function subsets<T>(items: readonly T[]): T[][] {
  return items.reduce<T[][]>((all, item) => all.concat(all.map((s) => [...s, item])), [[]]);
}

/** All choices of `k` items, in order. */
function combinations<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  return items.flatMap((item, i) => combinations(items.slice(i + 1), k - 1).map((rest) => [item, ...rest]));
}

/** Every crash schedule with at most f crashes in rounds 1..rounds. */
function crashSchedules(n: number, f: number, rounds: number): FloodingCrash[][] {
  const processes = Array.from({ length: n }, (_, i) => i);
  const one = (process: number): FloodingCrash[] =>
    Array.from({ length: rounds }, (_, r) => r + 1).flatMap((round) =>
      subsets(processes.filter((p) => p !== process)).map((receivers) => ({ process, round, receivers })));
  const schedules: FloodingCrash[][] = [];
  for (let k = 0; k <= f; k++) {
    for (const crashing of combinations(processes, k)) {
      let partial: FloodingCrash[][] = [[]];
      for (const process of crashing) partial = partial.flatMap((s) => one(process).map((c) => [...s, c]));
      schedules.push(...partial);
    }
  }
  return schedules;
}

function binaryInputs(n: number): number[][] {
  return Array.from({ length: 2 ** n }, (_, bits) => Array.from({ length: n }, (_, i) => (bits >> i) & 1));
}

/** Every execution; returns the first config where correct processes disagree, or null. */
function findDisagreement(n: number, f: number, rounds: number): { config: FloodingConfig; decisions: readonly (number | null)[] } | null {
  const schedules = crashSchedules(n, f, rounds);
  for (const inputs of binaryInputs(n)) {
    for (const crashes of schedules) {
      const config = { inputs, f, rounds, crashes };
      const { decisions } = runFlooding(config);
      const decided = decisions.filter((d): d is number => d !== null);
      for (const d of decided) assert.ok(inputs.includes(d), `validity: ${d} is nobody's input in ${JSON.stringify(config)}`);
      if (new Set(decided).size > 1) return { config, decisions };
    }
  }
  return null;
}

describe('FloodSet', () => {
  for (const [n, f] of [[3, 1], [4, 2]] as const) {
    it(`n=${n}, f=${f}: after f+1 rounds every correct process decides the same input, in every execution`, () => {
      const counterexample = findDisagreement(n, f, f + 1);
      assert.equal(counterexample, null, `disagreement: ${JSON.stringify(counterexample)}`);
    });

    it(`n=${n}, f=${f}: with only f rounds the search finds a run where two correct processes disagree`, () => {
      const counterexample = findDisagreement(n, f, f);
      assert.ok(counterexample !== null, 'f rounds must not be enough');
      const { config, decisions } = counterexample;
      assert.equal(config.crashes.length, f, 'it takes a crash in every round to hide a value');
      const correct = decisions.filter((d) => d !== null);
      assert.ok(correct.includes(0) && correct.includes(1));
    });
  }

  it('the enumeration covers every schedule: 25 for n=3 f=1 with 2 rounds', () => {
    // none + 3 processes x 2 rounds x 4 receiver subsets
    assert.equal(crashSchedules(3, 1, 2).length, 1 + 3 * 2 * 4);
  });

  it('a process that crashes sends its last message only to the chosen receivers and then stops', () => {
    const start = startFlooding({ inputs: [0, 1, 1], f: 1, crashes: [{ process: 0, round: 1, receivers: [2] }] });
    const { state, record } = stepFlooding(start);
    assert.deepEqual(record.messages.filter((m) => m.from === 0), [{ from: 0, to: 2, values: [0] }]);
    assert.deepEqual(state.processes, [
      { status: 'crashed', crashRound: 1, known: [0] },
      { status: 'running', known: [1] },
      { status: 'running', known: [0, 1] },
    ]);
    const last = stepFlooding(state);
    assert.deepEqual(last.record.messages.map((m) => m.from), [1, 1, 2, 2], 'the crashed process sends nothing in round 2');
    assert.deepEqual(runFlooding(start.config).decisions, [null, 0, 0]);
  });

  it('rejects configs from outside that break the model, with a reason', () => {
    const base = { inputs: [0, 1, 1], f: 1 };
    assert.equal(validateFloodingConfig({ ...base, crashes: [] }), null);
    assert.match(validateFloodingConfig({ ...base, crashes: [{ process: 0, round: 1, receivers: [] }, { process: 1, round: 1, receivers: [] }] }) ?? '', /exceed f/);
    assert.match(validateFloodingConfig({ ...base, crashes: [{ process: 0, round: 3, receivers: [] }] }) ?? '', /outside/);
    assert.match(validateFloodingConfig({ ...base, crashes: [{ process: 0, round: 1, receivers: [0] }] }) ?? '', /cannot send/);
  });
});
