/**
 * Byte helpers for the key-value store.
 *
 * Keys cross the API as `Uint8Array`. Inside the store a key is held as a
 * "binary string": one UTF-16 code unit per byte, each in 0..255. JavaScript
 * compares strings code unit by code unit, so `<` on binary strings is exactly
 * the bytewise lexicographic order etcd uses for keys, and a binary string is a
 * cheap, immutable `Map` key. Nothing here touches a Node API: the store also
 * runs in the browser and in the simulator.
 */

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** The binary string holding `bytes`, one code unit per byte. */
export function bytesToBinary(bytes: Uint8Array): string {
  // fromCharCode takes its arguments on the stack; chunk to stay far below its limit.
  const chunkBytes = 0x2000;
  if (bytes.length <= chunkBytes) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let out = '';
  for (let i = 0; i < bytes.length; i += chunkBytes) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + chunkBytes) as unknown as number[]);
  }
  return out;
}

/** The bytes of a binary string made by `bytesToBinary`. */
export function binaryToBytes(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Bytewise lexicographic order, like Go's `bytes.Compare`: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return compareBytes(a, b) === 0;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** UTF-8 bytes of `text` (for tests, lock names and the like). */
export function encodeText(text: string): Uint8Array {
  return textEncoder.encode(text);
}

export function decodeText(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

// One base64 codec for the whole project (byte-safe JSON uses it too).
export { base64ToBytes, bytesToBase64 } from '../smr/bytes-json.js';
