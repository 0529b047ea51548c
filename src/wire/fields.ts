/**
 * Codecs for the fields messages and records share: node ids, ballots, slots,
 * slot values and the sorted entry lists. Each rule is written once, as a
 * function naming the problem (or null), and enforced on both sides: the
 * decoder throws a WireError (the bytes are untrusted), the encoder asserts (a
 * value that breaks the rule was built by our own code: a bug).
 */
import { assert } from '../core/assert.js';
import type { Ballot } from '../core/ballot.js';
import type { NodeId, Slot } from '../core/ids.js';
import { membershipProblem } from '../core/multipaxos/membership.js';
import type { AcceptedEntry, ConfigEntry, DecidedEntry, Member, Membership, SlotValue } from '../core/multipaxos/types.js';
import type { Reader, Writer } from './buffer.js';
import { decodeCommand, type CommandCodec } from './command-codec.js';
import { WireError } from './errors.js';

// ------------------------------------------------------------------ rules

/**
 * A ballot's round is a non-negative integer (checked by the varint) and its node
 * is non-empty, except in ZERO_BALLOT (round 0, node ''), the ballot a fresh
 * acceptor has promised, which durable records and rejects may carry.
 */
export function ballotProblem(ballot: Ballot): string | null {
  if (!Number.isSafeInteger(ballot.round) || ballot.round < 0) return `ballot round ${ballot.round} is not a non-negative integer`;
  if (ballot.node === '' && ballot.round !== 0) return `ballot round ${ballot.round} has an empty node id`;
  return null;
}

/** Slot 0 means "none" (ids.ts), so a slot that holds a value is at least 1. */
export function entrySlotProblem(slot: number): string | null {
  if (!Number.isSafeInteger(slot) || slot < 1) return `slot ${slot} is not a positive integer`;
  return null;
}

/**
 * Entry lists are strictly increasing by slot: an acceptor has one vote and a
 * learner one decision per slot, and the core builds these lists sorted
 * (phase1.ts buildPromise, replica.ts onCatchupRequest).
 */
export function entryOrderProblem(previous: number, slot: number): string | null {
  return slot > previous ? null : `slot ${slot} follows slot ${previous}: entries must be strictly increasing`;
}

function check(problem: string | null): void {
  assert(problem === null, () => `cannot encode: ${problem}`);
}

function refuse(what: string, problem: string | null): void {
  if (problem !== null) throw new WireError('invalid', `${what}: ${problem}`);
}

// ------------------------------------------------------------------ node ids

export function writeNodeId(writer: Writer, id: NodeId, what: string): void {
  check(id.length === 0 ? 'node id is empty' : null);
  writer.string(id, what, writer.limits.nodeIdBytesMax);
}

export function readNodeId(reader: Reader, what: string): NodeId {
  const id = reader.string(what, reader.limits.nodeIdBytesMax);
  if (id.length === 0) throw new WireError('invalid', `${what}: node id is empty`);
  return id as NodeId;
}

// ------------------------------------------------------------------ ballots and slots

/** Smallest encoding of a ballot: round varint (1) + empty node string (1). */
export const BALLOT_BYTES_MIN = 2;

export function writeBallot(writer: Writer, ballot: Ballot, what: string): void {
  check(ballotProblem(ballot));
  writer.varuint(ballot.round);
  writer.string(ballot.node, `${what} node`, writer.limits.nodeIdBytesMax);
}

export function readBallot(reader: Reader, what: string): Ballot {
  const round = reader.varuint(`${what} round`);
  const node = reader.string(`${what} node`, reader.limits.nodeIdBytesMax) as NodeId;
  const ballot: Ballot = { round, node };
  refuse(what, ballotProblem(ballot));
  return ballot;
}

/** Any slot, 0 ("none") included: fromSlot, commitThrough, compactedThrough... */
export function writeSlot(writer: Writer, slot: Slot): void {
  writer.varuint(slot);
}

export function readSlot(reader: Reader, what: string): Slot {
  return reader.varuint(what) as Slot;
}

