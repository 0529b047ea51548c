/**
 * Human-readable renderings of operations, for violation reports and test failures.
 * A violation is only useful if a person can read the sub-history and see why no
 * order works, so every line carries the client, the interval and both halves of
 * the operation.
 */
import { assertNever } from '../core/assert.js';
import type { KvInput, KvOutput, Operation } from './history.js';
import { isComplete } from './history.js';
import type { RegisterValue } from './register-model.js';

export function formatValue(value: RegisterValue): string {
  return value === null ? 'absent' : JSON.stringify(value);
}

export function formatInput(input: KvInput): string {
  switch (input.kind) {
    case 'get':
      return `get(${input.key})`;
    case 'put':
      return `put(${input.key}, ${formatValue(input.value)})`;
    case 'cas':
      return `cas(${input.key}, ${formatValue(input.expected)} -> ${formatValue(input.value)})`;
    default:
      return assertNever(input, 'KvInput');
  }
}

export function formatOutput(output: KvOutput | undefined): string {
  if (output === undefined) return '? (never returned)';
  switch (output.kind) {
    case 'get':
      return formatValue(output.value);
    case 'put':
      return 'ok';
    case 'cas':
      return output.ok ? 'ok' : 'failed';
    default:
      return assertNever(output, 'KvOutput');
  }
}

/** One line: `#7 c2 [10..15] put(x, "a") -> ok`. */
export function formatOperation(operation: Operation): string {
  const end = isComplete(operation) ? String(operation.return) : '∞';
  return `#${operation.id} ${operation.client} [${operation.call}..${end}] ${formatInput(operation.input)} -> ${formatOutput(operation.output)}`;
}

/**
 * One operation per line in invocation order, with the columns aligned so that
 * overlapping intervals are easy to spot by eye.
 */
export function formatHistory(operations: readonly Operation[]): string {
  const sorted = [...operations].sort((a, b) => a.call - b.call || a.id - b.id);
  const rows = sorted.map((operation) => [
    `#${operation.id}`,
    operation.client,
    `[${operation.call}..${isComplete(operation) ? operation.return : '∞'}]`,
    `${formatInput(operation.input)} -> ${formatOutput(operation.output)}`,
  ]);
  const widths = [0, 1, 2].map((column) => Math.max(0, ...rows.map((row) => (row[column] ?? '').length)));
  return rows
    .map((row) => row.map((cell, column) => (column < 3 ? cell.padEnd(widths[column] ?? 0) : cell)).join('  '))
    .join('\n');
}
