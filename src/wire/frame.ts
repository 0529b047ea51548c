/**
 * Framing for a byte stream (TCP): how messages are cut out of it, and the
 * handshake that opens every connection.
 *
 *   frame     := length:u32be version:u8 payload
 *   handshake := "SYNOD" clusterId:string from:string to:string incarnation:string   (first frame's payload)
 *
 * `length` counts the bytes after itself (version + payload), so it is at least 1.
 * The version byte is the protocol version; every frame carries it so a node
 * speaking another version is refused at the first frame, whatever it sends.
 * The length is checked against the bound as soon as the header is read, before
 * a byte of the body is buffered.
 */
import type { NodeId } from '../core/ids.js';
import type { Message } from '../core/multipaxos/types.js';
import { DEFAULT_WIRE_LIMITS, Reader, Writer, type WireLimits } from './buffer.js';
import type { CommandCodec } from './command-codec.js';
import { WireError } from './errors.js';
import { readNodeId, writeNodeId } from './fields.js';
import { writeMessage } from './message.js';

export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 5;
export const DEFAULT_FRAME_BYTES_MAX = 64 * 1024 * 1024;

export interface Frame {
  readonly version: number;
  /** A view into the decoder's input: decode it before the next push, or copy it. */
  readonly payload: Uint8Array;
}

/** Frames an already-encoded payload. */
export function encodeFrame(payload: Uint8Array, version: number = PROTOCOL_VERSION): Uint8Array {
  const writer = new Writer(DEFAULT_WIRE_LIMITS, FRAME_HEADER_BYTES + payload.byteLength);
  writer.u32(1 + payload.byteLength);
  writer.u8(version);
  writer.raw(payload);
  return writer.finish();
}

/**
 * Encodes `message` straight into a frame (one buffer, no second copy). Throws a
 * WireError 'over-bound' when the frame would exceed `frameBytesMax` or a list or
 * byte string exceeds `limits`: the caller drops such a message.
 */
export function encodeMessageFrame<C>(
  message: Message<C>,
  codec: CommandCodec<C>,
  frameBytesMax: number = DEFAULT_FRAME_BYTES_MAX,
  limits: WireLimits = DEFAULT_WIRE_LIMITS,
): Uint8Array {
  const writer = new Writer(limits);
  writer.u32(0);
  writer.u8(PROTOCOL_VERSION);
  writeMessage(writer, message, codec);
  const length = writer.length - 4;
  if (length > frameBytesMax) {
    throw new WireError('over-bound', `${message.type} frame of ${length} bytes is over the ${frameBytesMax}-byte bound`);
  }
  writer.patchU32(0, length);
  return writer.finish();
}

