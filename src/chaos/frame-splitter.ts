/**
 * Cuts Synod peer frames (`length:u32be` then `length` bytes, see
 * src/wire/frame.ts) out of a TCP byte stream, so the fault proxy can drop,
 * delay or swallow whole messages: dropping bytes mid-frame would desynchronise
 * the stream and turn a lost message into a protocol error, which is a
 * different fault from the one a partition models.
 *
 * The proxy sits between two honest nodes, so a length above the bound means
 * the stream is not Synod framing at all; the splitter then reports it as
 * unframed and the proxy passes bytes through unchanged from there on.
 */
import { FRAME_HEADER_BYTES } from '../wire/frame.js';

/** The length prefix; the version byte counts as part of the frame body here. */
const LENGTH_BYTES = 4;

export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private unframed = false;

  constructor(readonly frameBytesMax: number) {}

  /** True once a header was out of bounds; every later push returns its input as one chunk. */
  get passingThrough(): boolean {
    return this.unframed;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk and returns every frame it completed (each with its length prefix). */
  push(chunk: Buffer): Buffer[] {
    if (this.unframed) return [chunk];
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    // Bounded: each iteration removes at least LENGTH_BYTES + 1 bytes or returns.
    while (this.buffered >= LENGTH_BYTES) {
      const length = this.peekLength();
      if (length < 1 || length > this.frameBytesMax) {
        this.unframed = true;
        frames.push(this.takeAll());
        return frames;
      }
      const total = LENGTH_BYTES + length;
      if (this.buffered < total) break;
      frames.push(this.take(total));
    }
    return frames;
  }

  private peekLength(): number {
    const head = this.chunks[0] as Buffer;
    if (head.length >= LENGTH_BYTES) return head.readUInt32BE(0);
    return Buffer.concat(this.chunks, Math.min(this.buffered, FRAME_HEADER_BYTES)).readUInt32BE(0);
  }

  private take(bytes: number): Buffer {
    const head = this.chunks[0] as Buffer;
    if (head.length === bytes) {
      this.chunks.shift();
      this.buffered -= bytes;
      return head;
    }
    if (head.length > bytes) {
      this.chunks[0] = head.subarray(bytes);
      this.buffered -= bytes;
      return head.subarray(0, bytes);
    }
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = joined.length > bytes ? [joined.subarray(bytes)] : [];
    this.buffered -= bytes;
    return joined.subarray(0, bytes);
  }

  private takeAll(): Buffer {
    const all = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    return all;
  }
}
