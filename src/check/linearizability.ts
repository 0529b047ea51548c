/**
 * Linearizability checking for key-value histories (Herlihy & Wing, 1990).
 *
 * A history is linearizable when some total order of its operations respects real
 * time (an operation that returned before another was invoked comes first) and
 * gives every completed operation the output the sequential register model
 * (register-model.ts) would. Incomplete operations may appear anywhere after
 * their invocation, or not at all.
 *
 * Linearizability is local (Herlihy & Wing, Theorem 1): a history is linearizable
 * exactly when each object's sub-history is. Each key is an independent register
 * here (no operation touches two keys), so the history is split by key and each
 * part searched on its own (Lowe's P-compositionality), which turns one search
 * over the product of all keys' states into several far smaller ones.
 */
import { assert, assertNever } from '../core/assert.js';
import type { Operation } from './history.js';
import { searchKey } from './search.js';
import { InvalidHistoryError, validateHistory } from './validate.js';

export { formatHistory } from './format.js';

export type CheckResult =
  | { kind: 'ok' }
  /**
   * `operations` is the failing key's sub-history (the smallest one when several
   * keys fail); `explanation` names the operation that could not be placed and the
   * longest linearizable prefix the search found.
   */
  | { kind: 'violation'; key: string; operations: Operation[]; explanation: string }
  /** The search for `key` ran out of budget; no other key was found to fail. */
  | { kind: 'unknown'; key: string; reason: string };

export interface CheckOptions {
  /** The most (linearized set, value) states to explore per key before answering `unknown`. */
  budgetStatesPerKey?: number;
}

/**
 * Each explored state keeps a copy of the linearized bitset, so memory grows
 * with budget × operations-per-key / 8 bytes; half a million states of a
 * 2,000-operation key is about 125 MB plus overhead, still well inside a test
 * process.
 */
export const DEFAULT_BUDGET_STATES_PER_KEY = 500_000;

/**
 * Decides whether `history` is linearizable. Throws `InvalidHistoryError` when the
 * history breaks the rules in validate.ts: that is a bug in whatever recorded it,
 * and callers reading histories from outside should call `validateHistory` first.
 */
export function checkLinearizable(history: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const budget = options.budgetStatesPerKey ?? DEFAULT_BUDGET_STATES_PER_KEY;
  assert(Number.isSafeInteger(budget) && budget > 0, () => `budgetStatesPerKey must be a positive integer, got ${budget}`);
  const validation = validateHistory(history);
  if (!validation.ok) throw new InvalidHistoryError(validation.error);

  // Smallest sub-history first: the first violation found is then the smallest
  // one to show, and the cheap keys are done before any expensive one.
  const keys = [...partitionByKey(history)].sort(
    ([keyA, a], [keyB, b]) => a.length - b.length || (keyA < keyB ? -1 : keyA > keyB ? 1 : 0),
  );
  let unknown: CheckResult | undefined;
  for (const [key, operations] of keys) {
    const result = searchKey(operations, budget);
    switch (result.kind) {
      case 'ok':
        break;
      case 'violation':
        return { kind: 'violation', key, operations, explanation: result.explanation };
      case 'unknown':
        // Keep going: a violation on another key is still a definite answer.
        unknown ??= { kind: 'unknown', key, reason: result.reason };
        break;
      default:
        return assertNever(result, 'KeySearchResult');
    }
  }
  return unknown ?? { kind: 'ok' };
}

/** The operations on each key, each list in invocation order. */
export function partitionByKey(history: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const operation of history) {
    const list = byKey.get(operation.input.key);
    if (list === undefined) byKey.set(operation.input.key, [operation]);
    else list.push(operation);
  }
  for (const list of byKey.values()) list.sort((a, b) => a.call - b.call || a.id - b.id);
  return byKey;
}
