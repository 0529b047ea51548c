/**
 * Builds histories that are linearizable by construction: every operation is given
 * an instant inside its interval at which it takes effect, the operations are run
 * through the register model in the order of those instants, and the outputs the
 * model gives are recorded. Those instants are a linearization, so a checker that
 * rejects such a history is wrong. Tests then perturb outputs to get histories
 * that may not be linearizable.
 */
import type { KvInput, Operation } from '../../src/check/history.js';
import type { RegisterValue } from '../../src/check/register-model.js';
import { applyToRegister } from '../../src/check/register-model.js';

/** One operation to simulate; numbers are indexes or durations, so generators can shrink them. */
export interface OperationSpec {
  client: number;
  key: number;
  kind: 'get' | 'put' | 'cas';
  /** Index into `values` for the written value (put and cas). */
  value: number;
  /**
   * Index into `values` for cas' expected value, or -1 for "absent". With unique
   * values: -1 expects the value last written to the key in spec order (often
   * stale, so the cas fails), anything else expects the value the key holds when
   * the cas takes effect (so it succeeds).
   */
  expected: number;
  /** Time between the client's previous operation ending (or the start) and this call. */
  gap: number;
  duration: number;
  /** Where in the interval the operation takes effect, as a fraction in [0, 1]. */
  effectAt: number;
  /**
   * 'complete', or incomplete with its effect happening ('applied') or not ('lost').
   * After an incomplete operation the client is replaced by a fresh process, as
   * Jepsen does, because a client cannot issue more while one is outstanding.
   */
  fate: 'complete' | 'applied' | 'lost';
}

export interface SimulationOptions {
  keys: readonly string[];
  /**
   * The values specs index into; 'unique' writes a fresh value per operation,
   * which makes "this value was overwritten" provable from the history alone.
   */
  values: readonly string[] | 'unique';
}

export function simulateHistory(specs: readonly OperationSpec[], options: SimulationOptions): Operation[] {
  const clientFreeAt = new Map<number, number>();
  const clientGeneration = new Map<number, number>();
  const lastWritten = new Map<string, string>();
  const effects: { effectAt: number; operation: Operation; applied: boolean; expectCurrent: boolean }[] = [];

  specs.forEach((spec, index) => {
    const id = index + 1;
    const key = pickFrom(options.keys, spec.key);
    const written = options.values === 'unique' ? `${key}${id}` : pickFrom(options.values, spec.value);
    let expected: string | null;
    if (options.values === 'unique') expected = lastWritten.get(key) ?? null;
    else expected = spec.expected < 0 ? null : pickFrom(options.values, spec.expected);
    const input: KvInput =
      spec.kind === 'get' ? { kind: 'get', key } : spec.kind === 'put' ? { kind: 'put', key, value: written } : { kind: 'cas', key, expected, value: written };
    if (input.kind !== 'get') lastWritten.set(key, written);

    const generation = clientGeneration.get(spec.client) ?? 0;
    const call = (clientFreeAt.get(spec.client) ?? 0) + spec.gap;
    const end = call + spec.duration;
    // The client gives up on an incomplete operation at `end` and a new process
    // takes its place, so the next call never overlaps the outstanding one.
    clientFreeAt.set(spec.client, end);
    const client = `c${spec.client}${generation === 0 ? '' : `.${generation}`}`;
    const operation: Operation = spec.fate === 'complete' ? { id, client, input, call, return: end } : { id, client, input, call };
    if (spec.fate !== 'complete') clientGeneration.set(spec.client, generation + 1);
    const expectCurrent = options.values === 'unique' && spec.expected >= 0;
    effects.push({ effectAt: call + spec.effectAt * spec.duration, operation, applied: spec.fate !== 'lost', expectCurrent });
  });

  // Ties are only possible between concurrent operations (a preceding operation
  // takes effect no later than it returns, strictly before the next call), so
  // the tie-break by id is one legal order among several.
  effects.sort((a, b) => a.effectAt - b.effectAt || a.operation.id - b.operation.id);
  const registers = new Map<string, RegisterValue>();
  for (const { operation, applied, expectCurrent } of effects) {
    if (!applied) continue;
    const current = registers.get(operation.input.key) ?? null;
    // Fixing the input at its effect point is still an honest history: nobody
    // observes an input before the operation takes effect.
    if (expectCurrent && operation.input.kind === 'cas') operation.input = { ...operation.input, expected: current };
    const step = applyToRegister(current, operation.input);
    registers.set(operation.input.key, step.value);
    if (operation.return !== undefined) operation.output = step.output;
  }
  return effects.map((effect) => effect.operation).sort((a, b) => a.id - b.id);
}

function pickFrom<T>(items: readonly T[], index: number): T {
  const item = items[index % items.length];
  if (item === undefined) throw new RangeError(`cannot pick index ${index} from ${items.length} items`);
  return item;
}
