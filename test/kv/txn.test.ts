/**
 * Txn: the compare matrix (target × result, missing keys, ranges), branch
 * choice, nested txns, reads that see earlier writes, the duplicate-key and
 * too-many-ops refusals, and all-or-nothing failure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Compare, CompareResult, KvOutput, RequestOp, TxnRequest } from '../../src/kv/types.js';
import { b, Harness, keysOf, plain } from './helpers.js';

const put = (key: string, value: string, lease = 0): RequestOp => ({ type: 'put', request: { key: b(key), value: b(value), lease } });
const get = (key: string, rangeEnd?: string): RequestOp =>
  ({ type: 'range', request: rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(rangeEnd) } });
const del = (key: string, rangeEnd?: string): RequestOp =>
  ({ type: 'delete-range', request: rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(rangeEnd) } });
const txn = (request: TxnRequest): RequestOp => ({ type: 'txn', request });

function succeeded(h: Harness, compare: Compare[]): boolean {
  return h.expect({ type: 'txn', request: { compare } }, 'txn').response.succeeded;
}

function errorKind(output: KvOutput): string | null {
  return output.type === 'error' ? output.error.kind : null;
}

/** k: value "m", create 2, mod 3, version 2, lease 9. */
function fixture(): Harness {
  const h = new Harness();
  h.grant(9, 60, 0);
  h.put('k', 'm', 9);
  h.put('k', 'm', 9);
  return h;
}

describe('txn compare matrix', () => {
  type Operand = number | string;
  const targets: { target: Compare['target']; operands: [Operand, Operand, Operand] }[] = [
    { target: 'VERSION', operands: [1, 2, 3] },
    { target: 'CREATE', operands: [1, 2, 3] },
    { target: 'MOD', operands: [2, 3, 4] },
    { target: 'VALUE', operands: ['a', 'm', 'z'] },
    { target: 'LEASE', operands: [8, 9, 10] },
  ];
  // For operands below, equal to and above the key's actual value.
  const expected: Record<CompareResult, [boolean, boolean, boolean]> = {
    EQUAL: [false, true, false],
    NOT_EQUAL: [true, false, true],
    GREATER: [true, false, false],
    LESS: [false, false, true],
  };
  const make = (target: Compare['target'], result: CompareResult, operand: Operand, key = 'k', rangeEnd?: string): Compare => {
    const base = rangeEnd === undefined ? { key: b(key), result } : { key: b(key), rangeEnd: b(rangeEnd), result };
    switch (target) {
      case 'VERSION':
        return { ...base, target, version: operand as number };
      case 'CREATE':
        return { ...base, target, createRevision: operand as number };
      case 'MOD':
        return { ...base, target, modRevision: operand as number };
      case 'VALUE':
        return { ...base, target, value: b(operand as string) };
      case 'LEASE':
        return { ...base, target, lease: operand as number };
    }
  };

  for (const { target, operands } of targets) {
    for (const result of ['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'] as const) {
      it(`${target} ${result} holds exactly for operands ${expected[result].map((x, i) => (x ? ['below', 'equal', 'above'][i] : null)).filter(Boolean).join(' and ') || 'none'} the key's value`, () => {
        const h = fixture();
        assert.deepEqual(operands.map((operand) => succeeded(h, [make(target, result, operand)])), expected[result]);
      });
    }
  }

  it('a missing key compares as version, create, mod and lease 0', () => {
    const h = fixture();
    for (const target of ['VERSION', 'CREATE', 'MOD', 'LEASE'] as const) {
      assert.equal(succeeded(h, [make(target, 'EQUAL', 0, 'missing')]), true, `${target} = 0`);
      assert.equal(succeeded(h, [make(target, 'LESS', 1, 'missing')]), true, `${target} < 1`);
    }
  });

  it('a VALUE compare on a missing key is always false, whatever the result', () => {
    const h = fixture();
    for (const result of ['EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'] as const) {
      assert.equal(succeeded(h, [make('VALUE', result, '', 'missing')]), false, result);
      assert.equal(succeeded(h, [make('VALUE', result, 'x', 'missing')]), false, result);
    }
  });

  it('a compare with range_end holds only when every key in the range satisfies it', () => {
    const h = new Harness();
    h.put('r1', 'x');
    h.put('r2', 'x');
    h.put('r2', 'x');
    assert.equal(succeeded(h, [make('VERSION', 'GREATER', 0, 'r', 's')]), true);
    assert.equal(succeeded(h, [make('VERSION', 'EQUAL', 1, 'r', 's')]), false);
    assert.equal(succeeded(h, [make('VALUE', 'EQUAL', 'x', 'r', 's')]), true);
    // An empty range compares as one missing key.
    assert.equal(succeeded(h, [make('VERSION', 'EQUAL', 0, 't', 'u')]), true);
    assert.equal(succeeded(h, [make('VALUE', 'EQUAL', '', 't', 'u')]), false);
  });

  it('all compares must hold: one false compare takes the failure branch', () => {
    const h = fixture();
    const output = h.expect({
      type: 'txn',
      request: { compare: [make('VERSION', 'EQUAL', 2), make('VALUE', 'EQUAL', 'nope')], success: [put('s', '1')], failure: [put('f', '1')] },
    }, 'txn');
    assert.equal(output.response.succeeded, false);
    assert.equal(h.get('s'), null);
    assert.equal(h.get('f')?.value, '1');
  });
});

