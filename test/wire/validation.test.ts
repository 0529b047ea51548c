/**
 * One test per rule the decoders enforce: each builds bytes that break exactly
 * that rule and checks the WireError's code and message. The encoder side: a
 * value of the wrong shape is a bug (InvariantError), a value over a size bound
 * is a WireError the sender can handle.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvariantError } from '../../src/core/assert.js';
import { ballot, ZERO_BALLOT } from '../../src/core/ballot.js';
import { nodeId, slot, type NodeId, type Slot } from '../../src/core/ids.js';
import type { Message } from '../../src/core/multipaxos/types.js';
import { DEFAULT_WIRE_LIMITS, Reader, Writer } from '../../src/wire/buffer.js';
import { bytesCommandCodec, jsonCommandCodec } from '../../src/wire/command-codec.js';
import { WireError, type WireErrorCode } from '../../src/wire/errors.js';
import { MESSAGE_TAGS, decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { RECORD_TAGS, decodeRecord, encodeRecord } from '../../src/wire/record.js';

const n1 = nodeId('n1');
const n2 = nodeId('n2');

/** Writes a message by hand so a test can break any one field. */
function bytesOf(build: (w: Writer) => void): Uint8Array {
  const writer = new Writer();
  build(writer);
  return writer.finish();
}

function header(w: Writer, type: keyof typeof MESSAGE_TAGS, from = 'n1', to = 'n2'): void {
  w.u8(MESSAGE_TAGS[type]);
  w.string(from, 'from', 1000);
  w.string(to, 'to', 1000);
}

function writeBallot(w: Writer, round: number, node: string): void {
  w.varuint(round);
  w.string(node, 'node', 1000);
}

function rejects(bytes: Uint8Array, code: WireErrorCode, pattern: RegExp, limits = DEFAULT_WIRE_LIMITS): void {
  assert.throws(
    () => decodeMessage(bytes, bytesCommandCodec, limits),
    (error: unknown) => {
      assert.ok(error instanceof WireError, `expected a WireError, got ${String(error)}`);
      assert.equal(error.code, code, error.message);
      assert.match(error.message, pattern);
      return true;
    },
  );
}

const accepted = (s: Slot, round = 1): Message<Uint8Array> => ({ type: 'accepted', from: n1, to: n2, ballot: ballot(round, n1), slot: s });

