/**
 * The real checker against the brute-force one on random small histories. The
 * histories start linearizable (simulate-history.ts) and then some outputs are
 * replaced at random, so both verdicts come up often; the test insists on that,
 * because agreement on only one kind of verdict would prove little.
 *
 * On failure fast-check prints the seed and the shrunk counterexample; replay with
 * `fc.assert(..., { seed, path })`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bruteForceLinearizable } from '../../src/check/brute-force.js';
import type { Operation } from '../../src/check/history.js';
import { checkLinearizable, formatHistory } from '../../src/check/linearizability.js';
import type { OperationSpec } from './simulated-history.js';
import { simulateHistory } from './simulated-history.js';

const VALUES = ['a', 'b', 'c'];

const operationSpec: fc.Arbitrary<OperationSpec> = fc.record({
  client: fc.integer({ min: 0, max: 2 }),
  key: fc.integer({ min: 0, max: 1 }),
  kind: fc.constantFrom('get', 'put', 'cas'),
  value: fc.integer({ min: 0, max: VALUES.length - 1 }),
  expected: fc.integer({ min: -1, max: VALUES.length - 1 }),
  // Small integer times make equal timestamps (touching intervals) common.
  gap: fc.integer({ min: 0, max: 3 }),
  duration: fc.integer({ min: 0, max: 6 }),
  effectAt: fc.double({ min: 0, max: 1, noNaN: true }),
  fate: fc.constantFrom<OperationSpec['fate']>('complete', 'complete', 'complete', 'complete', 'applied', 'lost'),
});

/** For each operation, maybe a replacement output: a value index (-1 = absent) for a get, a flip for a cas. */
const perturbation = fc.option(fc.integer({ min: -1, max: VALUES.length - 1 }), { freq: 3 });

const randomHistory = fc
  .record({
    keyCount: fc.integer({ min: 1, max: 2 }),
    specs: fc.array(fc.tuple(operationSpec, perturbation), { minLength: 1, maxLength: 7 }),
  })
  .map(({ keyCount, specs }) => {
    const operations = simulateHistory(
      specs.map(([spec]) => spec),
      { keys: ['x', 'y'].slice(0, keyCount), values: VALUES },
    );
    return operations.map((operation, index) => perturb(operation, specs[index]?.[1] ?? null));
  });

function perturb(operation: Operation, replacement: number | null): Operation {
  if (replacement === null || operation.output === undefined) return operation;
  switch (operation.output.kind) {
    case 'get':
      return { ...operation, output: { kind: 'get', value: replacement < 0 ? null : (VALUES[replacement] ?? null) } };
    case 'cas':
      return { ...operation, output: { kind: 'cas', ok: !operation.output.ok } };
    case 'put':
      return operation;
  }
}

describe('checkLinearizable agrees with brute force', () => {
  it('on random small histories, with both verdicts common', () => {
    const verdicts = { ok: 0, violation: 0 };
    fc.assert(
      fc.property(randomHistory, (operations) => {
        const result = checkLinearizable(operations);
        const brute = bruteForceLinearizable(operations);
        assert.notEqual(result.kind, 'unknown');
        assert.equal(result.kind, brute.kind, `checker says ${result.kind}, brute force says ${brute.kind}:\n${formatHistory(operations)}`);
        verdicts[brute.kind]++;
      }),
      { numRuns: 400 },
    );
    // With these generator weights each verdict is roughly 35-65%; a fifth is a
    // loose floor that still catches a generator that stopped producing one kind.
    assert.ok(verdicts.ok >= 80, `only ${verdicts.ok} linearizable histories in 400`);
    assert.ok(verdicts.violation >= 80, `only ${verdicts.violation} violations in 400`);
  });

  it('on unperturbed simulated histories, which are linearizable by construction', () => {
    fc.assert(
      fc.property(fc.array(operationSpec, { minLength: 1, maxLength: 8 }), (specs) => {
        const operations = simulateHistory(specs, { keys: ['x', 'y'], values: VALUES });
        assert.equal(bruteForceLinearizable(operations).kind, 'ok', formatHistory(operations));
        assert.equal(checkLinearizable(operations).kind, 'ok', formatHistory(operations));
      }),
      { numRuns: 100 },
    );
  });
});
