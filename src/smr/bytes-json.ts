/**
 * JSON that keeps Uint8Array values: they become {"$bytes": "<base64>"} and come
 * back as Uint8Array. Plain JSON.stringify would turn them into {"0":..,"1":..}
 * and lose their type, which silently corrupts replicated state.
 */

/** Node's Buffer where there is one (not in the browser): its base64 is native and allocates one string. */
const NodeBuffer = (globalThis as { Buffer?: { from(buffer: ArrayBufferLike, offset: number, length: number): { toString(encoding: 'base64'): string } } }).Buffer;

/** Standard base64 with padding (RFC 4648 §4), the same text `btoa` gives. */
export function bytesToBase64(bytes: Uint8Array): string {
  if (NodeBuffer !== undefined) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The bytes of a base64 text, or null if it is not base64. */
export function base64ToBytes(text: string): Uint8Array | null {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function bytesJsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { $bytes: bytesToBase64(value) } : value;
}

export function bytesJsonReviver(_key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const fields = Object.keys(value);
    const encoded = (value as Record<string, unknown>).$bytes;
    if (fields.length === 1 && typeof encoded === 'string') {
      const bytes = base64ToBytes(encoded);
      if (bytes !== null) return bytes;
    }
  }
  return value;
}