describe('decodeMessage refuses', () => {
  it('an empty input as truncated', () => rejects(new Uint8Array(0), 'truncated', /message tag/));

  it('an unknown type tag', () => rejects(Uint8Array.from([0xee]), 'unknown-tag', /unknown message tag 238/));

  it('trailing bytes after a complete message', () => {
    const bytes = encodeMessage(accepted(slot(3)), bytesCommandCodec);
    rejects(Uint8Array.from([...bytes, 0]), 'trailing-bytes', /accepted: 1 trailing bytes/);
  });

  it('an empty node id', () => rejects(bytesOf((w) => header(w, 'accepted', '')), 'invalid', /from: node id is empty/));

  it('a node id over nodeIdBytesMax', () =>
    rejects(bytesOf((w) => header(w, 'accepted', 'x'.repeat(256))), 'over-bound', /from: 256 bytes, at most 255/));

  it('a message addressed to its sender', () => rejects(bytesOf((w) => header(w, 'accepted', 'n1', 'n1')), 'invalid', /from and to are both "n1"/));

  it('invalid UTF-8 in a node id', () =>
    rejects(bytesOf((w) => { w.u8(MESSAGE_TAGS.accepted); w.bytes(Uint8Array.from([0xc3, 0x28]), 'from'); }), 'invalid', /from: invalid UTF-8/));

  it('a ballot with a round but no node', () =>
    rejects(bytesOf((w) => { header(w, 'accepted'); writeBallot(w, 4, ''); w.varuint(1); }), 'invalid', /ballot: ballot round 4 has an empty node id/));

  it('slot 0 as the slot of a vote', () =>
    rejects(bytesOf((w) => { header(w, 'accepted'); writeBallot(w, 1, 'n1'); w.varuint(0); }), 'invalid', /slot: slot 0 is not a positive integer/));

  it('a non-minimal varint', () =>
    rejects(bytesOf((w) => { header(w, 'accepted'); w.raw(Uint8Array.from([0x81, 0x00])); }), 'invalid', /non-minimal varint/));

  it('a varint above 2^53-1', () =>
    rejects(bytesOf((w) => { header(w, 'accepted'); w.raw(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])); }), 'over-bound', /above 2\^53-1/));

  it('a varint longer than eight bytes', () =>
    rejects(bytesOf((w) => { header(w, 'accepted'); w.raw(new Uint8Array(9).fill(0x80)); }), 'over-bound', /longer than 8 bytes/));

  it('a boolean byte other than 0 or 1', () =>
    rejects(
      bytesOf((w) => { header(w, 'promise'); writeBallot(w, 1, 'n1'); w.varuint(1); w.varuint(0); w.varuint(0); w.u8(2); w.varuint(0); }),
      'invalid',
      /decidedTruncated: boolean byte must be 0 or 1, got 2/,
    ));

  it('an unknown slot value kind', () =>
    rejects(bytesOf((w) => { header(w, 'accept'); writeBallot(w, 1, 'n1'); w.varuint(1); w.u8(9); w.varuint(0); }), 'unknown-tag', /value: unknown slot value kind 9/));

  const decidedList = (slots: number[]) =>
    bytesOf((w) => {
      header(w, 'catchup-reply');
      w.varuint(slots.length);
      for (const s of slots) { w.varuint(s); w.u8(0); }
    });

  it('decided entries out of order', () => rejects(decidedList([1, 3, 2]), 'invalid', /decided\[2\]: slot 2 follows slot 3/));

  it('duplicate decided entries', () => rejects(decidedList([5, 5]), 'invalid', /decided\[1\]: slot 5 follows slot 5/));

  it('unsorted accepted entries in a promise', () =>
    rejects(
      bytesOf((w) => {
        header(w, 'promise'); writeBallot(w, 2, 'n1'); w.varuint(1);
        w.varuint(2); w.varuint(7); writeBallot(w, 1, 'n2'); w.u8(0); w.varuint(6); writeBallot(w, 1, 'n2'); w.u8(0);
      }),
      'invalid',
      /promise: accepted\[1\]: slot 6 follows slot 7/,
    ));

  it('a list count the remaining bytes cannot hold, before reading any entry', () =>
    rejects(bytesOf((w) => { header(w, 'catchup-reply'); w.varuint(1_000); w.varuint(1); w.u8(0); }), 'truncated', /1000 entries cannot fit in the 2 bytes left/));

  it('more entries than entriesMax', () =>
    rejects(decidedList([1, 2, 3, 4]), 'over-bound', /4 entries, at most 3 allowed/, { ...DEFAULT_WIRE_LIMITS, entriesMax: 3 }));

  it('a byte string over bytesMax', () =>
    rejects(bytesOf((w) => { header(w, 'snapshot'); w.varuint(1); w.varuint(0); w.varuint(20); w.bytes(new Uint8Array(20), 'data'); }), 'over-bound', /data: 20 bytes, at most 10/, {
      ...DEFAULT_WIRE_LIMITS,
      bytesMax: 10,
    }));

  it('a byte string longer than the input, without allocating it', () =>
    rejects(bytesOf((w) => { header(w, 'snapshot'); w.varuint(1); w.varuint(0); w.varuint(60_000_000); w.varuint(60_000_000); }), 'truncated', /data: needs 60000000 bytes, 0 left/));

  it('a command the command codec refuses', () => {
    const codec = jsonCommandCodec((v): v is { op: string } => typeof v === 'object' && v !== null && 'op' in v);
    const good = encodeMessage({ type: 'forward', from: n1, to: n2, commands: [{ op: 'x' }] }, codec);
    assert.deepEqual(decodeMessage(good, codec), { type: 'forward', from: n1, to: n2, commands: [{ op: 'x' }] });
    const notJson = bytesOf((w) => { header(w, 'forward'); w.varuint(1); w.bytes(Uint8Array.from([0x7b]), 'command'); });
    assert.throws(() => decodeMessage(notJson, codec), (e: unknown) => e instanceof WireError && e.code === 'command' && /forward: commands\[0\]: command is not UTF-8 JSON/.test(e.message));
    const wrongShape = bytesOf((w) => { header(w, 'forward'); w.varuint(1); w.bytes(new TextEncoder().encode('[1]'), 'command'); });
    assert.throws(() => decodeMessage(wrongShape, codec), (e: unknown) => e instanceof WireError && e.code === 'command' && /failed validation/.test(e.message));
  });

  it('a command codec that throws a plain Error, reported as a WireError', () => {
    const codec = { encode: (c: Uint8Array) => c, decode: (): Uint8Array => { throw new RangeError('nope'); } };
    const bytes = encodeMessage({ type: 'forward', from: n1, to: n2, commands: [new Uint8Array(1)] }, bytesCommandCodec);
    assert.throws(() => decodeMessage(bytes, codec), (e: unknown) => e instanceof WireError && e.code === 'command' && /nope/.test(e.message));
  });
});

