/**
 * A deliberately naive linearizability checker, for cross-checking the real one
 * on small histories. It shares nothing with search.ts but the register model:
 * it does not split by key, memoize or use an entry list. It literally tries
 * every subset of the incomplete operations and every permutation of the chosen
 * operations, keeps the permutations that respect real time, and runs each one
 * through a map of registers. Its cost is factorial, hence the size limit.
 */
import { assert } from '../core/assert.js';
import type { Operation } from './history.js';
import { isComplete, precedes } from './history.js';
import type { RegisterValue } from './register-model.js';
import { applyToRegister, outputsEqual } from './register-model.js';

/** 8! × 2^8 orders is about ten million model steps: slow, but it still finishes. */
export const BRUTE_FORCE_OPERATIONS_MAX = 8;

export type BruteForceResult = { kind: 'ok'; order: Operation[] } | { kind: 'violation' };

export function bruteForceLinearizable(history: readonly Operation[]): BruteForceResult {
  assert(
    history.length <= BRUTE_FORCE_OPERATIONS_MAX,
    () => `brute force handles at most ${BRUTE_FORCE_OPERATIONS_MAX} operations, got ${history.length}`,
  );
  const completed = history.filter(isComplete);
  const incomplete = history.filter((operation) => !isComplete(operation));

  for (let mask = 0; mask < 1 << incomplete.length; mask++) {
    const chosen = [...completed, ...incomplete.filter((_, i) => (mask & (1 << i)) !== 0)];
    for (const order of permutations(chosen)) {
      if (respectsRealTime(order) && matchesModel(order)) return { kind: 'ok', order };
    }
  }
  return { kind: 'violation' };
}

/** True when no operation is placed after one that returned before it was called. */
function respectsRealTime(order: readonly Operation[]): boolean {
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) {
      if (precedes(order[j] as Operation, order[i] as Operation)) return false;
    }
  }
  return true;
}

function matchesModel(order: readonly Operation[]): boolean {
  const registers = new Map<string, RegisterValue>();
  for (const operation of order) {
    const step = applyToRegister(registers.get(operation.input.key) ?? null, operation.input);
    registers.set(operation.input.key, step.value);
    if (operation.output !== undefined && !outputsEqual(operation.output, step.output)) return false;
  }
  return true;
}

/** Every ordering of `items`, each exactly once. */
function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i] as T, ...tail];
  }
}
