/**
 * The linearizability search for the operations on one key: Wing & Gong's
 * algorithm with Lowe's memoization, laid out as in Porcupine (Athalye, 2017).
 *
 * The history becomes an "entry list": a call entry and (if the operation
 * returned) a return entry per operation, in time order. At any moment the
 * operations that may take effect next are exactly those whose call entries come
 * before the first return entry still in the list: that return is the deadline
 * by which its operation must have taken effect. The search linearizes such a
 * candidate when the register model accepts its output, lifts both its entries
 * out of the list and starts again from the head; when it reaches a return entry
 * instead, every candidate failed, and it backtracks. The history is linearizable
 * when every completed operation has been linearized.
 *
 * Lowe's improvement: the future of the search depends only on which operations
 * are linearized and on the register's value, never on their order, so each
 * (set, value) pair is explored once. The pairs live in a cache keyed by the
 * bitset's incremental hash. The cache size is also the work bound: a search
 * that has explored `budgetStates` pairs gives up with "unknown".
 *
 * Incomplete operations have a call entry and no return entry: they are
 * candidates from their call onwards, with any output, and the search may also
 * leave them out altogether, since nothing ever forces them in.
 */
import { assert, assertNever } from '../core/assert.js';
import { Bitset } from './bitset.js';
import type { Operation } from './history.js';
import { isComplete } from './history.js';
import { formatOperation, formatValue } from './format.js';
import type { RegisterValue } from './register-model.js';

export type KeySearchResult =
  | { kind: 'ok'; exploredStates: number }
  | { kind: 'violation'; explanation: string }
  | { kind: 'unknown'; exploredStates: number; reason: string };

/**
 * Each operation with its values interned as small integers (0 is "absent"), so
 * a model step and a cache comparison are integer compares, not string compares.
 * An `undefined` observation is an incomplete operation's unknown output.
 */
type Step =
  | { kind: 'get'; observed: number | undefined }
  | { kind: 'put'; written: number }
  | { kind: 'cas'; expected: number; written: number; ok: boolean | undefined };

interface Entry {
  /** Index of the operation in the key's operation array. */
  readonly index: number;
  /** The operation's return entry, on call entries of completed operations only. */
  readonly match: Entry | undefined;
  readonly isCall: boolean;
  prev: Entry | undefined;
  next: Entry | undefined;
}

interface Frame {
  entry: Entry;
  valueBefore: number;
}

/** What the search knew when it got furthest, which is what a person needs to see. */
interface Deepest {
  prefix: number[];
  value: number;
  blocked: number;
  pending: number[];
}

const NO_VALUE = 0;

export function searchKey(operations: readonly Operation[], budgetStates: number): KeySearchResult {
  assert(Number.isSafeInteger(budgetStates) && budgetStates > 0, () => `the state budget must be a positive integer, got ${budgetStates}`);
  const values = new Interner();
  const steps = operations.map((operation) => toStep(operation, values));
  const head = buildEntryList(operations);

  const linearized = new Bitset(operations.length);
  const cache = new Map<number, { words: Uint32Array; value: number }[]>();
  let exploredStates = 0;
  const stack: Frame[] = [];
  let value = NO_VALUE;
  let completedLeft = operations.filter(isComplete).length;
  let deepest: Deepest | undefined;

  /** Adds the current (linearized, value) pair to the cache; false if it was already there. */
  const remember = (): boolean => {
    const hash = (linearized.hash() ^ Math.imul(value + 1, 0x27d4eb2f)) >>> 0;
    const bucket = cache.get(hash);
    if (bucket?.some((seen) => seen.value === value && linearized.equalsSnapshot(seen.words))) return false;
    const stored = { words: linearized.snapshot(), value };
    if (bucket === undefined) cache.set(hash, [stored]);
    else bucket.push(stored);
    exploredStates++;
    return true;
  };

  let entry = head.next;
  while (completedLeft > 0) {
    // While a completed operation is unlinearized its return entry is in the
    // list, so the scan meets it before running off the end.
    assert(entry !== undefined, 'the entry list ended before a pending return entry');
    if (entry.isCall) {
      const next = apply(steps[entry.index] as Step, value);
      if (next !== undefined) {
        linearized.set(entry.index);
        const valueBefore = value;
        value = next;
        if (remember()) {
          if (exploredStates > budgetStates) {
            return {
              kind: 'unknown',
              exploredStates,
              reason: `gave up after exploring ${budgetStates} states without a verdict (${operations.length} operations, ${operations.length - operations.filter(isComplete).length} incomplete)`,
            };
          }
          stack.push({ entry, valueBefore });
          lift(entry);
          if (isComplete(operations[entry.index] as Operation)) completedLeft--;
          entry = head.next;
          continue;
        }
        // Already explored from this (set, value): no need to go there again.
        value = valueBefore;
        linearized.clear(entry.index);
      }
      entry = entry.next;
      continue;
    }

    // A return entry: its operation had to take effect by now and no candidate
    // order allowed it, so undo the most recent choice and try the next one.
    if (deepest === undefined || stack.length > deepest.prefix.length) {
      deepest = { prefix: stack.map((frame) => frame.entry.index), value, blocked: entry.index, pending: pendingBefore(head, entry) };
    }
    const frame = stack.pop();
    if (frame === undefined) {
      return { kind: 'violation', explanation: explain(operations, steps, values, deepest) };
    }
    unlift(frame.entry);
    linearized.clear(frame.entry.index);
    value = frame.valueBefore;
    if (isComplete(operations[frame.entry.index] as Operation)) completedLeft++;
    entry = frame.entry.next;
  }
  return { kind: 'ok', exploredStates };
}