describe('txn execution', () => {
  it('reads in a txn see the txn\'s earlier writes, and carry the txn\'s revision once it wrote', () => {
    const h = new Harness();
    h.put('a', 'old');
    const output = h.expect({ type: 'txn', request: { success: [get('a'), put('a', 'new'), get('a')] } }, 'txn');
    const [before, , after] = output.response.responses;
    assert.ok(before?.type === 'range' && after?.type === 'range');
    assert.deepEqual([plain(before.response.kvs[0]!).value, before.response.header.revision], ['old', 2]);
    assert.deepEqual([plain(after.response.kvs[0]!).value, after.response.kvs[0]!.modRevision, after.response.header.revision], ['new', 3, 3]);
    assert.equal(output.response.header.revision, 3);
  });

  it('a nested txn\'s compares see the state before the outer txn, and its header revision is 0 as in etcd', () => {
    const h = new Harness();
    const output = h.expect({
      type: 'txn',
      request: {
        success: [
          put('x', '1'),
          txn({
            compare: [{ key: b('x'), target: 'VERSION', result: 'EQUAL', version: 0 }],
            success: [put('y', 'saw-before')],
            failure: [put('y', 'saw-after')],
          }),
        ],
      },
    }, 'txn');
    assert.equal(h.get('y')?.value, 'saw-before');
    const nested = output.response.responses[1];
    assert.ok(nested?.type === 'txn');
    assert.equal(nested.response.succeeded, true);
    assert.equal(nested.response.header.revision, 0);
    assert.equal(nested.response.responses[0]?.type, 'put');
    assert.equal(output.response.header.revision, 2);
  });

  it('a failed check in the chosen branch fails the whole txn and writes nothing', () => {
    const h = new Harness();
    const before = h.machine.digest();
    const missingLease = h.apply({ type: 'txn', request: { success: [put('a', '1'), put('b', '2', 99)] } });
    assert.equal(errorKind(missingLease), 'lease-not-found');
    const ignoreMissing = h.apply({ type: 'txn', request: { success: [put('a', '1'), { type: 'put', request: { key: b('z'), ignoreValue: true } }] } });
    assert.equal(errorKind(ignoreMissing), 'key-not-found');
    const futureRead = h.apply({ type: 'txn', request: { success: [put('a', '1'), { type: 'range', request: { key: b('a'), revision: 2 } }] } });
    assert.equal(errorKind(futureRead), 'future-revision');
    const nested = h.apply({ type: 'txn', request: { success: [put('a', '1'), txn({ success: [put('b', '2', 99)] })] } });
    assert.equal(errorKind(nested), 'lease-not-found');
    assert.equal(h.machine.digest(), before);
  });

  it('a bad op in the branch not taken does not fail the txn', () => {
    const h = new Harness();
    const output = h.expect({ type: 'txn', request: { success: [put('a', '1')], failure: [put('b', '2', 99)] } }, 'txn');
    assert.equal(output.response.succeeded, true);
  });

  it('a compacted read in a txn fails with ErrCompacted', () => {
    const h = new Harness();
    h.put('a', '1');
    h.put('a', '2');
    h.expect({ type: 'compact', request: { revision: 3 } }, 'compact');
    assert.equal(errorKind(h.apply({ type: 'txn', request: { success: [{ type: 'range', request: { key: b('a'), revision: 2 } }] } })), 'compacted');
  });

  it('delete and range responses in a txn have the shapes of the standalone ones', () => {
    const h = new Harness();
    h.put('a', '1');
    h.put('b', '2');
    const output = h.expect({
      type: 'txn',
      request: { success: [{ type: 'delete-range', request: { key: b('a'), rangeEnd: b('c'), prevKv: true } }, get('a', 'c')] },
    }, 'txn');
    const [deleted, read] = output.response.responses;
    assert.ok(deleted?.type === 'delete-range' && read?.type === 'range');
    assert.equal(deleted.response.deleted, 2);
    assert.deepEqual(keysOf(deleted.response.prevKvs), ['a', 'b']);
    assert.deepEqual(read.response.kvs, []);
    assert.deepEqual(output.events.map((e) => e.type), ['DELETE', 'DELETE']);
  });
});

