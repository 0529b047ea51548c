/**
 * Assertions for broken invariants. They stay on in production: a consensus
 * node that continues past a broken invariant can lose acknowledged data,
 * which is worse than a crash (STYLE.md, habit 7).
 */
export class InvariantError extends Error {
  override readonly name = 'InvariantError';
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new InvariantError(typeof message === 'function' ? message() : message);
  }
}

/** Ends an exhaustive `switch` over a discriminated union. */
export function assertNever(value: never, what = 'value'): never {
  throw new InvariantError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