/** The register value after the operation, or undefined if its output rules it out here. */
function apply(step: Step, value: number): number | undefined {
  switch (step.kind) {
    case 'get':
      return step.observed === undefined || step.observed === value ? value : undefined;
    case 'put':
      return step.written;
    case 'cas': {
      const succeeds = value === step.expected;
      if (step.ok !== undefined && step.ok !== succeeds) return undefined;
      return succeeds ? step.written : value;
    }
    default:
      return assertNever(step, 'Step');
  }
}

function toStep(operation: Operation, values: Interner): Step {
  const { input, output } = operation;
  switch (input.kind) {
    case 'get':
      return { kind: 'get', observed: output?.kind === 'get' ? values.id(output.value) : undefined };
    case 'put':
      return { kind: 'put', written: values.id(input.value) };
    case 'cas':
      return {
        kind: 'cas',
        expected: values.id(input.expected),
        written: values.id(input.value),
        ok: output?.kind === 'cas' ? output.ok : undefined,
      };
    default:
      return assertNever(input, 'KvInput');
  }
}

/**
 * Builds the doubly linked entry list behind a sentinel head. At equal times call
 * entries sort before return entries: operations whose intervals only touch are
 * concurrent (see `precedes` in history.ts), so neither return may cut the other
 * operation off.
 */
function buildEntryList(operations: readonly Operation[]): Entry {
  const timed: { time: number; entry: Entry }[] = [];
  operations.forEach((operation, index) => {
    const match: Entry | undefined = isComplete(operation)
      ? { index, match: undefined, isCall: false, prev: undefined, next: undefined }
      : undefined;
    timed.push({ time: operation.call, entry: { index, match, isCall: true, prev: undefined, next: undefined } });
    if (match !== undefined && isComplete(operation)) timed.push({ time: operation.return, entry: match });
  });
  timed.sort((a, b) => a.time - b.time || Number(b.entry.isCall) - Number(a.entry.isCall) || a.entry.index - b.entry.index);

  const head: Entry = { index: -1, match: undefined, isCall: false, prev: undefined, next: undefined };
  let last = head;
  for (const { entry } of timed) {
    last.next = entry;
    entry.prev = last;
    last = entry;
  }
  return head;
}

/** Removes an operation's entries from the list; they keep their own links for `unlift`. */
function lift(call: Entry): void {
  unlink(call);
  if (call.match !== undefined) unlink(call.match);
}

/** Undoes `lift`. Lifts and unlifts nest like a stack, so the saved links are still right. */
function unlift(call: Entry): void {
  if (call.match !== undefined) relink(call.match);
  relink(call);
}

function unlink(entry: Entry): void {
  assert(entry.prev !== undefined, 'an entry in the list always has a predecessor (the head at least)');
  entry.prev.next = entry.next;
  if (entry.next !== undefined) entry.next.prev = entry.prev;
}

function relink(entry: Entry): void {
  assert(entry.prev !== undefined, 'a lifted entry remembers its predecessor');
  entry.prev.next = entry;
  if (entry.next !== undefined) entry.next.prev = entry;
}

/** Indexes of the operations whose call entries precede `stop`: the candidates there. */
function pendingBefore(head: Entry, stop: Entry): number[] {
  const pending: number[] = [];
  for (let entry = head.next; entry !== undefined && entry !== stop; entry = entry.next) {
    if (entry.isCall) pending.push(entry.index);
  }
  return pending;
}

function explain(operations: readonly Operation[], steps: readonly Step[], values: Interner, deepest: Deepest | undefined): string {
  // The loop records `deepest` before it can report a violation.
  assert(deepest !== undefined, 'a violation is only reported after a backtrack');
  const name = (index: number): string => formatOperation(operations[index] as Operation);
  const held = values.value(deepest.value);
  const prefix = deepest.prefix.length === 0 ? '(none)' : deepest.prefix.map((index) => `#${(operations[index] as Operation).id}`).join(', ');
  const pending = deepest.pending.map((index) => {
    const fitsNow = apply(steps[index] as Step, deepest.value) !== undefined;
    return `  ${name(index)}${fitsNow ? '' : `  (output impossible while the value is ${formatValue(held)})`}`;
  });
  return [
    `Operation ${name(deepest.blocked)} cannot be linearized.`,
    `Longest linearizable prefix found: ${deepest.prefix.length} of ${operations.length} operations (${prefix}), leaving the value ${formatValue(held)}.`,
    `From there no order of the pending operations lets #${(operations[deepest.blocked] as Operation).id} take effect before it returned:`,
    ...pending,
  ].join('\n');
}

/** Maps register values to dense integers and back; `null` (absent) is always 0. */
class Interner {
  private readonly ids = new Map<string, number>();
  private readonly names: RegisterValue[] = [null];

  id(value: RegisterValue): number {
    if (value === null) return NO_VALUE;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.names.length;
      this.ids.set(value, id);
      this.names.push(value);
    }
    return id;
  }

  value(id: number): RegisterValue {
    assert(id >= 0 && id < this.names.length, () => `no interned value ${id}`);
    return this.names[id] as RegisterValue;
  }
}
