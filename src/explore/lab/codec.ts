/**
 * Scenario links: a scenario is JSON, carried in the URL fragment as base64url
 * (RFC 4648 §5, no padding) so a link reproduces it exactly. The text is UTF-8
 * first, so values with any characters survive. Runs in Node and the browser.
 */

export function encodeBase64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The text a base64url string encodes, or null if it is not base64url of UTF-8. */
export function decodeBase64Url(encoded: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(encoded)) return null;
  const base64 = encoded.replace(/-/g, '+').replace(/_/g, '/');
  let binary: string;
  try {
    binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  } catch {
    return null;
  }
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

export function encodeScenario(value: unknown): string {
  return encodeBase64Url(JSON.stringify(value));
}

/** Parses a scenario from a link; `undefined` when it is not base64url JSON (the shape is the caller's to check). */
export function decodeScenario(encoded: string): unknown {
  const text = decodeBase64Url(encoded);
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