/** The slot of a vote or decision: at least 1. */
export function writeEntrySlot(writer: Writer, slot: Slot): void {
  check(entrySlotProblem(slot));
  writer.varuint(slot);
}

export function readEntrySlot(reader: Reader, what: string): Slot {
  const slot = reader.varuint(what);
  refuse(what, entrySlotProblem(slot));
  return slot as Slot;
}

/** Plain counters (read rounds): non-negative safe integers. */
export function writeCounter(writer: Writer, value: number): void {
  writer.varuint(value);
}

export function readCounter(reader: Reader, what: string): number {
  return reader.varuint(what);
}

// ------------------------------------------------------------------ commands and values

const VALUE_NOOP = 0;
const VALUE_BATCH = 1;
const VALUE_CONFIG = 2;

/** A command is at least its one-byte length prefix. */
const COMMAND_BYTES_MIN = 1;
/** A value is at least its one-byte kind. */
const VALUE_BYTES_MIN = 1;

export function writeCommands<C>(writer: Writer, commands: readonly C[], codec: CommandCodec<C>, what: string): void {
  writer.count(commands.length, what);
  for (const command of commands) writer.bytes(codec.encode(command), `${what} command`);
}

export function readCommands<C>(reader: Reader, codec: CommandCodec<C>, what: string): C[] {
  const count = reader.count(what, COMMAND_BYTES_MIN);
  const commands: C[] = [];
  for (let index = 0; index < count; index++) {
    commands.push(decodeCommand(codec, reader.bytes(`${what}[${index}]`), `${what}[${index}]`));
  }
  return commands;
}

export function writeSlotValue<C>(writer: Writer, value: SlotValue<C>, codec: CommandCodec<C>, what: string): void {
  switch (value.kind) {
    case 'noop':
      writer.u8(VALUE_NOOP);
      return;
    case 'batch':
      writer.u8(VALUE_BATCH);
      writeCommands(writer, value.commands, codec, `${what} commands`);
      return;
    case 'config':
      writer.u8(VALUE_CONFIG);
      writer.string(value.id, `${what} id`, writer.limits.nodeIdBytesMax);
      writeMembership(writer, value.membership, `${what} membership`);
      return;
    default: {
      const never: never = value;
      assert(false, () => `cannot encode slot value ${JSON.stringify(never)}`);
    }
  }
}

export function readSlotValue<C>(reader: Reader, codec: CommandCodec<C>, what: string): SlotValue<C> {
  const kind = reader.u8(`${what} kind`);
  switch (kind) {
    case VALUE_NOOP:
      return { kind: 'noop' };
    case VALUE_BATCH:
      return { kind: 'batch', commands: readCommands(reader, codec, `${what} commands`) };
    case VALUE_CONFIG:
      return { kind: 'config', id: reader.string(`${what} id`, reader.limits.nodeIdBytesMax), membership: readMembership(reader, `${what} membership`) };
    default:
      throw new WireError('unknown-tag', `${what}: unknown slot value kind ${kind}`);
  }
}

// ------------------------------------------------------------------ configurations

/** A member is at least its id (2 bytes), voter flag (1) and info length (1). */
const MEMBER_BYTES_MIN = 4;
/** A configuration entry is at least its slot (1) and an empty member count (1). */
const CONFIG_ENTRY_BYTES_MIN = 2;

export function writeMembership(writer: Writer, membership: Membership, what: string): void {
  check(membershipProblem(membership));
  writer.count(membership.members.length, what);
  for (const member of membership.members) {
    writeNodeId(writer, member.id, `${what} member`);
    writer.bool(member.voter);
    writer.string(member.info, `${what} info`, writer.limits.bytesMax);
  }
}

export function readMembership(reader: Reader, what: string): Membership {
  const count = reader.count(what, MEMBER_BYTES_MIN);
  const members: Member[] = [];
  for (let index = 0; index < count; index++) {
    const id = readNodeId(reader, `${what}[${index}].id`);
    const voter = reader.bool(`${what}[${index}].voter`);
    const info = reader.string(`${what}[${index}].info`, reader.limits.bytesMax);
    members.push({ id, voter, info });
  }
  const membership = { members };
  refuse(what, membershipProblem(membership));
  return membership;
}

