/**
 * fast-check arbitraries for every valid Message<C> and DurableRecord<C>. The
 * per-variant tables are typed by MessageType and RecordKind, so a variant added
 * to types.ts does not compile here until it has an arbitrary (and so a round-trip
 * test).
 */
import fc from 'fast-check';
import { ZERO_BALLOT, type Ballot } from '../../src/core/ballot.js';
import type { NodeId, Slot } from '../../src/core/ids.js';
import type {
  AcceptedEntry,
  ConfigEntry,
  DecidedEntry,
  Membership,
  DurableRecord,
  Message,
  MessageType,
  SlotValue,
} from '../../src/core/multipaxos/types.js';
import type { RecordKind } from '../../src/wire/record.js';

/** fc.record builds null-prototype objects by default; the decoder builds plain ones. */
function record<T extends object>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true }) as fc.Arbitrary<T>;
}

export const nodeIdArb: fc.Arbitrary<NodeId> = fc
  .oneof(fc.constantFrom('n1', 'n2', 'n3'), fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }))
  .map((id) => id as NodeId);

const integerArb = fc.oneof(fc.nat({ max: 300 }), fc.nat(), fc.maxSafeNat());

export const slotArb: fc.Arbitrary<Slot> = integerArb.map((n) => n as Slot);
export const entrySlotArb: fc.Arbitrary<Slot> = integerArb.map((n) => Math.max(1, n) as Slot);

export const ballotArb: fc.Arbitrary<Ballot> = fc.oneof(
  { arbitrary: fc.constant(ZERO_BALLOT), weight: 1 },
  { arbitrary: record({ round: integerArb, node: nodeIdArb }), weight: 6 },
);

export const membershipArb: fc.Arbitrary<Membership> = fc
  .uniqueArray(nodeIdArb, { minLength: 1, maxLength: 5 })
  .chain((ids) =>
    fc.tuple(...ids.map((id, i) => record({ id: fc.constant(id), voter: i === 0 ? fc.constant(true) : fc.boolean(), info: fc.string({ maxLength: 20 }) }))),
  )
  .map((members) => ({ members }));

export const configEntriesArb: fc.Arbitrary<ConfigEntry[]> = sortedSlotsArbOf(3).chain((slots) =>
  fc.tuple(...slots.map((slot) => record<ConfigEntry>({ activeFrom: fc.constant(slot), membership: membershipArb }))),
);

function sortedSlotsArbOf(maxLength: number): fc.Arbitrary<Slot[]> {
  return fc.uniqueArray(entrySlotArb, { maxLength }).map((slots) => [...slots].sort((a, b) => a - b));
}

function slotValueArb<C>(command: fc.Arbitrary<C>): fc.Arbitrary<SlotValue<C>> {
  return fc.oneof(
    fc.constant<SlotValue<C>>({ kind: 'noop' }),
    fc.array(command, { maxLength: 5 }).map((commands): SlotValue<C> => ({ kind: 'batch', commands })),
    record({ kind: fc.constant('config' as const), id: fc.string({ maxLength: 12 }), membership: membershipArb }),
  );
}

const sortedSlotsArb = sortedSlotsArbOf(6);

function acceptedEntriesArb<C>(command: fc.Arbitrary<C>): fc.Arbitrary<AcceptedEntry<C>[]> {
  return sortedSlotsArb.chain((slots) =>
    fc.tuple(...slots.map((slot) => record({ slot: fc.constant(slot), ballot: ballotArb, value: slotValueArb(command) }))),
  );
}

function decidedEntriesArb<C>(command: fc.Arbitrary<C>): fc.Arbitrary<DecidedEntry<C>[]> {
  return sortedSlotsArb.chain((slots) => fc.tuple(...slots.map((slot) => record({ slot: fc.constant(slot), value: slotValueArb(command) }))));
}

const addressArb = fc
  .tuple(nodeIdArb, nodeIdArb)
  .filter(([from, to]) => from !== to)
  .map(([from, to]) => ({ from, to }));

type Variant<C, T extends MessageType> = Extract<Message<C>, { type: T }>;

function addressed<C, T extends MessageType, F extends object>(
  type: T,
  fields: fc.Arbitrary<F>,
): fc.Arbitrary<Variant<C, T>> {
  return fc.tuple(addressArb, fields).map(([address, rest]) => ({ type, ...address, ...rest }) as unknown as Variant<C, T>);
}

