/**
 * The commands a Synod node orders through the log: a KV operation with a
 * unique id, so the node that proposed it can find its caller when it applies.
 *
 * Encoded once. A command crosses the codec several times on the leader (its
 * accept record, one accept message per follower, the decide record, catch-up
 * replies) and on each follower (its accept record, its decide record). The
 * codec remembers each command's bytes beside the object (a WeakMap keyed by
 * the command, which the core passes through unchanged), so only the first
 * crossing encodes, and a command decoded from a peer or the log keeps the
 * bytes it came in. Commands are immutable (their types are readonly), which
 * is what makes the remembered bytes stay right.
 */
import type { KvCommand } from '../kv/types.js';
import { bytesJsonReplacer, bytesJsonReviver } from '../smr/bytes-json.js';
import { WireError, type CommandCodec } from '../wire/index.js';
import { decodeBinaryCommand } from './command-binary-decode.js';
import { BINARY_FORMAT, encodeBinaryCommand } from './command-binary.js';
import { isKvCommandShape } from './command-shape.js';

export interface NodeCommand {
  /** `<member>.<incarnation>.<counter>`: unique across the cluster's life. */
  readonly id: string;
  readonly op: KvCommand;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The bytes of every command encoded or decoded here, for as long as the command object lives. */
const encoded = new WeakMap<NodeCommand, Uint8Array>();

/**
 * Binary (command-binary.ts), encoded once per command. `encode` returns the
 * remembered bytes, shared between callers: they must not be modified (the
 * wire codecs copy them into their frames and records). `decode` copies its
 * input once and keeps it as the command's bytes; the decoded byte fields are
 * views into that copy.
 *
 * Logs and peers of earlier versions wrote JSON with bytes as base64; those
 * commands still decode (checked by command-shape.ts), so a log written before
 * this format stays readable.
 */
export const nodeCommandCodec: CommandCodec<NodeCommand> = {
  encode(command: NodeCommand): Uint8Array {
    let bytes = encoded.get(command);
    if (bytes === undefined) {
      bytes = encodeOnce(command);
      encoded.set(command, bytes);
    }
    return bytes;
  },
  decode(bytes: Uint8Array): NodeCommand {
    if (bytes.length === 0) throw new WireError('command', 'command is empty');
    const owned = bytes.slice();
    const command = owned[0] === BINARY_FORMAT ? decodeBinaryCommand(owned) : decodeJsonCommand(owned);
    encoded.set(command, owned);
    return command;
  },
};

function encodeOnce(command: NodeCommand): Uint8Array {
  try {
    return encodeBinaryCommand(command.id, command.op);
  } catch (error) {
    // A well-formed command always encodes; failing on one is a bug.
    if (isKvCommandShape(command.op)) throw error;
    // Not a KvCommand at all (only a bug or a test builds one): written as
    // JSON, as earlier versions wrote every command, so that every receiver's
    // shape check refuses it (test/fuzz/peer-frames.test.ts sends one so), and
    // the proposer is not stopped by a throw inside its log append.
    return new TextEncoder().encode(JSON.stringify(command, bytesJsonReplacer));
  }
}

/**
 * The JSON format of earlier versions. The op is validated again by the state
 * machine when applied, so a peer cannot crash a replica with a well-formed
 * but meaningless op.
 */
function decodeJsonCommand(bytes: Uint8Array): NodeCommand {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(bytes), bytesJsonReviver);
  } catch (error) {
    throw new WireError('command', `command is neither binary (first byte ${bytes[0]}) nor valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null) throw new WireError('command', 'command is not an object');
  const { id, op } = value as { id?: unknown; op?: unknown };
  if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw new WireError('command', 'command id must be a non-empty string');
  if (!isKvCommandShape(op)) throw new WireError('command', 'command op is not a well-formed key-value command');
  return { id, op: op as KvCommand };
}
