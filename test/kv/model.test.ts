/**
 * Model-based property test: random command sequences run against the real
 * machine and the naive reference (reference-model.ts) must agree on every
 * output, on ranges at random past revisions, on watch catch-up, and on lease
 * queries. Midway the machine is snapshotted into a twin restored from it;
 * from then on the twin must answer exactly like the machine, with an equal
 * digest after every step.
 *
 * On failure fast-check prints the seed and the shrunk sequence; the message
 * also lists the concrete commands applied, in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { slot } from '../../src/core/ids.js';
import { KvStateMachine } from '../../src/kv/kv-state-machine.js';
import { bytesJsonReplacer } from '../../src/kv/snapshot.js';
import type { Compare, KvCommand, RangeRequest, RequestOp, TxnRequest } from '../../src/kv/types.js';
import { b } from './helpers.js';
import { ReferenceKv } from './reference-model.js';

// Small key, value and lease spaces so commands collide often.
const key = fc.constantFrom('a', 'ab', 'b', 'ba', 'c', '\0');
const rangeEnd = fc.constantFrom<string | undefined>(undefined, undefined, '\0', '\0', 'b', 'bb', 'c', 'z', 'a');
const value = fc.constantFrom('', 'x', 'y', 'z');
const leaseId = fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3);
const flag = (p: number) => fc.integer({ min: 1, max: 100 }).map((n) => n <= p * 100);
const smallRevision = fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }) });

/** `revisionBack`: 0 for the current revision, n > 0 for n - 1 revisions back from the current one. */
const rangeRequest = fc.record({
  key,
  rangeEnd,
  limit: fc.constantFrom(0, 0, 1, 2, 3),
  revisionBack: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 8 })),
  sortOrder: fc.constantFrom('NONE', 'ASCEND', 'DESCEND'),
  sortTarget: fc.constantFrom('KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE'),
  keysOnly: flag(0.2),
  countOnly: flag(0.1),
  minModRevision: smallRevision,
  maxModRevision: smallRevision,
  minCreateRevision: smallRevision,
  maxCreateRevision: smallRevision,
}, { requiredKeys: ['key', 'revisionBack'] });
type AbstractRange = typeof rangeRequest extends fc.Arbitrary<infer T> ? T : never;

const putRequest = fc.tuple(key, value, leaseId, flag(0.3), flag(0.08), flag(0.08)).map(([k, v, lease, prevKv, ignoreValue, ignoreLease]) => ({
  key: b(k),
  value: ignoreValue ? b('') : b(v),
  lease: ignoreLease ? 0 : lease,
  prevKv,
  ignoreValue,
  ignoreLease,
}));

const deleteRequest = fc.tuple(key, rangeEnd, flag(0.5)).map(([k, end, prevKv]) => (end === undefined ? { key: b(k), prevKv } : { key: b(k), rangeEnd: b(end), prevKv }));

const compare: fc.Arbitrary<Compare> = fc.tuple(key, rangeEnd, fc.constantFrom('EQUAL', 'NOT_EQUAL', 'GREATER', 'LESS'),
  fc.constantFrom('VERSION', 'CREATE', 'MOD', 'VALUE', 'LEASE'), fc.integer({ min: 0, max: 6 }), value)
  .map(([k, end, result, target, n, v]): Compare => {
    const base = end === undefined ? { key: b(k), result } : { key: b(k), rangeEnd: b(end), result };
    switch (target) {
      case 'VERSION': return { ...base, target, version: n % 3 };
      case 'CREATE': return { ...base, target, createRevision: n };
      case 'MOD': return { ...base, target, modRevision: n };
      case 'LEASE': return { ...base, target, lease: n % 4 };
      case 'VALUE': return { ...base, target, value: b(v) };
    }
  });

type AbstractOp = { type: 'range'; request: AbstractRange } | Exclude<RequestOp, { type: 'range' } | { type: 'txn' }> | { type: 'txn'; request: AbstractTxn };
interface AbstractTxn { compare: Compare[]; success: AbstractOp[]; failure: AbstractOp[] }

