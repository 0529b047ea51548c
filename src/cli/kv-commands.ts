/**
 * `synod put|get|del`: a small client over the etcd v3 KV API (the same wire
 * protocol etcdctl speaks). It tries each endpoint in turn until one answers.
 */
import * as grpc from '@grpc/grpc-js';
import { Command, InvalidArgumentError } from 'commander';
import { loadEtcdProtos } from '../server/proto.js';
import type * as pb from '../server/proto.js';
import type { CliIo } from './io.js';

const DEFAULT_ENDPOINTS = '127.0.0.1:2379,127.0.0.1:22379,127.0.0.1:32379';
const CALL_TIMEOUT_MS = 5_000;

type Method = 'Range' | 'Put' | 'DeleteRange';

/** Calls `method` on the first endpoint that answers; expected errors (not unavailability) are final. */
async function callKv<Res>(endpoints: readonly string[], method: Method, request: object): Promise<Res> {
  const { clients } = loadEtcdProtos();
  let lastError: unknown = new Error('no endpoints');
  for (const endpoint of endpoints) {
    const client = new clients.KV(endpoint, grpc.credentials.createInsecure());
    try {
      return await new Promise<Res>((resolve, reject) => {
        const deadline = new Date(Date.now() + CALL_TIMEOUT_MS);
        (client[method] as (req: object, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: Res) => void) => void)(request, { deadline }, (error, response) =>
          error === null ? resolve(response) : reject(error),
        );
      });
    } catch (error) {
      lastError = error;
      const code = (error as grpc.ServiceError).code;
      if (code !== grpc.status.UNAVAILABLE && code !== grpc.status.DEADLINE_EXCEEDED) throw error;
    } finally {
      client.close();
    }
  }
  throw lastError;
}

function endpointsOf(text: string): string[] {
  const list = text.split(',').map((e) => e.trim().replace(/^https?:\/\//, '')).filter((e) => e.length > 0);
  if (list.length === 0) throw new InvalidArgumentError('give at least one host:port');
  return list;
}

/** The key after every key with this prefix: etcd's convention for prefix ranges. */
export function prefixEnd(key: Buffer): Buffer {
  const end = Buffer.from(key);
  for (let i = end.length - 1; i >= 0; i -= 1) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function report(io: CliIo, command: string, error: unknown): void {
  const details = (error as grpc.ServiceError).details ?? (error instanceof Error ? error.message : String(error));
  io.err(`synod ${command}: ${details}`);
  io.setExitCode(1);
}

export function kvCommands(io: CliIo): Command[] {
  const put = new Command('put')
    .description('write a key')
    .argument('<key>')
    .argument('<value>')
    .option('--endpoints <list>', 'comma-separated host:port list', DEFAULT_ENDPOINTS)
    .action(async (key: string, value: string, options: { endpoints: string }) => {
      try {
        await callKv<pb.PutResponse>(endpointsOf(options.endpoints), 'Put', { key: Buffer.from(key), value: Buffer.from(value) });
        io.out('OK');
      } catch (error) {
        report(io, 'put', error);
      }
    });
  const get = new Command('get')
    .description('read a key, or every key with a prefix (linearizable unless --serializable)')
    .argument('<key>')
    .option('--prefix', 'read every key starting with <key>')
    .option('--limit <n>', 'at most this many keys', (v) => Number.parseInt(v, 10), 0)
    .option('--serializable', 'answer from the contacted member, possibly stale')
    .option('--endpoints <list>', 'comma-separated host:port list', DEFAULT_ENDPOINTS)
    .action(async (key: string, options: { prefix?: boolean; limit: number; serializable?: boolean; endpoints: string }) => {
      try {
        const keyBytes = Buffer.from(key);
        const response = await callKv<pb.RangeResponse>(endpointsOf(options.endpoints), 'Range', {
          key: keyBytes,
          range_end: options.prefix === true ? prefixEnd(keyBytes) : Buffer.alloc(0),
          limit: String(options.limit),
          serializable: options.serializable === true,
        });
        for (const pair of response.kvs) {
          io.out(pair.key.toString());
          io.out(pair.value.toString());
        }
      } catch (error) {
        report(io, 'get', error);
      }
    });
  const del = new Command('del')
    .description('delete a key, or every key with a prefix; prints how many were deleted')
    .argument('<key>')
    .option('--prefix', 'delete every key starting with <key>')
    .option('--endpoints <list>', 'comma-separated host:port list', DEFAULT_ENDPOINTS)
    .action(async (key: string, options: { prefix?: boolean; endpoints: string }) => {
      try {
        const keyBytes = Buffer.from(key);
        const response = await callKv<pb.DeleteRangeResponse>(endpointsOf(options.endpoints), 'DeleteRange', {
          key: keyBytes,
          range_end: options.prefix === true ? prefixEnd(keyBytes) : Buffer.alloc(0),
        });
        io.out(String(response.deleted));
      } catch (error) {
        report(io, 'del', error);
      }
    });
  return [put, get, del];
}
