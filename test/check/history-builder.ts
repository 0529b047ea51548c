/**
 * A terse way to write histories by hand in tests. Ids are assigned in the order
 * operations are added; a `ret` of `null` makes the operation incomplete (its
 * output is then left out, as a real recorder would have to).
 */
import type { Operation } from '../../src/check/history.js';

export class HistoryBuilder {
  readonly operations: Operation[] = [];

  get(client: string, call: number, ret: number | null, key: string, observed: string | null = null): this {
    return this.add(client, call, ret, { kind: 'get', key }, { kind: 'get', value: observed });
  }

  put(client: string, call: number, ret: number | null, key: string, value: string): this {
    return this.add(client, call, ret, { kind: 'put', key, value }, { kind: 'put' });
  }

  cas(client: string, call: number, ret: number | null, key: string, expected: string | null, value: string, ok = true): this {
    return this.add(client, call, ret, { kind: 'cas', key, expected, value }, { kind: 'cas', ok });
  }

  private add(client: string, call: number, ret: number | null, input: Operation['input'], output: NonNullable<Operation['output']>): this {
    const id = this.operations.length + 1;
    this.operations.push(ret === null ? { id, client, input, call } : { id, client, input, call, return: ret, output });
    return this;
  }
}

export function history(): HistoryBuilder {
  return new HistoryBuilder();
}