const { txn } = fc.letrec<{ txn: AbstractTxn; op: AbstractOp }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ type: fc.constant('range' as const), request: rangeRequest }),
    fc.record({ type: fc.constant('put' as const), request: putRequest }),
    fc.record({ type: fc.constant('delete-range' as const), request: deleteRequest }),
    fc.record({ type: fc.constant('txn' as const), request: tie('txn') as fc.Arbitrary<AbstractTxn> }),
  ) as fc.Arbitrary<AbstractOp>,
  txn: fc.record({
    compare: fc.array(compare, { maxLength: 3 }),
    success: fc.array(tie('op') as fc.Arbitrary<AbstractOp>, { maxLength: 3 }),
    failure: fc.array(tie('op') as fc.Arbitrary<AbstractOp>, { maxLength: 2 }),
  }),
}));

type Step =
  | { kind: 'command'; advanceMs: number; command: AbstractCommand }
  | { kind: 'check-range'; request: AbstractRange }
  | { kind: 'check-watch'; key: string; rangeEnd: string | undefined; startBack: number }
  | { kind: 'check-leases'; id: number; laterMs: number };

type AbstractCommand =
  | { type: 'put'; request: { key: Uint8Array; value: Uint8Array; lease: number; prevKv: boolean; ignoreValue: boolean; ignoreLease: boolean } }
  | { type: 'delete-range'; request: { key: Uint8Array; rangeEnd?: Uint8Array; prevKv: boolean } }
  | { type: 'txn'; request: AbstractTxn }
  | { type: 'range'; request: AbstractRange }
  | { type: 'compact'; back: number }
  | { type: 'lease-grant'; id: number; ttl: number }
  | { type: 'lease-revoke'; id: number }
  | { type: 'lease-renew'; id: number }
  | { type: 'lease-expire'; ids: number[] }
  | { type: 'leader-changed'; extendMs: number };

const abstractCommand: fc.Arbitrary<AbstractCommand> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ type: fc.constant('put' as const), request: putRequest }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constant('delete-range' as const), request: deleteRequest }) },
  { weight: 4, arbitrary: fc.record({ type: fc.constant('txn' as const), request: txn }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('range' as const), request: rangeRequest }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 3, arbitrary: fc.record({ type: fc.constant('lease-grant' as const), id: fc.constantFrom(0, 1, 2, 3), ttl: fc.constantFrom(-1, 1, 3, 10, 30, 30, 9_000_000_001) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('lease-revoke' as const), id: fc.constantFrom(1, 2, 3, 4) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('lease-renew' as const), id: fc.constantFrom(1, 2, 3, 4) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('lease-expire' as const), ids: fc.subarray([1, 2, 3, 4]) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leader-changed' as const), extendMs: fc.constantFrom(0, 1_000, 5_000) }) },
);

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('command' as const), advanceMs: fc.oneof(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 8_000 })), command: abstractCommand }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('check-range' as const), request: rangeRequest }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('check-watch' as const), key, rangeEnd, startBack: fc.integer({ min: 0, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('check-leases' as const), id: fc.constantFrom(1, 2, 3, 4), laterMs: fc.integer({ min: 0, max: 40_000 }) }) },
);

/** Turns "n back" revisions into absolute ones against the reference's current revision. */
function concreteRange(request: AbstractRange, current: number): RangeRequest {
  const { revisionBack, rangeEnd: end, key: k, ...rest } = request;
  const base: RangeRequest = { ...rest, key: b(k), revision: revisionBack === 0 ? 0 : Math.max(1, current - (revisionBack - 1)) };
  return end === undefined ? base : { ...base, rangeEnd: b(end) };
}

function concreteTxn(request: AbstractTxn, current: number): TxnRequest {
  const op = (o: AbstractOp): RequestOp => {
    if (o.type === 'range') return { type: 'range', request: concreteRange(o.request, current) };
    if (o.type === 'txn') return { type: 'txn', request: concreteTxn(o.request, current) };
    return o;
  };
  return { compare: request.compare, success: request.success.map(op), failure: request.failure.map(op) };
}

