/**
 * The sequential specification of one key of the key-value store: a register that
 * starts absent (`null`). Both checkers judge histories against this function and
 * nothing else, so it is the single definition of "correct output".
 */
import { assertNever } from '../core/assert.js';
import type { KvInput, KvOutput } from './history.js';

/** The value of one key; `null` is "absent". */
export type RegisterValue = string | null;

export interface RegisterStep {
  value: RegisterValue;
  output: KvOutput;
}

/** Applies `input` to a register holding `value`, as a single-threaded store would. */
export function applyToRegister(value: RegisterValue, input: KvInput): RegisterStep {
  switch (input.kind) {
    case 'get':
      return { value, output: { kind: 'get', value } };
    case 'put':
      return { value: input.value, output: { kind: 'put' } };
    case 'cas':
      return value === input.expected
        ? { value: input.value, output: { kind: 'cas', ok: true } }
        : { value, output: { kind: 'cas', ok: false } };
    default:
      return assertNever(input, 'KvInput');
  }
}

export function outputsEqual(a: KvOutput, b: KvOutput): boolean {
  switch (a.kind) {
    case 'get':
      return b.kind === 'get' && a.value === b.value;
    case 'put':
      return b.kind === 'put';
    case 'cas':
      return b.kind === 'cas' && a.ok === b.ok;
    default:
      return assertNever(a, 'KvOutput');
  }
}
