/**
 * The benchmark's workloads. Each is a closed loop per client: a worker issues
 * one operation, waits for its answer, and issues the next. A workload
 * prepares its keys once per system before its first point, then hands every
 * worker its own operation function.
 *
 * Keys and values are the same for both systems: 1,000 keys `bench/k000`..
 * `bench/k999`, 256-byte values, chosen by a per-worker xorshift generator
 * seeded from the worker's index (so runs are repeatable and workers spread
 * over the key space without coordination).
 */
import { assert } from '../core/assert.js';
import type { ChannelPool, EtcdChannel } from './client.js';

export type WorkloadName = 'put' | 'get' | 'get-serializable' | 'mix' | 'txn-cas' | 'lock';

export const WORKLOAD_NAMES: readonly WorkloadName[] = ['put', 'get', 'get-serializable', 'mix', 'txn-cas', 'lock'];

export const KEY_COUNT = 1_000;
export const VALUE_BYTES = 256;

export const WORKLOAD_DESCRIPTIONS: Readonly<Record<WorkloadName, string>> = {
  put: `Put of a ${VALUE_BYTES}-byte value to one of ${KEY_COUNT} keys`,
  get: 'linearizable Range of one key',
  'get-serializable': 'serializable Range of one key (served locally, may be stale)',
  mix: '50% put, 50% linearizable get',
  'txn-cas': 'Txn: if mod_revision(key) = last seen then put; each worker owns its key',
  lock: 'v3lock Lock then Unlock of a lock name owned by the worker (one op = the pair)',
};

/** One operation of one worker; rejects with the server's error. */
export type Operation = () => Promise<void>;

export interface Workload {
  readonly name: WorkloadName;
  /** Makes the state the operations expect (keys exist); called once per system before the first point. */
  prepare(pool: ChannelPool): Promise<void>;
  worker(channel: EtcdChannel, index: number): Operation;
}

const VALUE = Buffer.alloc(VALUE_BYTES, 0x61);
const KEYS: readonly Buffer[] = Array.from({ length: KEY_COUNT }, (_, i) => Buffer.from(`bench/k${String(i).padStart(3, '0')}`));

/** xorshift32: fast, repeatable, good enough to pick keys. */
export class KeyPicker {
  private state: number;

  constructor(seed: number) {
    this.state = (seed * 2_654_435_761 + 1) >>> 0 || 1;
  }

  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  key(): Buffer {
    return KEYS[this.next() % KEY_COUNT] as Buffer;
  }

  coin(): boolean {
    return (this.next() & 1) === 1;
  }
}

/** Writes every key once, `parallel` at a time, so reads find values. */
async function preloadKeys(pool: ChannelPool, parallel = 32): Promise<void> {
  let next = 0;
  const lane = async (lane: number): Promise<void> => {
    const channel = pool.forWorker(lane);
    while (next < KEY_COUNT) {
      const key = KEYS[next] as Buffer;
      next += 1;
      await channel.put({ key, value: VALUE });
    }
  };
  await Promise.all(Array.from({ length: parallel }, (_, i) => lane(i)));
}

const casKey = (index: number): Buffer => Buffer.from(`bench/cas/${index}`);
const lockName = (index: number): Buffer => Buffer.from(`bench/lock/${index}`);

export function workload(name: WorkloadName): Workload {
  switch (name) {
    case 'put':
      return {
        name,
        prepare: async () => undefined,
        worker: (channel, index) => {
          const picker = new KeyPicker(index);
          return async () => {
            await channel.put({ key: picker.key(), value: VALUE });
          };
        },
      };
    case 'get':
    case 'get-serializable': {
      const serializable = name === 'get-serializable';
      return {
        name,
        prepare: (pool) => preloadKeys(pool),
        worker: (channel, index) => {
          const picker = new KeyPicker(index);
          return async () => {
            const response = await channel.range({ key: picker.key(), serializable });
            assert(response.kvs.length === 1, 'a benchmark key is missing: preload failed');
          };
        },
      };
    }
    case 'mix':
      return {
        name,
        prepare: (pool) => preloadKeys(pool),
        worker: (channel, index) => {
          const picker = new KeyPicker(index);
          return async () => {
            if (picker.coin()) await channel.put({ key: picker.key(), value: VALUE });
            else await channel.range({ key: picker.key() });
          };
        },
      };
    case 'txn-cas':
      return {
        name,
        prepare: async () => undefined,
        worker: (channel, index) => {
          const key = casKey(index);
          // The key's mod_revision as this worker last saw it; null until read.
          let modRevision: string | null = null;
          return async () => {
            if (modRevision === null) {
              const found = await channel.range({ key });
              modRevision = found.kvs[0]?.mod_revision ?? '0';
            }
            const response = await channel.txn({
              compare: [{ result: 'EQUAL', target: 'MOD', key, mod_revision: modRevision }],
              success: [{ request_put: { key, value: VALUE } }],
              failure: [],
            });
            // After a successful put the key's mod_revision is the txn's revision;
            // after a failure (some other writer) read it again next time.
            modRevision = response.succeeded ? (response.header?.revision ?? null) : null;
          };
        },
      };
    case 'lock':
      return {
        name,
        prepare: async () => undefined,
        worker: (channel, index) => {
          const name = lockName(index);
          return async () => {
            const held = await channel.lockAcquire(name);
            await channel.lockRelease(held.key);
          };
        },
      };
    default: {
      const never: never = name;
      throw new Error(`unknown workload ${String(never)}`);
    }
  }
}
