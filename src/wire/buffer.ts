/**
 * A byte writer and a bounded byte reader: the two primitives every codec in
 * src/wire is built from. Pure (no Node APIs) so the browser can use them too.
 *
 * Encoding is canonical: every value has exactly one encoding, and the reader
 * rejects any other (non-minimal varints, booleans other than 0/1, invalid UTF-8).
 * So bytes that decode re-encode to themselves, which the fuzz tests check.
 *
 * The reader never trusts a length: every length and count is checked against
 * its bound and against the bytes actually remaining before anything is
 * allocated or looped over, so a hostile 5-byte input cannot ask for 4 GiB.
 */
import { assert } from '../core/assert.js';
import { WireError } from './errors.js';

/** Bounds on what one decoded value may contain. */
export interface WireLimits {
  /** Most UTF-8 bytes in a node id (or a cluster id). */
  readonly nodeIdBytesMax: number;
  /**
   * Most entries in one list (votes, decisions, commands). Decoding is linear in
   * the input, but each entry becomes a JS object tens of bytes large, so this
   * caps the memory a frame can make the receiver allocate.
   */
  readonly entriesMax: number;
  /** Most bytes in one byte string (a command, a snapshot). */
  readonly bytesMax: number;
}

export const DEFAULT_WIRE_LIMITS: WireLimits = Object.freeze({
  nodeIdBytesMax: 255,
  entriesMax: 65_536,
  bytesMax: 64 * 1024 * 1024,
});

/** 2^53 - 1 needs 53 bits: eight 7-bit groups. */
const VARINT_BYTES_MAX = 8;

const textEncoder = new TextEncoder();
// fatal: invalid UTF-8 is an error, not U+FFFD. ignoreBOM: a leading U+FEFF is
// kept as data; stripping it would make two encodings decode to the same string.
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Matches a lone surrogate, which UTF-8 cannot carry (it would come back as U+FFFD). */
const LONE_SURROGATE = /\p{Cs}/u;

export function isWellFormedString(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}


/**
 * Writes canonical encodings. Values of the wrong shape (a negative varint) are
 * bugs and fail an assertion; values too big for the limits the receiver
 * enforces (a huge snapshot) are runtime conditions and throw a WireError with
 * code 'over-bound', so a sender can drop the message instead of crashing.
 */
export class Writer {
  private buffer: Uint8Array;
  private view: DataView;
  private used = 0;

  constructor(
    readonly limits: WireLimits = DEFAULT_WIRE_LIMITS,
    initialCapacity = 256,
  ) {
    this.buffer = new Uint8Array(Math.max(16, initialCapacity));
    this.view = new DataView(this.buffer.buffer);
  }

  get length(): number {
    return this.used;
  }

  /** Forgets what was written, keeping the buffer: one writer can serve many encodes. */
  reset(): void {
    this.used = 0;
  }

  // The checks below on the hot paths test first and build their message only on
  // failure: an arrow function per call would allocate on every byte written.

  u8(value: number): void {
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xff)) assert(false, `u8 out of range: ${value}`);
    this.reserve(1);
    this.buffer[this.used++] = value;
  }

  /** Big-endian, fixed four bytes. */
  u32(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, () => `u32 out of range: ${value}`);
    this.reserve(4);
    this.view.setUint32(this.used, value, false);
    this.used += 4;
  }

  /** Overwrites four bytes written earlier: a length known only after its body. */
  patchU32(offset: number, value: number): void {
    assert(offset >= 0 && offset + 4 <= this.used, () => `patch at ${offset} outside the ${this.used} bytes written`);
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff, () => `u32 out of range: ${value}`);
    this.view.setUint32(offset, value, false);
  }

  /** Unsigned LEB128 of a safe integer, minimal length (1..8 bytes). */
  varuint(value: number): void {
    if (!(Number.isSafeInteger(value) && value >= 0)) assert(false, `varuint must be a non-negative safe integer, got ${value}`);
    this.reserve(VARINT_BYTES_MAX);
    let rest = value;
    while (rest >= 0x80) {
      this.buffer[this.used++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.buffer[this.used++] = rest;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** Length-prefixed bytes. */
  bytes(value: Uint8Array, what: string, maxBytes: number = this.limits.bytesMax): void {
    if (value.byteLength > maxBytes) throw new WireError('over-bound', `${what}: ${value.byteLength} bytes, at most ${maxBytes} allowed`);
    this.varuint(value.byteLength);
    this.raw(value);
  }

  /** Length-prefixed UTF-8. */
  string(value: string, what: string, maxBytes: number): void {
    // ASCII (node ids, command ids) is its own UTF-8: copied without the encoder.
    let ascii = value.length <= maxBytes;
    for (let i = 0; ascii && i < value.length; i++) ascii = value.charCodeAt(i) < 0x80;
    if (ascii) {
      this.varuint(value.length);
      this.reserve(value.length);
      for (let i = 0; i < value.length; i++) this.buffer[this.used++] = value.charCodeAt(i);
      return;
    }
    if (!isWellFormedString(value)) assert(false, `${what}: string ${JSON.stringify(value)} holds a lone surrogate`);
    this.bytes(textEncoder.encode(value), what, maxBytes);
  }

  /** A list's entry count, refused above the receiver's bound. */
  count(value: number, what: string, max: number = this.limits.entriesMax): void {
    if (value > max) throw new WireError('over-bound', `${what}: ${value} entries, at most ${max} allowed`);
    this.varuint(value);
  }

  raw(value: Uint8Array): void {
    this.reserve(value.byteLength);
    this.buffer.set(value, this.used);
    this.used += value.byteLength;
  }

  /** The bytes written, as a copy sized exactly (so a queued frame holds no slack). */
  finish(): Uint8Array {
    return this.buffer.slice(0, this.used);
  }

  private reserve(extra: number): void {
    const needed = this.used + extra;
    if (needed <= this.buffer.byteLength) return;
    let capacity = this.buffer.byteLength * 2;
    while (capacity < needed) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.used));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
  }
}

