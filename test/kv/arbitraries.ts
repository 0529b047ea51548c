/**
 * fast-check arbitraries for key-value commands (src/kv/types.ts), built from
 * parts each test chooses: its keys, byte strings, integers, lease IDs and
 * clock values. The codec test draws every field shape with extreme values;
 * the replica fuzzer draws from a few keys so that commands meet each other.
 * Both get every command type and every field from this one place.
 */
import fc from 'fast-check';
import type { KvCommand } from '../../src/kv/types.js';

export interface KvCommandParts {
  readonly key: fc.Arbitrary<Uint8Array>;
  readonly rangeEnd: fc.Arbitrary<Uint8Array>;
  /** Put values and the values compares test against. */
  readonly value: fc.Arbitrary<Uint8Array>;
  /** Revisions, limits, versions, TTLs: any number a request may carry. */
  readonly int: fc.Arbitrary<number>;
  /** Lease IDs in puts, grants, renewals, revocations and expiries. */
  readonly leaseId: fc.Arbitrary<number>;
  /** The `now` and `extendMs` a leader stamps on lease commands. */
  readonly clock: fc.Arbitrary<number>;
}

const bool = fc.boolean();
const optionalKeys = { requiredKeys: [] as never[] };

export function kvCommandArbitrary(parts: KvCommandParts): fc.Arbitrary<KvCommand> {
  const { key, rangeEnd, value, int, leaseId, clock } = parts;
  const range = fc.record(
    {
      key,
      rangeEnd,
      limit: int,
      revision: int,
      sortOrder: fc.constantFrom('NONE', 'ASCEND', 'DESCEND'),
      sortTarget: fc.constantFrom('KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'),
      serializable: bool,
      keysOnly: bool,
      countOnly: bool,
      minModRevision: int,
      maxModRevision: int,
      minCreateRevision: int,
      maxCreateRevision: int,
    },
    { requiredKeys: ['key'] },
  );
  const put = fc.record({ key, value, lease: leaseId, prevKv: bool, ignoreValue: bool, ignoreLease: bool }, { requiredKeys: ['key'] });
  const deleteRange = fc.record({ key, rangeEnd, prevKv: bool }, { requiredKeys: ['key'] });
  const result = fc.constantFrom('EQUAL', 'GREATER', 'LESS', 'NOT_EQUAL');
  const compare = fc.oneof(
    fc.record({ key, rangeEnd, result, target: fc.constant('VERSION'), version: int }, { requiredKeys: ['key', 'result', 'target', 'version'] }),
    fc.record({ key, rangeEnd, result, target: fc.constant('CREATE'), createRevision: int }, { requiredKeys: ['key', 'result', 'target', 'createRevision'] }),
    fc.record({ key, rangeEnd, result, target: fc.constant('MOD'), modRevision: int }, { requiredKeys: ['key', 'result', 'target', 'modRevision'] }),
    fc.record({ key, rangeEnd, result, target: fc.constant('VALUE'), value }, { requiredKeys: ['key', 'result', 'target', 'value'] }),
    fc.record({ key, rangeEnd, result, target: fc.constant('LEASE'), lease: leaseId }, { requiredKeys: ['key', 'result', 'target', 'lease'] }),
  );
  const { txn } = fc.letrec<{ txn: unknown; op: unknown }>((tie) => ({
    txn: fc.record({ compare: fc.array(compare, { maxLength: 3 }), success: fc.array(tie('op'), { maxLength: 3 }), failure: fc.array(tie('op'), { maxLength: 3 }) }, optionalKeys),
    op: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ type: fc.constant('range'), request: range }),
      fc.record({ type: fc.constant('put'), request: put }),
      fc.record({ type: fc.constant('delete-range'), request: deleteRange }),
      fc.record({ type: fc.constant('txn'), request: tie('txn') }),
    ),
  }));
  return fc.oneof(
    fc.record({ type: fc.constant('range'), request: range }),
    { arbitrary: fc.record({ type: fc.constant('put'), request: put }), weight: 2 },
    fc.record({ type: fc.constant('delete-range'), request: deleteRange }),
    fc.record({ type: fc.constant('txn'), request: txn }),
    fc.record({ type: fc.constant('compact'), request: fc.record({ revision: int, physical: bool }, { requiredKeys: ['revision'] }) }),
    fc.record({ type: fc.constant('lease-grant'), request: fc.record({ ttl: int, id: leaseId }, { requiredKeys: ['ttl'] }), now: clock }),
    fc.record({ type: fc.constant('lease-revoke'), request: fc.record({ id: leaseId }) }),
    fc.record({ type: fc.constant('lease-renew'), request: fc.record({ id: leaseId }), now: clock }),
    fc.record({ type: fc.constant('lease-expire'), ids: fc.array(leaseId, { maxLength: 6 }), now: clock }),
    fc.record({ type: fc.constant('leader-changed'), now: clock, extendMs: clock }),
  ) as fc.Arbitrary<KvCommand>;
}