export function messageArbs<C>(command: fc.Arbitrary<C>): { [T in MessageType]: fc.Arbitrary<Variant<C, T>> } {
  return {
    prepare: addressed('prepare', record({ ballot: ballotArb, fromSlot: slotArb, transfer: fc.option(ballotArb, { nil: null }) })),
    promise: addressed(
      'promise',
      record({
        ballot: ballotArb,
        fromSlot: slotArb,
        accepted: acceptedEntriesArb(command),
        decided: decidedEntriesArb(command),
        decidedTruncated: fc.boolean(),
        compactedThrough: slotArb,
      }),
    ),
    accept: addressed('accept', record({ ballot: ballotArb, slot: entrySlotArb, value: slotValueArb(command), commitThrough: slotArb })),
    accepted: addressed('accepted', record({ ballot: ballotArb, slot: entrySlotArb })),
    reject: addressed('reject', record({ ballot: ballotArb, promised: ballotArb })),
    heartbeat: addressed('heartbeat', record({ ballot: ballotArb, commitThrough: slotArb, readRound: integerArb })),
    'heartbeat-ack': addressed('heartbeat-ack', record({ ballot: ballotArb, readRound: integerArb, decidedThrough: slotArb })),
    'catchup-request': addressed('catchup-request', record({ fromSlot: slotArb, throughSlot: slotArb })),
    'catchup-reply': addressed('catchup-reply', record({ decided: decidedEntriesArb(command) })),
    snapshot: addressed(
      'snapshot',
      fc
        .tuple(slotArb, fc.nat({ max: 1000 }), fc.uint8Array({ maxLength: 64 }), fc.nat({ max: 1000 }), configEntriesArb)
        .map(([throughSlot, offset, data, extra, configs]) => ({ throughSlot, offset, total: offset + data.length + extra, data, configs })),
    ),
    'snapshot-request': addressed('snapshot-request', record({ throughSlot: slotArb, offset: integerArb })),
    forward: addressed('forward', record({ commands: fc.array(command, { maxLength: 5 }) })),
    'timeout-now': addressed('timeout-now', record({ ballot: ballotArb })),
    reconfigure: addressed(
      'reconfigure',
      record({ request: record({ id: fc.string({ maxLength: 12 }), basedOn: slotArb, membership: membershipArb, caughtUp: fc.array(nodeIdArb, { maxLength: 3 }) }) }),
    ),
    'reconfigure-rejected': addressed(
      'reconfigure-rejected',
      record({ id: fc.string({ maxLength: 12 }), reason: fc.constantFrom('not-leader' as const, 'in-progress' as const, 'stale' as const, 'invalid' as const, 'stepped-down' as const, 'behind' as const) }),
    ),
  };
}

export function messageArb<C>(command: fc.Arbitrary<C>): fc.Arbitrary<Message<C>> {
  return fc.oneof(...Object.values(messageArbs(command))) as fc.Arbitrary<Message<C>>;
}

type RecordVariant<C, K extends RecordKind> = Extract<DurableRecord<C>, { kind: K }>;

export function recordArbs<C>(command: fc.Arbitrary<C>): { [K in RecordKind]: fc.Arbitrary<RecordVariant<C, K>> } {
  return {
    promise: record({ kind: fc.constant('promise' as const), ballot: ballotArb }),
    accept: record({ kind: fc.constant('accept' as const), slot: entrySlotArb, ballot: ballotArb, value: slotValueArb(command) }),
    decide: record({ kind: fc.constant('decide' as const), slot: entrySlotArb, value: slotValueArb(command) }),
    snapshot: record({ kind: fc.constant('snapshot' as const), throughSlot: slotArb, data: fc.uint8Array({ maxLength: 64 }), configs: configEntriesArb }),
    genesis: record({ kind: fc.constant('genesis' as const), configs: configEntriesArb }),
  };
}

export function recordArb<C>(command: fc.Arbitrary<C>): fc.Arbitrary<DurableRecord<C>> {
  return fc.oneof(...Object.values(recordArbs(command))) as fc.Arbitrary<DurableRecord<C>>;
}

/** Commands for the bytes codec. */
export const bytesCommandArb: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 24 });

/** A JSON command shaped like the server's (put/delete on string keys). */
export type KvCommand = { op: 'put'; key: string; value: string } | { op: 'delete'; key: string };

export const kvCommandArb: fc.Arbitrary<KvCommand> = fc.oneof(
  record({ op: fc.constant('put' as const), key: fc.string({ maxLength: 8 }), value: fc.string({ maxLength: 16, unit: 'grapheme' }) }),
  record({ op: fc.constant('delete' as const), key: fc.string({ maxLength: 8 }) }),
);

export function isKvCommand(value: unknown): value is KvCommand {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  if (v.op === 'put') return Object.keys(v).length === 3 && typeof v.key === 'string' && typeof v.value === 'string';
  if (v.op === 'delete') return Object.keys(v).length === 2 && typeof v.key === 'string';
  return false;
}
