/**
 * Shared test helpers: a machine that checks its invariants after every
 * command, byte/text shorthands, and a readable form of key-value pairs.
 */
import assert from 'node:assert/strict';
import { slot } from '../../src/core/ids.js';
import { decodeText, encodeText } from '../../src/kv/bytes.js';
import { KvStateMachine, type KvStateMachineOptions } from '../../src/kv/kv-state-machine.js';
import type { Event, KeyValue, KvCommand, KvOutput } from '../../src/kv/types.js';

/** Text to bytes; "\0" is the single zero byte. */
export const b = (text: string): Uint8Array => encodeText(text);

export interface PlainKv {
  key: string;
  value: string;
  create: number;
  mod: number;
  version: number;
  lease: number;
}

export function plain(kv: KeyValue): PlainKv {
  return {
    key: decodeText(kv.key),
    value: decodeText(kv.value),
    create: kv.createRevision,
    mod: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

export const plainAll = (kvs: readonly KeyValue[]): PlainKv[] => kvs.map(plain);
export const keysOf = (kvs: readonly KeyValue[]): string[] => kvs.map((kv) => decodeText(kv.key));

export function plainEvent(event: Event): { type: string; kv: PlainKv; prev: PlainKv | null } {
  return { type: event.type, kv: plain(event.kv), prev: event.prevKv === null ? null : plain(event.prevKv) };
}

/** A machine plus a slot counter; every apply is followed by checkInvariants. */
export class Harness {
  readonly machine: KvStateMachine;
  private nextSlot = 1;

  constructor(options: KvStateMachineOptions = {}) {
    this.machine = new KvStateMachine(options);
  }

  apply(command: KvCommand): KvOutput {
    const output = this.machine.apply(command, slot(this.nextSlot));
    this.nextSlot += 1;
    this.machine.checkInvariants();
    return output;
  }

  /** Applies and asserts the output has `type`, narrowing it. */
  expect<T extends KvOutput['type']>(command: KvCommand, type: T): Extract<KvOutput, { type: T }> {
    const output = this.apply(command);
    assert.equal(output.type, type, `expected ${type}, got ${JSON.stringify(output.type === 'error' ? output.error : output.type)}`);
    return output as Extract<KvOutput, { type: T }>;
  }

  put(key: string, value: string, lease = 0): Extract<KvOutput, { type: 'put' }> {
    return this.expect({ type: 'put', request: { key: b(key), value: b(value), lease } }, 'put');
  }

  del(key: string, rangeEnd?: string): Extract<KvOutput, { type: 'delete-range' }> {
    const request = rangeEnd === undefined ? { key: b(key) } : { key: b(key), rangeEnd: b(rangeEnd) };
    return this.expect({ type: 'delete-range', request }, 'delete-range');
  }

  get(key: string, revision = 0): PlainKv | null {
    const result = this.machine.range({ key: b(key), revision });
    assert.ok(result.ok);
    const kv = result.value.kvs[0];
    return kv === undefined ? null : plain(kv);
  }

  grant(id: number, ttl: number, now: number): number {
    return this.expect({ type: 'lease-grant', request: { id, ttl }, now }, 'lease-grant').response.id;
  }
}