/**
 * Cuts frames out of a byte stream delivered in arbitrary chunks. Throws a
 * WireError on a header it must refuse (zero or oversized length, other
 * version); after that the stream is unusable and the decoder stays failed.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  /** Index of the first chunk still holding unread bytes, and the offset in it. */
  private first = 0;
  private offset = 0;
  private buffered = 0;
  /** The current frame's payload length once its header is read. */
  private bodyBytes: number | null = null;
  private version = 0;
  private failure: WireError | null = null;

  /**
   * @param frameBytesMax checked against each header as it is read; writable, so
   *   a connection can hold unauthenticated peers to a small bound until their
   *   handshake passes and raise it afterwards without losing buffered bytes.
   */
  constructor(
    public frameBytesMax: number = DEFAULT_FRAME_BYTES_MAX,
    readonly expectedVersion: number = PROTOCOL_VERSION,
  ) {}

  /** Bytes received and not yet returned in a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Bytes of an incomplete frame received so far, its header included (0 between frames). */
  get partialFrameBytes(): number {
    return this.buffered + (this.bodyBytes === null ? 0 : FRAME_HEADER_BYTES);
  }

  /** Adds a chunk of the stream; frames are taken out with next(). */
  append(chunk: Uint8Array): void {
    if (this.failure !== null) throw this.failure;
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
  }

  /**
   * The next complete frame, or null until more bytes arrive. Each header is
   * judged with the frameBytesMax in force when it is read, so a caller can
   * change the bound between frames.
   */
  next(): Frame | null {
    if (this.failure !== null) throw this.failure;
    if (this.bodyBytes === null) {
      if (this.buffered < FRAME_HEADER_BYTES) return null;
      const header = this.take(FRAME_HEADER_BYTES);
      const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0, false);
      const version = header[4] as number;
      if (length < 1) return this.fail(new WireError('invalid', 'frame length 0: a frame holds at least its version byte'));
      if (length > this.frameBytesMax) {
        return this.fail(new WireError('over-bound', `frame of ${length} bytes is over the ${this.frameBytesMax}-byte bound`));
      }
      if (version !== this.expectedVersion) {
        return this.fail(new WireError('version', `frame has protocol version ${version}, this node speaks ${this.expectedVersion}`));
      }
      this.bodyBytes = length - 1;
      this.version = version;
    }
    if (this.buffered < this.bodyBytes) return null;
    const frame = { version: this.version, payload: this.take(this.bodyBytes) };
    this.bodyBytes = null;
    return frame;
  }

  /** append() then every frame now complete, in order. */
  push(chunk: Uint8Array): Frame[] {
    this.append(chunk);
    const frames: Frame[] = [];
    // Bounded: each frame consumes at least its 5-byte header of the input.
    for (let frame = this.next(); frame !== null; frame = this.next()) frames.push(frame);
    return frames;
  }

  private fail(error: WireError): never {
    this.failure = error;
    this.chunks = [];
    this.buffered = 0;
    throw error;
  }

  /** Removes `bytes` (<= buffered) from the front: a view when one chunk holds them, else a copy. */
  private take(bytes: number): Uint8Array {
    this.buffered -= bytes;
    const head = this.chunks[this.first];
    if (head !== undefined && head.byteLength - this.offset >= bytes) {
      const view = head.subarray(this.offset, this.offset + bytes);
      this.advance(head, bytes);
      return view;
    }
    const out = new Uint8Array(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[this.first] as Uint8Array;
      const n = Math.min(bytes - filled, chunk.byteLength - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.advance(chunk, n);
    }
    return out;
  }

  private advance(chunk: Uint8Array, bytes: number): void {
    this.offset += bytes;
    if (this.offset < chunk.byteLength) return;
    this.first++;
    this.offset = 0;
    // Drop consumed chunks in batches so a long stream costs O(1) per chunk.
    if (this.first >= 64 || this.first === this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

// ------------------------------------------------------------------ handshake

export interface Handshake {
  /** Nodes of different clusters must never exchange consensus messages. */
  readonly clusterId: string;
  /** The dialing node: every message on this connection must be `from` it. */
  readonly from: NodeId;
  /** The node the dialer meant to reach: catches a stale or swapped address. */
  readonly to: NodeId;
  /**
   * The dialer's data-directory incarnation: fixed when its data directory was
   * created, new if the directory was wiped. Peers that knew another one refuse
   * it (a member that lost its disk has forgotten its promises). May be empty
   * for tools that are not members.
   */
  readonly incarnation: string;
}

const HANDSHAKE_MAGIC = Uint8Array.from([0x53, 0x59, 0x4e, 0x4f, 0x44]); // "SYNOD"

export function encodeHandshake(handshake: Handshake, limits: WireLimits = DEFAULT_WIRE_LIMITS): Uint8Array {
  const writer = new Writer(limits);
  writer.raw(HANDSHAKE_MAGIC);
  writer.string(handshake.clusterId, 'cluster id', limits.nodeIdBytesMax);
  writeNodeId(writer, handshake.from, 'from');
  writeNodeId(writer, handshake.to, 'to');
  writer.string(handshake.incarnation, 'incarnation', limits.nodeIdBytesMax);
  return writer.finish();
}

export function decodeHandshake(bytes: Uint8Array, limits: WireLimits = DEFAULT_WIRE_LIMITS): Handshake {
  const reader = new Reader(bytes, limits);
  for (const expected of HANDSHAKE_MAGIC) {
    if (reader.u8('handshake magic') !== expected) throw new WireError('invalid', 'handshake: bad magic (not a Synod peer?)');
  }
  const clusterId = reader.string('handshake cluster id', limits.nodeIdBytesMax);
  const from = readNodeId(reader, 'handshake from');
  const to = readNodeId(reader, 'handshake to');
  const incarnation = reader.string('handshake incarnation', limits.nodeIdBytesMax);
  reader.end('handshake');
  return { clusterId, from, to, incarnation };
}