describe('decodeRecord refuses', () => {
  it('an unknown record tag', () =>
    assert.throws(() => decodeRecord(Uint8Array.from([0]), bytesCommandCodec), (e: unknown) => e instanceof WireError && e.code === 'unknown-tag'));

  it('a decide record for slot 0', () =>
    assert.throws(
      () => decodeRecord(Uint8Array.from([RECORD_TAGS.decide, 0, 0]), bytesCommandCodec),
      (e: unknown) => e instanceof WireError && e.code === 'invalid' && /decide record: slot: slot 0/.test(e.message),
    ));

  it('but accepts a promise of ZERO_BALLOT, which log rewrites record', () => {
    const bytes = encodeRecord({ kind: 'promise', ballot: ZERO_BALLOT }, bytesCommandCodec);
    assert.deepEqual(decodeRecord(bytes, bytesCommandCodec), { kind: 'promise', ballot: { round: 0, node: '' } });
  });
});

describe('encoders', () => {
  it('assert on a value of the wrong shape: a bug in the sender', () => {
    const bad = (m: unknown) => () => encodeMessage(m as Message<Uint8Array>, bytesCommandCodec);
    assert.throws(bad({ ...accepted(slot(1)), ballot: { round: 3, node: '' } }), InvariantError);
    assert.throws(bad({ ...accepted(slot(1)), slot: 0 }), InvariantError);
    assert.throws(bad({ ...accepted(slot(1)), slot: 1.5 }), InvariantError);
    assert.throws(bad({ ...accepted(slot(1)), from: '' }), InvariantError);
    assert.throws(bad({ ...accepted(slot(1)), to: 'bad\ud800' }), InvariantError);
    assert.throws(
      bad({ type: 'catchup-reply', from: n1, to: n2, decided: [{ slot: 2, value: { kind: 'noop' } }, { slot: 1, value: { kind: 'noop' } }] }),
      InvariantError,
    );
    assert.throws(bad({ type: 'heartbeat', from: n1, to: n2, ballot: ZERO_BALLOT, commitThrough: -1, readRound: 0 }), InvariantError);
  });

  it('throw a WireError for a value over a size bound, which a sender drops', () => {
    const limits = { ...DEFAULT_WIRE_LIMITS, bytesMax: 8, entriesMax: 2 };
    const snapshot: Message<Uint8Array> = { type: 'snapshot', from: n1, to: n2, throughSlot: slot(5), offset: 0, total: 9, data: new Uint8Array(9), configs: [] };
    assert.throws(() => encodeMessage(snapshot, bytesCommandCodec, limits), (e: unknown) => e instanceof WireError && e.code === 'over-bound');
    const forward: Message<Uint8Array> = { type: 'forward', from: n1, to: n2, commands: [new Uint8Array(), new Uint8Array(), new Uint8Array()] };
    assert.throws(() => encodeMessage(forward, bytesCommandCodec, limits), (e: unknown) => e instanceof WireError && e.code === 'over-bound');
    const longId = 'x'.repeat(300) as NodeId;
    assert.throws(() => encodeMessage({ ...accepted(slot(1)), to: longId }, bytesCommandCodec), (e: unknown) => e instanceof WireError && e.code === 'over-bound');
  });
});

describe('varints', () => {
  it('round-trip at every 7-bit boundary up to 2^53-1 in minimal length', () => {
    const values = [0, 1, 127, 128, 16_383, 16_384, 2 ** 21 - 1, 2 ** 21, 2 ** 28, 2 ** 35, 2 ** 42, 2 ** 49 - 1, 2 ** 49, Number.MAX_SAFE_INTEGER];
    for (const value of values) {
      const bytes = bytesOf((w) => w.varuint(value));
      assert.equal(bytes.byteLength, Math.ceil(value.toString(2).length / 7), `length of ${value}`);
      const reader = new Reader(bytes);
      assert.equal(reader.varuint('v'), value);
      reader.end('v');
    }
  });
});
