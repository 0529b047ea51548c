/**
 * The commands a Synod node orders through the log: a KV operation with a
 * unique id, so the node that proposed it can find its caller when it applies.
 */
import { bytesJsonReplacer, bytesJsonReviver } from '../kv/snapshot.js';
import type { KvCommand } from '../kv/types.js';
import { WireError, type CommandCodec } from '../wire/index.js';
import { isKvCommandShape } from './command-shape.js';

export interface NodeCommand {
  /** `<member>.<incarnation>.<counter>`: unique across the cluster's life. */
  readonly id: string;
  readonly op: KvCommand;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON with bytes as base64. Simple and debuggable; the op itself is validated
 * again by the state machine when applied, so a peer cannot crash a replica
 * with a well-formed but meaningless op.
 */
export const nodeCommandCodec: CommandCodec<NodeCommand> = {
  encode(command: NodeCommand): Uint8Array {
    return encoder.encode(JSON.stringify(command, bytesJsonReplacer));
  },
  decode(bytes: Uint8Array): NodeCommand {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytes), bytesJsonReviver);
    } catch (error) {
      throw new WireError('command', `command is not valid JSON: ${(error as Error).message}`);
    }
    if (typeof value !== 'object' || value === null) throw new WireError('command', 'command is not an object');
    const { id, op } = value as { id?: unknown; op?: unknown };
    if (typeof id !== 'string' || id.length === 0 || id.length > 256) throw new WireError('command', 'command id must be a non-empty string');
    if (!isKvCommandShape(op)) throw new WireError('command', 'command op is not a well-formed key-value command');
    return { id, op: op as KvCommand };
  },
};
