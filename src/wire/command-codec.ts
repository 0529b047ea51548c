/**
 * Commands are opaque to the consensus core and to the message codecs: the
 * application passes a CommandCodec that turns its command type into bytes and
 * back. `decode` receives untrusted bytes; it should throw on anything that is
 * not a valid command (any exception it throws is reported as a WireError with
 * code 'command').
 */
import { WireError } from './errors.js';

export interface CommandCodec<C> {
  encode(command: C): Uint8Array;
  decode(bytes: Uint8Array): C;
}

/** For Uint8Array commands: the bytes are the command. Copies on both sides, so no aliasing. */
export const bytesCommandCodec: CommandCodec<Uint8Array> = Object.freeze({
  encode: (command: Uint8Array): Uint8Array => command.slice(),
  decode: (bytes: Uint8Array): Uint8Array => bytes.slice(),
});

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Commands as UTF-8 JSON. `validate` (recommended for untrusted input) checks the
 * parsed value really is a C; without it the decoder only promises valid JSON.
 * Commands must survive JSON (no undefined, functions, bigint, NaN, or Maps).
 */
export function jsonCommandCodec<C>(validate?: (value: unknown) => value is C): CommandCodec<C> {
  return {
    encode(command: C): Uint8Array {
      return textEncoder.encode(JSON.stringify(command));
    },
    decode(bytes: Uint8Array): C {
      let value: unknown;
      try {
        value = JSON.parse(textDecoder.decode(bytes));
      } catch (error) {
        throw new WireError('command', `command is not UTF-8 JSON: ${(error as Error).message}`);
      }
      if (validate !== undefined && !validate(value)) throw new WireError('command', 'command failed validation');
      return value as C;
    },
  };
}

/** Runs the application's decoder, turning whatever it throws into a WireError. */
export function decodeCommand<C>(codec: CommandCodec<C>, bytes: Uint8Array, what: string): C {
  try {
    return codec.decode(bytes);
  } catch (error) {
    if (error instanceof WireError) throw new WireError('command', `${what}: ${error.message}`);
    throw new WireError('command', `${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
