/**
 * Hand-written histories with known verdicts. Each runs through both the real
 * checker and the brute-force one, so a case with a wrong expectation shows up as
 * a disagreement rather than quietly testing the wrong thing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bruteForceLinearizable } from '../../src/check/brute-force.js';
import type { Operation } from '../../src/check/history.js';
import { checkLinearizable, formatHistory } from '../../src/check/linearizability.js';
import { history } from './history-builder.js';

interface Case {
  name: string;
  operations: Operation[];
  /** 'ok', or the key whose sub-history must be reported. */
  expected: 'ok' | { violationOn: string };
}

const cases: Case[] = [
  { name: 'an empty history is linearizable', operations: [], expected: 'ok' },
  { name: 'a read of a never-written key sees absent', operations: history().get('c1', 0, 1, 'x', null).operations, expected: 'ok' },
  {
    name: 'a sequential history that follows the register spec is linearizable',
    operations: history()
      .put('c1', 0, 1, 'x', 'a')
      .get('c1', 2, 3, 'x', 'a')
      .cas('c1', 4, 5, 'x', 'a', 'b', true)
      .get('c2', 6, 7, 'x', 'b')
      .cas('c2', 8, 9, 'x', 'a', 'c', false)
      .cas('c1', 10, 11, 'x', null, 'd', false)
      .get('c1', 12, 13, 'x', 'b').operations,
    expected: 'ok',
  },
  {
    name: 'a stale read after a later write returned is a violation',
    operations: history().put('c1', 0, 1, 'x', 'a').put('c1', 2, 3, 'x', 'b').get('c2', 4, 5, 'x', 'a').operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'a lost update (two concurrent cas from the same expected value both succeed) is a violation',
    operations: history()
      .put('c1', 0, 1, 'x', 'a')
      .cas('c1', 2, 10, 'x', 'a', 'b', true)
      .cas('c2', 3, 9, 'x', 'a', 'c', true).operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'two concurrent cas from the same expected value where one fails are linearizable',
    operations: history()
      .put('c1', 0, 1, 'x', 'a')
      .cas('c1', 2, 10, 'x', 'a', 'b', true)
      .cas('c2', 3, 9, 'x', 'a', 'c', false)
      .get('c3', 11, 12, 'x', 'b').operations,
    expected: 'ok',
  },
  {
    name: 'after two concurrent writes a read may see the first writer',
    operations: history().put('c1', 0, 10, 'x', 'a').put('c2', 1, 9, 'x', 'b').get('c3', 11, 12, 'x', 'a').operations,
    expected: 'ok',
  },
  {
    name: 'after two concurrent writes a read may see the second writer',
    operations: history().put('c1', 0, 10, 'x', 'a').put('c2', 1, 9, 'x', 'b').get('c3', 11, 12, 'x', 'b').operations,
    expected: 'ok',
  },
  {
    name: 'after two concurrent writes finished, reads cannot see them in both orders',
    operations: history()
      .put('c1', 0, 10, 'x', 'a')
      .put('c2', 1, 9, 'x', 'b')
      .get('c3', 11, 12, 'x', 'a')
      .get('c4', 13, 14, 'x', 'b').operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'a read concurrent with a write may see the old value',
    operations: history().put('c1', 0, 1, 'x', 'a').put('c1', 2, 10, 'x', 'b').get('c2', 3, 5, 'x', 'a').operations,
    expected: 'ok',
  },
  {
    name: 'a read concurrent with a write may see the new value',
    operations: history().put('c1', 0, 1, 'x', 'a').put('c1', 2, 10, 'x', 'b').get('c2', 3, 5, 'x', 'b').operations,
    expected: 'ok',
  },
  {
    name: 'a read concurrent with a write cannot see a value overwritten before it began',
    operations: history().put('c1', 0, 1, 'x', 'a').put('c1', 2, 10, 'x', 'b').get('c2', 3, 5, 'x', null).operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'intervals that only touch are concurrent, so the read may go first',
    operations: history().put('c1', 0, 5, 'x', 'a').get('c2', 5, 6, 'x', null).operations,
    expected: 'ok',
  },
  {
    name: 'a read invoked strictly after a write returned must see it',
    operations: history().put('c1', 0, 5, 'x', 'a').get('c2', 6, 7, 'x', null).operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'an incomplete put whose effect is observed later is linearizable',
    operations: history().put('c1', 0, null, 'x', 'a').get('c2', 5, 6, 'x', 'a').get('c2', 7, 8, 'x', 'a').operations,
    expected: 'ok',
  },
  {
    name: 'an incomplete put that is never observed is linearizable',
    operations: history().put('c1', 0, null, 'x', 'a').get('c2', 5, 6, 'x', null).get('c2', 7, 8, 'x', null).operations,
    expected: 'ok',
  },
  {
    name: 'an incomplete put may take effect long after its call',
    operations: history().put('c1', 0, null, 'x', 'a').get('c2', 5, 6, 'x', null).get('c2', 7, 8, 'x', 'a').operations,
    expected: 'ok',
  },
  {
    name: 'an incomplete put observed and then unobserved is a violation',
    operations: history().put('c1', 0, null, 'x', 'a').get('c2', 5, 6, 'x', 'a').get('c2', 7, 8, 'x', null).operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'an incomplete put cannot take effect before its call',
    operations: history().get('c2', 0, 1, 'x', 'a').put('c1', 2, null, 'x', 'a').operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'an incomplete cas takes effect only if its expected value held',
    operations: history().put('c1', 0, 1, 'x', 'b').cas('c2', 2, null, 'x', 'a', 'c').get('c1', 5, 6, 'x', 'c').operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'a read of a value nobody wrote is a violation',
    operations: history().put('c1', 0, 1, 'x', 'a').get('c2', 2, 3, 'x', 'z').operations,
    expected: { violationOn: 'x' },
  },
  {
    name: 'in a multi-key history with one bad key, the violation names that key',
    operations: history()
      .put('c1', 0, 1, 'x', 'a')
      .put('c2', 0, 1, 'y', 'a')
      .get('c1', 2, 3, 'x', 'a')
      .put('c2', 2, 3, 'y', 'b')
      .get('c1', 4, 5, 'x', 'a')
      .get('c2', 4, 5, 'y', 'a').operations,
    expected: { violationOn: 'y' },
  },
  {
    name: 'a value written to one key is not visible on another',
    operations: history().put('c1', 0, 1, 'x', 'a').get('c2', 2, 3, 'y', 'a').operations,
    expected: { violationOn: 'y' },
  },
];