function concreteCommand(command: AbstractCommand, model: ReferenceKv, now: number): KvCommand {
  const current = model.revision;
  switch (command.type) {
    case 'put':
    case 'delete-range':
      return command;
    case 'txn':
      return { type: 'txn', request: concreteTxn(command.request, current) };
    case 'range':
      return { type: 'range', request: concreteRange(command.request, current) };
    case 'compact':
      return { type: 'compact', request: { revision: current - command.back } };
    case 'lease-grant':
      return { type: 'lease-grant', request: { id: command.id, ttl: command.ttl }, now };
    case 'lease-revoke':
      return { type: 'lease-revoke', request: { id: command.id } };
    case 'lease-renew':
      return { type: 'lease-renew', request: { id: command.id }, now };
    case 'lease-expire':
      return { type: 'lease-expire', ids: command.ids, now };
    case 'leader-changed':
      return { type: 'leader-changed', now, extendMs: command.extendMs };
  }
}

function run(steps: Step[], restoreAt: number): void {
  const model = new ReferenceKv();
  const machine = new KvStateMachine();
  let twin: KvStateMachine | null = null;
  let now = 0;
  const applied: string[] = [];
  const context = () => `after commands:\n${applied.slice(-12).join('\n')}`;
  steps.forEach((s, index) => {
    if (index === restoreAt) {
      twin = new KvStateMachine();
      twin.restore(machine.snapshot());
      assert.equal(twin.digest(), machine.digest(), 'digest right after restore');
    }
    const machines = twin === null ? [machine] : [machine, twin];
    switch (s.kind) {
      case 'command': {
        now += s.advanceMs;
        const command = concreteCommand(s.command, model, now);
        applied.push(JSON.stringify(command, bytesJsonReplacer));
        const expected = model.apply(command);
        for (const m of machines) {
          assert.deepEqual(m.apply(command, slot(index + 1)), expected, `output of step ${index} ${context()}`);
          m.checkInvariants();
        }
        if (twin !== null) assert.equal(twin.digest(), machine.digest(), `digest after step ${index} ${context()}`);
        break;
      }
      case 'check-range': {
        const request = concreteRange(s.request, model.revision);
        const expected = model.range(request);
        for (const m of machines) assert.deepEqual(m.range(request), expected, `range ${JSON.stringify(request, bytesJsonReplacer)} ${context()}`);
        break;
      }
      case 'check-watch': {
        const request = s.rangeEnd === undefined
          ? { key: b(s.key), startRevision: model.revision - s.startBack }
          : { key: b(s.key), rangeEnd: b(s.rangeEnd), startRevision: model.revision - s.startBack };
        const expected = model.watchEvents(request);
        for (const m of machines) {
          const actual = m.watchEvents(request);
          assert.deepEqual(actual.ok ? { ok: true, value: actual.value.events } : actual, expected, `watch ${JSON.stringify(request, bytesJsonReplacer)} ${context()}`);
        }
        break;
      }
      case 'check-leases': {
        const at = now + s.laterMs;
        const expected = model.ttl(s.id, at);
        for (const m of machines) {
          const actual = m.leaseTimeToLive({ id: s.id, keys: true }, at);
          assert.deepEqual({ ttl: actual.ttl, granted: actual.grantedTtl, keys: actual.keys.map((k) => String.fromCharCode(...k)) }, expected, `ttl ${context()}`);
          assert.deepEqual(m.leaseLeases().leases.map((l) => l.id), model.leaseIdsByDeadline(), `leases ${context()}`);
          assert.deepEqual(m.expiredLeases(at), model.expired(at), `expired ${context()}`);
        }
        break;
      }
    }
  });
}

describe('model-based: machine against the naive reference', () => {
  it('random command sequences give identical outputs, ranges at past revisions, watch catch-up and lease answers; a mid-sequence restore behaves identically after', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 80, size: 'max' }), fc.nat({ max: 80 }), (steps, restoreAt) => run(steps, restoreAt)),
      { numRuns: 600 },
    );
  });
});
