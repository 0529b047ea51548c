/**
 * Validation of histories. Histories from real processes cross a boundary (a file,
 * a pipe, another program's clock), so they are checked here into either a trusted
 * `Operation[]` or a typed error (STYLE.md, habit 6). The checkers assume a valid
 * history: an overlapping pair of operations from one client, say, would make them
 * search orders that no real execution could have produced.
 */
import type { KvInput, KvOutput, Operation } from './history.js';
import { isComplete } from './history.js';

export type HistoryError =
  | { kind: 'malformed'; index: number; message: string }
  | { kind: 'duplicate-id'; id: number; message: string }
  | { kind: 'bad-interval'; id: number; message: string }
  | { kind: 'output-mismatch'; id: number; message: string }
  | { kind: 'client-overlap'; client: string; ids: [number, number]; message: string };

export type HistoryValidation = { ok: true; history: Operation[] } | { ok: false; error: HistoryError };

/** Thrown by the checkers when handed a history that `validateHistory` rejects. */
export class InvalidHistoryError extends Error {
  override readonly name = 'InvalidHistoryError';
  constructor(readonly error: HistoryError) {
    super(`invalid history: ${error.message}`);
  }
}

/**
 * Checks the rules the checkers rely on: ids unique, `return >= call`, an output
 * exactly when the operation completed and of the same kind as its input, and at
 * most one outstanding operation per client. An incomplete operation therefore
 * has to be its client's last: the client never learnt that it finished.
 */
export function validateHistory(history: readonly Operation[]): HistoryValidation {
  // The static type may be a lie when the array came from JSON.parse, so the
  // shape is checked too; it is cheap next to the check itself.
  for (const [index, candidate] of history.entries()) {
    const problem = shapeProblem(candidate);
    if (problem !== undefined) return failure({ kind: 'malformed', index, message: `operation at index ${index}: ${problem}` });
  }

  const seen = new Set<number>();
  for (const operation of history) {
    const { id } = operation;
    if (seen.has(id)) return failure({ kind: 'duplicate-id', id, message: `operation id ${id} appears more than once` });
    seen.add(id);

    if (operation.return !== undefined && operation.return !== Infinity) {
      if (!Number.isFinite(operation.return) || operation.return < operation.call) {
        return failure({
          kind: 'bad-interval',
          id,
          message: `operation ${id} returns at ${operation.return}, before its call at ${operation.call}`,
        });
      }
      if (operation.output === undefined) {
        return failure({ kind: 'output-mismatch', id, message: `operation ${id} returned but has no output` });
      }
    } else if (operation.output !== undefined) {
      return failure({ kind: 'output-mismatch', id, message: `operation ${id} never returned but has an output` });
    }
    if (operation.output !== undefined && operation.output.kind !== operation.input.kind) {
      return failure({
        kind: 'output-mismatch',
        id,
        message: `operation ${id} is a ${operation.input.kind} but its output is a ${operation.output.kind}`,
      });
    }
  }

  const byClient = new Map<string, Operation[]>();
  for (const operation of history) {
    const list = byClient.get(operation.client) ?? [];
    list.push(operation);
    byClient.set(operation.client, list);
  }
  for (const [client, operations] of byClient) {
    operations.sort((a, b) => a.call - b.call || a.id - b.id);
    for (let i = 1; i < operations.length; i++) {
      const previous = operations[i - 1] as Operation;
      const next = operations[i] as Operation;
      // Touching intervals are allowed: a client may issue its next operation at
      // the same timestamp at which the previous one returned.
      if (!isComplete(previous) || previous.return > next.call) {
        const until = isComplete(previous) ? `until ${previous.return}` : 'forever';
        return failure({
          kind: 'client-overlap',
          client,
          ids: [previous.id, next.id],
          message: `client ${client} has operations ${previous.id} (outstanding ${until}) and ${next.id} (called at ${next.call}) outstanding at once`,
        });
      }
    }
  }

  return { ok: true, history: [...history] };
}

/** Validates a value of unknown type, such as a parsed JSON file, as a history. */
export function parseHistory(value: unknown): HistoryValidation {
  if (!Array.isArray(value)) return failure({ kind: 'malformed', index: -1, message: 'a history must be an array' });
  // Safe after validateHistory's shape check, which runs before anything is trusted.
  return validateHistory(value as Operation[]);
}

function failure(error: HistoryError): HistoryValidation {
  return { ok: false, error };
}

/** Says what is wrong with the shape of `candidate`, or undefined if it is an Operation. */
function shapeProblem(candidate: unknown): string | undefined {
  if (!isRecord(candidate)) return 'not an object';
  if (!Number.isSafeInteger(candidate.id)) return 'id must be an integer';
  if (typeof candidate.client !== 'string' || candidate.client.length === 0) return 'client must be a non-empty string';
  if (typeof candidate.call !== 'number' || !Number.isFinite(candidate.call)) return 'call must be a finite number';
  if (candidate.return !== undefined && typeof candidate.return !== 'number') return 'return must be a number if present';
  if (typeof candidate.return === 'number' && Number.isNaN(candidate.return)) return 'return must not be NaN';
  const inputProblem = inputShapeProblem(candidate.input);
  if (inputProblem !== undefined) return `input: ${inputProblem}`;
  if (candidate.output !== undefined) {
    const outputProblem = outputShapeProblem(candidate.output);
    if (outputProblem !== undefined) return `output: ${outputProblem}`;
  }
  return undefined;
}

function inputShapeProblem(input: unknown): string | undefined {
  if (!isRecord(input)) return 'not an object';
  const kind = input.kind as KvInput['kind'];
  if (typeof input.key !== 'string') return 'key must be a string';
  switch (kind) {
    case 'get':
      return undefined;
    case 'put':
      return typeof input.value === 'string' ? undefined : 'value must be a string';
    case 'cas':
      if (input.expected !== null && typeof input.expected !== 'string') return 'expected must be a string or null';
      return typeof input.value === 'string' ? undefined : 'value must be a string';
    default:
      return `unknown kind ${JSON.stringify(input.kind)}`;
  }
}

function outputShapeProblem(output: unknown): string | undefined {
  if (!isRecord(output)) return 'not an object';
  const kind = output.kind as KvOutput['kind'];
  switch (kind) {
    case 'get':
      return output.value === null || typeof output.value === 'string' ? undefined : 'value must be a string or null';
    case 'put':
      return undefined;
    case 'cas':
      return typeof output.ok === 'boolean' ? undefined : 'ok must be a boolean';
    default:
      return `unknown kind ${JSON.stringify(output.kind)}`;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