export class Reader {
  private offset = 0;
  private readonly view: DataView;

  constructor(
    private readonly input: Uint8Array,
    readonly limits: WireLimits = DEFAULT_WIRE_LIMITS,
  ) {
    this.view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  get remaining(): number {
    return this.input.byteLength - this.offset;
  }

  get position(): number {
    return this.offset;
  }

  u8(what: string): number {
    this.need(1, what);
    return this.input[this.offset++] as number;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset, false);
    this.offset += 4;
    return value;
  }

  varuint(what: string): number {
    let value = 0;
    let scale = 1;
    // Bounded: at most VARINT_BYTES_MAX iterations whatever the input says.
    for (let index = 0; index < VARINT_BYTES_MAX; index++) {
      const byte = this.u8(what);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && index > 0) throw new WireError('invalid', `${what}: non-minimal varint`);
        if (!Number.isSafeInteger(value)) throw new WireError('over-bound', `${what}: varint ${value} above 2^53-1`);
        return value;
      }
      scale *= 0x80;
    }
    throw new WireError('over-bound', `${what}: varint longer than ${VARINT_BYTES_MAX} bytes`);
  }

  bool(what: string): boolean {
    const byte = this.u8(what);
    if (byte > 1) throw new WireError('invalid', `${what}: boolean byte must be 0 or 1, got ${byte}`);
    return byte === 1;
  }

  /** Length-prefixed bytes, copied so the value does not pin the (possibly large) input. */
  bytes(what: string, maxBytes: number = this.limits.bytesMax): Uint8Array {
    const length = this.length(what, maxBytes);
    const value = this.input.slice(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** Length-prefixed UTF-8. */
  string(what: string, maxBytes: number): string {
    const length = this.length(what, maxBytes);
    const bytes = this.input.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return textDecoder.decode(bytes);
    } catch {
      throw new WireError('invalid', `${what}: invalid UTF-8`);
    }
  }

  /**
   * A list's entry count. Each entry takes at least `entryBytesMin` bytes, so a
   * count the remaining input cannot hold is refused before any entry is read.
   */
  count(what: string, entryBytesMin: number, max: number = this.limits.entriesMax): number {
    assert(entryBytesMin >= 1, 'every list entry takes at least one byte');
    const count = this.varuint(`${what} count`);
    if (count > max) throw new WireError('over-bound', `${what}: ${count} entries, at most ${max} allowed`);
    if (count * entryBytesMin > this.remaining) {
      throw new WireError('truncated', `${what}: ${count} entries cannot fit in the ${this.remaining} bytes left`);
    }
    return count;
  }

  /** Throws unless every byte was consumed. */
  end(what: string): void {
    if (this.remaining !== 0) throw new WireError('trailing-bytes', `${what}: ${this.remaining} trailing bytes`);
  }

  private length(what: string, maxBytes: number): number {
    const length = this.varuint(`${what} length`);
    if (length > maxBytes) throw new WireError('over-bound', `${what}: ${length} bytes, at most ${maxBytes} allowed`);
    this.need(length, what);
    return length;
  }

  private need(bytes: number, what: string): void {
    if (bytes > this.remaining) {
      throw new WireError('truncated', `${what}: needs ${bytes} bytes, ${this.remaining} left`);
    }
  }
}
