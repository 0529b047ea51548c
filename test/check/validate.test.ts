import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Operation } from '../../src/check/history.js';
import { checkLinearizable } from '../../src/check/linearizability.js';
import type { HistoryError } from '../../src/check/validate.js';
import { InvalidHistoryError, parseHistory, validateHistory } from '../../src/check/validate.js';
import { history } from './history-builder.js';

function errorOf(operations: readonly Operation[]): HistoryError {
  const result = validateHistory(operations);
  assert.ok(!result.ok, 'expected the history to be rejected');
  return result.error;
}

describe('validateHistory', () => {
  it('accepts a well-formed history with touching and incomplete operations', () => {
    const operations = history()
      .put('c1', 0, 5, 'x', 'a')
      .get('c1', 5, 6, 'x', 'a')
      .cas('c1', 7, null, 'x', 'a', 'b')
      .get('c2', 0, 100, 'x', 'b').operations;
    const result = validateHistory(operations);
    assert.ok(result.ok);
    assert.deepEqual(result.history, operations);
  });

  it('accepts Infinity as "never returned"', () => {
    const operations: Operation[] = [{ id: 1, client: 'c1', input: { kind: 'get', key: 'x' }, call: 0, return: Infinity }];
    assert.ok(validateHistory(operations).ok);
  });

  it('rejects duplicate ids', () => {
    const operations = history().put('c1', 0, 1, 'x', 'a').get('c2', 0, 1, 'x', 'a').operations;
    operations[1] = { ...(operations[1] as Operation), id: 1 };
    assert.deepEqual(errorOf(operations), { kind: 'duplicate-id', id: 1, message: 'operation id 1 appears more than once' });
  });

  it('rejects a return before the call', () => {
    const error = errorOf(history().put('c1', 5, 4, 'x', 'a').operations);
    assert.equal(error.kind, 'bad-interval');
    assert.match(error.message, /returns at 4, before its call at 5/);
  });

  it('rejects an output whose kind differs from the input', () => {
    const operations: Operation[] = [{ id: 1, client: 'c1', input: { kind: 'put', key: 'x', value: 'a' }, call: 0, return: 1, output: { kind: 'cas', ok: true } }];
    const error = errorOf(operations);
    assert.equal(error.kind, 'output-mismatch');
    assert.match(error.message, /is a put but its output is a cas/);
  });

  it('rejects a completed operation without an output and an incomplete one with an output', () => {
    assert.equal(errorOf([{ id: 1, client: 'c1', input: { kind: 'get', key: 'x' }, call: 0, return: 1 }]).kind, 'output-mismatch');
    assert.equal(errorOf([{ id: 1, client: 'c1', input: { kind: 'get', key: 'x' }, call: 0, output: { kind: 'get', value: null } }]).kind, 'output-mismatch');
  });

  it('rejects a client with two overlapping operations', () => {
    const error = errorOf(history().put('c1', 0, 10, 'x', 'a').get('c1', 5, 6, 'y', null).operations);
    assert.ok(error.kind === 'client-overlap');
    assert.equal(error.client, 'c1');
    assert.deepEqual(error.ids, [1, 2]);
  });

  it('rejects a client that issues more after an operation that never returned', () => {
    const error = errorOf(history().put('c1', 0, null, 'x', 'a').get('c1', 50, 60, 'x', null).operations);
    assert.ok(error.kind === 'client-overlap');
    assert.match(error.message, /outstanding forever/);
  });

  it('rejects malformed shapes that a JSON file could contain', () => {
    const bad: unknown[] = [
      [{ id: 'one', client: 'c1', input: { kind: 'get', key: 'x' }, call: 0 }],
      [{ id: 1, client: '', input: { kind: 'get', key: 'x' }, call: 0 }],
      [{ id: 1, client: 'c1', input: { kind: 'delete', key: 'x' }, call: 0 }],
      [{ id: 1, client: 'c1', input: { kind: 'put', key: 'x' }, call: 0 }],
      [{ id: 1, client: 'c1', input: { kind: 'get', key: 'x' }, call: 0, return: 1, output: { kind: 'get', value: 3 } }],
      [{ id: 1, client: 'c1', input: { kind: 'get', key: 'x' }, call: null }],
      [7],
    ];
    for (const value of bad) {
      const result = parseHistory(value);
      assert.ok(!result.ok && result.error.kind === 'malformed', `accepted ${JSON.stringify(value)}`);
      assert.equal(result.error.index, 0);
    }
    const notArray = parseHistory({ operations: [] });
    assert.ok(!notArray.ok && notArray.error.kind === 'malformed');
  });

  it('parses a history that survived a JSON round trip', () => {
    const operations = history().put('c1', 0, 1, 'x', 'a').cas('c2', 0, 3, 'x', null, 'b', false).get('c3', 2, null, 'x').operations;
    const result = parseHistory(JSON.parse(JSON.stringify(operations)));
    assert.ok(result.ok);
    assert.deepEqual(result.history, operations);
  });
});

describe('checkLinearizable on an invalid history', () => {
  it('throws InvalidHistoryError carrying the typed error', () => {
    const operations = history().put('c1', 0, 10, 'x', 'a').get('c1', 5, 6, 'x', null).operations;
    assert.throws(
      () => checkLinearizable(operations),
      (error: unknown) => error instanceof InvalidHistoryError && error.error.kind === 'client-overlap',
    );
  });
});