describe('checkLinearizable on hand-written histories', () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const result = checkLinearizable(testCase.operations);
      const brute = bruteForceLinearizable(testCase.operations);
      const context = `\n${formatHistory(testCase.operations)}\n${JSON.stringify(result)}`;
      if (testCase.expected === 'ok') {
        assert.equal(result.kind, 'ok', context);
        assert.equal(brute.kind, 'ok', `brute force disagrees${context}`);
        return;
      }
      assert.equal(brute.kind, 'violation', `brute force disagrees${context}`);
      assert.ok(result.kind === 'violation', context);
      assert.equal(result.key, testCase.expected.violationOn);
      const expectedIds = testCase.operations.filter((operation) => operation.input.key === result.key).map((operation) => operation.id);
      assert.deepEqual(result.operations.map((operation) => operation.id).sort((a, b) => a - b), expectedIds);
    });
  }
});

describe('violation reports', () => {
  it('name the operation that cannot be placed and the longest prefix before it', () => {
    const operations = history().put('c1', 0, 1, 'x', 'a').put('c1', 2, 3, 'x', 'b').get('c2', 4, 5, 'x', 'a').operations;
    const result = checkLinearizable(operations);
    assert.ok(result.kind === 'violation');
    const lines = result.explanation.split('\n');
    assert.match(lines[0] ?? '', /^Operation #3 c2 \[4\.\.5\] get\(x\) -> "a" cannot be linearized\.$/);
    assert.match(result.explanation, /2 of 3 operations \(#1, #2\), leaving the value "b"/);
    assert.match(result.explanation, /#3 .*output impossible while the value is "b"/);
  });

  it('report the smallest failing key when several keys fail', () => {
    const operations = history()
      .put('c1', 0, 1, 'big', 'a')
      .put('c1', 2, 3, 'big', 'b')
      .get('c1', 4, 5, 'big', 'b')
      .get('c1', 6, 7, 'big', 'a')
      .put('c2', 0, 1, 'small', 'a')
      .get('c2', 2, 3, 'small', 'z').operations;
    const result = checkLinearizable(operations);
    assert.ok(result.kind === 'violation');
    assert.equal(result.key, 'small');
  });
});

describe('the state budget', () => {
  /** Many overlapping incomplete puts: each may or may not have happened, so the state space is exponential. */
  function manyIncompletePuts(key: string, count: number): Operation[] {
    const builder = history();
    for (let i = 0; i < count; i++) builder.put(`w${i}`, i, null, key, `v${i}`);
    builder.get('reader', count + 1, count + 2, key, 'never-written');
    return builder.operations;
  }

  it('answers unknown, naming the key, when a search exceeds it', () => {
    const result = checkLinearizable(manyIncompletePuts('x', 12), { budgetStatesPerKey: 100 });
    assert.ok(result.kind === 'unknown', JSON.stringify(result));
    assert.equal(result.key, 'x');
    assert.match(result.reason, /100 states/);
  });

  it('decides the same history when the budget suffices', () => {
    const result = checkLinearizable(manyIncompletePuts('x', 12), { budgetStatesPerKey: 1_000_000 });
    assert.equal(result.kind, 'violation');
  });

  it('does not let an unknown key hide a violation on a larger key', () => {
    const builder = history();
    for (let i = 0; i < 20; i++) builder.get('r', i * 2, i * 2 + 1, 'y', null);
    builder.put('r', 100, 101, 'y', 'a').get('r', 102, 103, 'y', null);
    const operations = [...manyIncompletePuts('x', 12).map((operation) => ({ ...operation, id: operation.id + 1000 })), ...builder.operations];
    const result = checkLinearizable(operations, { budgetStatesPerKey: 100 });
    assert.ok(result.kind === 'violation', JSON.stringify(result));
    assert.equal(result.key, 'y');
  });

  it('rejects a budget that is not a positive integer', () => {
    assert.throws(() => checkLinearizable([], { budgetStatesPerKey: 0 }), /positive integer/);
  });
});

describe('formatHistory', () => {
  it('renders one aligned line per operation in call order, marking incomplete ones', () => {
    const operations = history()
      .put('c1', 10, 15, 'x', 'a')
      .get('client2', 0, 3, 'x', null)
      .cas('c1', 16, null, 'x', 'a', 'b').operations;
    assert.equal(
      formatHistory(operations),
      [
        '#2  client2  [0..3]    get(x) -> absent',
        '#1  c1       [10..15]  put(x, "a") -> ok',
        '#3  c1       [16..∞]   cas(x, "a" -> "b") -> ? (never returned)',
      ].join('\n'),
    );
  });
});
