/**
 * The one error the codecs throw for bad input. Decoding untrusted bytes either
 * returns a well-typed value or throws a WireError (STYLE.md, habit 6); anything
 * else escaping a decoder is a bug in the decoder.
 */

/** What was wrong with the bytes, for counters and tests; `message` says it in words. */
export type WireErrorCode =
  /** The input ended before the value did. */
  | 'truncated'
  /** A complete value was followed by more bytes. */
  | 'trailing-bytes'
  /** A type or kind tag this version does not know. */
  | 'unknown-tag'
  /** A length or count above its bound (or above what the remaining input could hold). */
  | 'over-bound'
  /** A field that decoded but breaks the value's rules (empty node id, unsorted slots...). */
  | 'invalid'
  /** The command codec refused a command's bytes. */
  | 'command'
  /** A frame header with a protocol version this node does not speak. */
  | 'version';

export class WireError extends Error {
  override readonly name = 'WireError';

  constructor(
    readonly code: WireErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function isWireError(error: unknown): error is WireError {
  return error instanceof WireError;
}
