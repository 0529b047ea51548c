/**
 * The checker on histories of realistic size: 2,000 operations from 5 clients on
 * 3 keys, linearizable by construction. It must say ok within a generous budget,
 * and must catch a single read rewritten to a provably stale value.
 *
 * Failures print the seed; replay one with
 *   SYNOD_CHECK_SEED=<seed> node --test dist/test/check/large-history.test.js
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/core/random.js';
import type { CompletedOperation, Operation } from '../../src/check/history.js';
import { isComplete, precedes } from '../../src/check/history.js';
import { checkLinearizable } from '../../src/check/linearizability.js';
import type { OperationSpec } from './simulated-history.js';
import { simulateHistory } from './simulated-history.js';

const SEED = Number(process.env.SYNOD_CHECK_SEED ?? 20240611);
const BUDGET = 2_000_000;
const replay = `seed ${SEED}: replay with SYNOD_CHECK_SEED=${SEED} node --test dist/test/check/large-history.test.js`;

function randomSpecs(random: Random, count: number): OperationSpec[] {
  const specs: OperationSpec[] = [];
  for (let i = 0; i < count; i++) {
    const roll = random.nextFloat();
    specs.push({
      client: random.intBetween(0, 4),
      key: random.intBetween(0, 2),
      kind: roll < 0.5 ? 'get' : roll < 0.75 ? 'put' : 'cas',
      value: 0,
      // Half the cas operations expect the current value and succeed; the rest
      // expect a value that is often stale by then, and fail.
      expected: random.chance(0.5) ? 0 : -1,
      gap: random.intBetween(0, 5),
      duration: random.intBetween(1, 20),
      effectAt: random.nextFloat(),
      // A few incomplete operations: each one stays a candidate for the rest of
      // its key's history, which is what makes real searches expensive.
      fate: random.chance(0.01) ? (random.chance(0.5) ? 'applied' : 'lost') : 'complete',
    });
  }
  return specs;
}

function largeHistory(): Operation[] {
  return simulateHistory(randomSpecs(new Random(SEED), 2_000), { keys: ['x', 'y', 'z'], values: 'unique' });
}

/**
 * Rewrites the latest possible read to return a value that was overwritten
 * before the read began: put w, then a put of something else, both returned
 * before the read's call. Values are unique per write, so w cannot come back.
 */
function withStaleRead(operations: Operation[]): { operations: Operation[]; staleId: number; key: string } {
  const completed = operations.filter(isComplete);
  const puts = completed.filter((operation) => operation.input.kind === 'put');
  const reads = completed.filter((operation) => operation.input.kind === 'get').reverse();
  for (const read of reads) {
    const key = read.input.key;
    const overwriting = puts.filter((put) => put.input.key === key && precedes(put, read));
    for (const later of overwriting) {
      const stale = overwriting.find((earlier): earlier is CompletedOperation => precedes(earlier, later));
      if (stale === undefined || stale.input.kind !== 'put') continue;
      const staleValue = stale.input.value;
      const mutated = operations.map((operation) =>
        operation.id === read.id ? { ...operation, output: { kind: 'get' as const, value: staleValue } } : operation,
      );
      return { operations: mutated, staleId: read.id, key };
    }
  }
  throw new Error(`no read could be made stale (${replay})`);
}

/** Pairs of completed operations whose intervals overlap, i.e. that are concurrent. */
function overlappingPairs(operations: readonly Operation[]): number {
  const completed = operations.filter(isComplete).sort((a, b) => a.call - b.call);
  let pairs = 0;
  completed.forEach((operation, index) => {
    for (let j = index + 1; j < completed.length && (completed[j] as CompletedOperation).call <= operation.return; j++) pairs++;
  });
  return pairs;
}

describe('checkLinearizable on a 2,000-operation history', () => {
  const operations = largeHistory();

  it('accepts the linearizable history within the budget', () => {
    const incomplete = operations.filter((operation) => !isComplete(operation)).length;
    const started = performance.now();
    const result = checkLinearizable(operations, { budgetStatesPerKey: BUDGET });
    const elapsedMs = performance.now() - started;
    assert.equal(result.kind, 'ok', `${JSON.stringify(result)} (${replay})`);
    assert.ok(elapsedMs < 5_000, `took ${elapsedMs.toFixed(0)} ms (${replay})`);
    // The generator must really produce the concurrency and failures the test
    // claims to cover, or the ok above would be cheap.
    assert.ok(incomplete >= 5, `only ${incomplete} incomplete operations (${replay})`);
    const casOutcomes = new Set(operations.map((operation) => (operation.output?.kind === 'cas' ? operation.output.ok : undefined)));
    assert.ok(casOutcomes.has(true) && casOutcomes.has(false), `cas never succeeds or never fails (${replay})`);
    assert.ok(overlappingPairs(operations) > operations.length, `too little concurrency (${replay})`);
  });

  it('catches a single read mutated to a stale value', () => {
    const { operations: mutated, staleId, key } = withStaleRead(operations);
    const result = checkLinearizable(mutated, { budgetStatesPerKey: BUDGET });
    assert.ok(result.kind === 'violation', `${JSON.stringify(result).slice(0, 500)} (${replay})`);
    assert.equal(result.key, key);
    assert.ok(result.operations.some((operation) => operation.id === staleId));
  });

  it('answers unknown rather than searching on when the budget is tiny', () => {
    const { operations: mutated } = withStaleRead(operations);
    const result = checkLinearizable(mutated, { budgetStatesPerKey: 50 });
    assert.equal(result.kind, 'unknown', replay);
  });
});