describe('txn refusals', () => {
  const DUPLICATE = 'etcdserver: duplicate key given in txn request';
  const TOO_MANY = 'etcdserver: too many operations in txn request';

  function message(h: Harness, request: TxnRequest): string | null {
    const output = h.apply({ type: 'txn', request });
    return output.type === 'error' ? output.error.message : null;
  }

  it('the same key put twice in one branch is a duplicate', () => {
    assert.equal(message(new Harness(), { success: [put('a', '1'), put('a', '2')] }), DUPLICATE);
    assert.equal(message(new Harness(), { failure: [put('a', '1'), put('a', '2')] }), DUPLICATE);
  });

  it('a put inside a delete range of the same branch is a duplicate, whichever comes first', () => {
    assert.equal(message(new Harness(), { success: [put('b', '1'), del('a', 'c')] }), DUPLICATE);
    assert.equal(message(new Harness(), { success: [del('a', 'c'), put('b', '1')] }), DUPLICATE);
    assert.equal(message(new Harness(), { success: [del('b'), put('b', '1')] }), DUPLICATE);
  });

  it('a delete with range_end "\\0" covers every key above it (stricter than etcd, which lets it through)', () => {
    assert.equal(message(new Harness(), { success: [del('a', '\0'), put('z', '1')] }), DUPLICATE);
  });

  it('a nested put of a key the outer branch writes is a duplicate', () => {
    assert.equal(message(new Harness(), { success: [put('a', '1'), txn({ success: [put('a', '2')] })] }), DUPLICATE);
    assert.equal(message(new Harness(), { success: [del('a'), txn({ failure: [put('a', '2')] })] }), DUPLICATE);
  });

  it('overlapping deletes, puts in the two branches of one nested txn, and writes in different top-level branches are allowed', () => {
    assert.equal(message(new Harness(), { success: [del('a', 'c'), del('b', 'd')] }), null);
    assert.equal(message(new Harness(), { success: [txn({ success: [put('a', '1')], failure: [put('a', '2')] })] }), null);
    assert.equal(message(new Harness(), { success: [put('a', '1')], failure: [put('a', '2')] }), null);
  });

  it('a put in one nested txn and a delete of the same key in a later one pass, as in etcd, and both land in one revision in op order', () => {
    const h = new Harness();
    h.put('a', 'old');
    const output = h.expect({ type: 'txn', request: { success: [txn({ success: [put('a', 'new')] }), txn({ success: [del('a')] })] } }, 'txn');
    assert.deepEqual(output.events.map((e) => [e.type, e.kv.modRevision, e.prevKv && plain(e.prevKv).value]), [['PUT', 3, 'old'], ['DELETE', 3, 'old']]);
    assert.equal(h.get('a'), null);
    assert.equal(h.get('a', 2)?.value, 'old');
  });

  it('more than maxTxnOps ops in compare, success or failure is refused; the bound is per list, not their sum', () => {
    const ops = (n: number): RequestOp[] => Array.from({ length: n }, (_, i) => get(`k${i}`));
    const compares = (n: number): Compare[] => Array.from({ length: n }, (_, i) => ({ key: b(`k${i}`), target: 'VERSION', result: 'EQUAL', version: 0 }));
    assert.equal(message(new Harness(), { success: ops(129) }), TOO_MANY);
    assert.equal(message(new Harness(), { failure: ops(129) }), TOO_MANY);
    assert.equal(message(new Harness(), { compare: compares(129) }), TOO_MANY);
    assert.equal(message(new Harness(), { compare: compares(128), success: ops(128), failure: ops(128) }), null);
  });

  it('a nested txn gets only the op budget its parent left', () => {
    const h = () => new Harness({ maxTxnOps: 4 });
    // The parent's longest list is 3, leaving 1 for the nested txn.
    assert.equal(message(h(), { success: [get('a'), get('b'), txn({ success: [get('c'), get('d')] })] }), TOO_MANY);
    assert.equal(message(h(), { success: [get('a'), get('b'), txn({ success: [get('c')] })] }), null);
  });

  it('an empty key in a compare is refused', () => {
    const output = new Harness().apply({ type: 'txn', request: { compare: [{ key: new Uint8Array(0), target: 'VERSION', result: 'EQUAL', version: 0 }] } });
    assert.equal(output.type === 'error' && output.error.message, 'etcdserver: key is not provided');
  });
});
