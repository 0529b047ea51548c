/**
 * The safety checks over a chaos run's history.
 *
 * 1. Linearizability (src/check), per key, over every operation including the
 *    final reads taken after healing: a final read that misses an acknowledged
 *    write makes the key's history non-linearizable, so "every acknowledged
 *    write survives" is part of this check.
 * 2. Lost writes, the same property said plainly for the report: the write
 *    of the value the final read returned must not be followed, in real time,
 *    by an acknowledged write to the same key (values are unique, and nothing
 *    deletes, so such a write would have to come later in every order).
 *
 * Before the search, incomplete puts of unique values that no read observed
 * are removed from keys that see only get and put (never cas). Sound: in any
 * linearization such a put P(v) is immediately followed by the next put (any
 * get in between would have returned v), so P can be dropped without changing
 * any output; and without P the history only has fewer orders to satisfy.
 * This keeps timeouts, which are common under faults, from multiplying the
 * search's states.
 */
import type { Operation } from '../check/history.js';
import { isComplete } from '../check/history.js';
import { checkLinearizable, type CheckResult } from '../check/linearizability.js';
import { formatHistory } from '../check/format.js';
import { partitionByKey } from '../check/linearizability.js';

export interface ReducedHistory {
  readonly history: Operation[];
  /** Incomplete, unobserved puts removed. */
  readonly removed: number;
}

export function dropUnobservedIncompletePuts(history: readonly Operation[]): ReducedHistory {
  const casKeys = new Set<string>();
  const observed = new Set<string>();
  for (const operation of history) {
    if (operation.input.kind === 'cas') casKeys.add(operation.input.key);
    if (operation.output?.kind === 'get' && operation.output.value !== null) observed.add(`${operation.input.key}\u0000${operation.output.value}`);
  }
  const kept: Operation[] = [];
  let removed = 0;
  for (const operation of history) {
    const { input } = operation;
    if (input.kind === 'put' && !isComplete(operation) && !casKeys.has(input.key) && !observed.has(`${input.key}\u0000${input.value}`)) {
      removed += 1;
      continue;
    }
    kept.push(operation);
  }
  return { history: kept, removed };
}

export interface LostWrite {
  readonly key: string;
  readonly finalValue: string | null;
  readonly lost: Operation;
}

/**
 * Acknowledged writes that a final read proves lost. `finalReads` maps each
 * key to the final read's operation (a completed get).
 */
export function findLostWrites(history: readonly Operation[], finalReads: ReadonlyMap<string, Operation>): LostWrite[] {
  const lost: LostWrite[] = [];
  const byKey = partitionByKey(history);
  for (const [key, read] of finalReads) {
    if (read.output?.kind !== 'get') continue;
    const finalValue = read.output.value;
    const operations = byKey.get(key) ?? [];
    const writes = operations.filter((op) => op.input.kind === 'put' || op.input.kind === 'cas');
    const acknowledged = writes.filter((op) => isComplete(op) && (op.output.kind === 'put' || (op.output.kind === 'cas' && op.output.ok)));
    const source = finalValue === null ? undefined : writes.find((op) => op.input.kind !== 'get' && op.input.value === finalValue);
    // The final value was written by `source`; any acknowledged write that began
    // after `source` returned must come later in every linearization.
    const sourceReturn = source === undefined ? -Infinity : (source.return ?? Infinity);
    for (const write of acknowledged) {
      if (write === source) continue;
      if (write.call > sourceReturn && isComplete(write) && write.return < read.call) lost.push({ key, finalValue, lost: write });
    }
  }
  return lost;
}

export interface LinearizabilityVerdict {
  readonly result: CheckResult;
  readonly keys: number;
  readonly operations: number;
  readonly removedPuts: number;
  /** The failing key's sub-history, formatted, when there is a violation. */
  readonly excerpt: string | null;
}

/** Operations shown around a violation; a key's whole history can be thousands of lines. */
const EXCERPT_LINES_MAX = 60;

export function checkHistory(history: readonly Operation[]): LinearizabilityVerdict {
  const reduced = dropUnobservedIncompletePuts(history);
  const result = checkLinearizable(reduced.history);
  const keys = partitionByKey(reduced.history).size;
  let excerpt: string | null = null;
  if (result.kind === 'violation') excerpt = excerptAround(result.operations, result.explanation);
  return { result, keys, operations: reduced.history.length, removedPuts: reduced.removed, excerpt };
}

/**
 * The failing key's operations around the one the explanation names (its
 * first "#id"), in invocation order: the neighbourhood where no order works.
 */
function excerptAround(operations: readonly Operation[], explanation: string): string {
  const sorted = [...operations].sort((a, b) => a.call - b.call || a.id - b.id);
  const named = /#(\d+)/.exec(explanation);
  const at = named === null ? 0 : Math.max(0, sorted.findIndex((op) => op.id === Number(named[1])));
  const from = Math.max(0, at - Math.floor(EXCERPT_LINES_MAX / 2));
  const window = sorted.slice(from, from + EXCERPT_LINES_MAX);
  const lines = formatHistory(window).split('\n');
  if (from > 0) lines.unshift(`... (${from} earlier)`);
  if (from + window.length < sorted.length) lines.push(`... (${sorted.length - from - window.length} later)`);
  return lines.join('\n');
}