export function writeConfigEntries(writer: Writer, entries: readonly ConfigEntry[], what: string): void {
  writer.count(entries.length, what);
  let previous = 0;
  for (const entry of entries) {
    check(entryOrderProblem(previous, entry.activeFrom));
    previous = entry.activeFrom;
    writeEntrySlot(writer, entry.activeFrom);
    writeMembership(writer, entry.membership, `${what} membership`);
  }
}

export function readConfigEntries(reader: Reader, what: string): ConfigEntry[] {
  const count = reader.count(what, CONFIG_ENTRY_BYTES_MIN);
  const entries: ConfigEntry[] = [];
  let previous = 0;
  for (let index = 0; index < count; index++) {
    const activeFrom = readEntrySlot(reader, `${what}[${index}].activeFrom`);
    refuse(`${what}[${index}]`, entryOrderProblem(previous, activeFrom));
    previous = activeFrom;
    entries.push({ activeFrom, membership: readMembership(reader, `${what}[${index}].membership`) });
  }
  return entries;
}

// ------------------------------------------------------------------ entry lists

/** Bounds a list read: count <= entriesMax and count * (smallest entry) <= bytes left. */
const ACCEPTED_ENTRY_BYTES_MIN = 1 + BALLOT_BYTES_MIN + VALUE_BYTES_MIN;
const DECIDED_ENTRY_BYTES_MIN = 1 + VALUE_BYTES_MIN;

export function writeAcceptedEntries<C>(writer: Writer, entries: readonly AcceptedEntry<C>[], codec: CommandCodec<C>, what: string): void {
  writer.count(entries.length, what);
  let previous = 0;
  for (const entry of entries) {
    check(entryOrderProblem(previous, entry.slot));
    previous = entry.slot;
    writeEntrySlot(writer, entry.slot);
    writeBallot(writer, entry.ballot, `${what} ballot`);
    writeSlotValue(writer, entry.value, codec, what);
  }
}

export function readAcceptedEntries<C>(reader: Reader, codec: CommandCodec<C>, what: string): AcceptedEntry<C>[] {
  const count = reader.count(what, ACCEPTED_ENTRY_BYTES_MIN);
  const entries: AcceptedEntry<C>[] = [];
  let previous = 0;
  for (let index = 0; index < count; index++) {
    const slot = readEntrySlot(reader, `${what}[${index}].slot`);
    refuse(`${what}[${index}]`, entryOrderProblem(previous, slot));
    previous = slot;
    const ballot = readBallot(reader, `${what}[${index}].ballot`);
    const value = readSlotValue(reader, codec, `${what}[${index}].value`);
    entries.push({ slot, ballot, value });
  }
  return entries;
}

export function writeDecidedEntries<C>(writer: Writer, entries: readonly DecidedEntry<C>[], codec: CommandCodec<C>, what: string): void {
  writer.count(entries.length, what);
  let previous = 0;
  for (const entry of entries) {
    check(entryOrderProblem(previous, entry.slot));
    previous = entry.slot;
    writeEntrySlot(writer, entry.slot);
    writeSlotValue(writer, entry.value, codec, what);
  }
}

export function readDecidedEntries<C>(reader: Reader, codec: CommandCodec<C>, what: string): DecidedEntry<C>[] {
  const count = reader.count(what, DECIDED_ENTRY_BYTES_MIN);
  const entries: DecidedEntry<C>[] = [];
  let previous = 0;
  for (let index = 0; index < count; index++) {
    const slot = readEntrySlot(reader, `${what}[${index}].slot`);
    refuse(`${what}[${index}]`, entryOrderProblem(previous, slot));
    previous = slot;
    entries.push({ slot, value: readSlotValue(reader, codec, `${what}[${index}].value`) });
  }
  return entries;
}
