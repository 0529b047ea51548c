/**
 * Floors and ceilings printed beside the results, measured in the same run:
 * - the core's CPU ceiling (core-microbench.ts),
 * - the disk's fsync rate (measureFsync, in the temp dir the clusters use),
 * - the loopback round trip (TCP ping-pong, median),
 * - the grpc-js ceiling: the benchmark's client against a do-nothing gRPC
 *   server process (noop-server.ts), i.e. what Node's gRPC stack alone allows.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { measureFsync, type FsyncBenchResult } from '../storage/bench-fsync.js';
import { ChannelPool } from './client.js';
import { BenchCluster } from './cluster.js';
import { runCoreMicrobench, type CoreBenchResult } from './core-microbench.js';
import { noopServerPath } from './noop-server.js';
import { runPoint, type PointResult } from './runner.js';
import { median, percentile } from './stats.js';
import { freePort, withTimeout } from './waiting.js';
import { workload } from './workloads.js';

export interface LoopbackResult {
  readonly roundTrips: number;
  readonly messageBytes: number;
  readonly medianMs: number;
  readonly p99Ms: number;
}

export interface FloorResults {
  /** The core with 64 commands outstanding (as 64 clients), and with the pipeline's full capacity outstanding. */
  readonly core64: CoreBenchResult;
  readonly coreFull: CoreBenchResult;
  readonly fsync: FsyncBenchResult;
  readonly loopback: LoopbackResult;
  /** Put at 64 clients against the do-nothing gRPC server; null if it could not be run. */
  readonly grpcNoop: PointResult | null;
}

export interface FloorOptions {
  readonly coreMs: number;
  readonly fsyncs: number;
  readonly roundTrips: number;
  readonly grpcWarmupMs: number;
  readonly grpcMs: number;
}

/** Ping-pong of `messageBytes` over one TCP connection on 127.0.0.1; both ends in this process. */
export async function measureLoopback(roundTrips: number, messageBytes = 64): Promise<LoopbackResult> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => socket.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const socket: Socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const message = Buffer.alloc(messageBytes, 0x70);
    const times: number[] = [];
    await withTimeout(
      'the loopback ping-pong',
      new Promise<void>((resolve) => {
        let received = 0;
        let started = performance.now();
        socket.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received < messageBytes) return;
          received -= messageBytes;
          times.push(performance.now() - started);
          if (times.length >= roundTrips) return resolve();
          started = performance.now();
          socket.write(message);
        });
        socket.write(message);
      }),
      30_000,
    );
    times.sort((a, b) => a - b);
    return { roundTrips: times.length, messageBytes, medianMs: median(times), p99Ms: percentile(times, 0.99) };
  } finally {
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** The benchmark's put workload at 64 clients against a do-nothing gRPC server process. */
export async function measureGrpcNoop(warmupMs: number, durationMs: number, channelsPerEndpoint: number): Promise<PointResult> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'grpc-noop-'));
  const child = spawn(process.execPath, [noopServerPath(), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = `127.0.0.1:${port}`;
  const cluster = new BenchCluster('grpc-noop', `grpc-js on node ${process.versions.node}`, dir, [{ name: 'noop', endpoint, child, logFile: '-' }], false);
  const pool = new ChannelPool([endpoint], channelsPerEndpoint);
  try {
    await withTimeout(
      'the no-op gRPC server to start',
      new Promise<void>((resolve, reject) => {
        child.stdout?.on('data', (chunk: Buffer) => (chunk.toString().includes('ready') ? resolve() : undefined));
        child.once('exit', (code) => reject(new Error(`no-op server exited with ${code}`)));
      }),
      10_000,
    );
    await pool.ready(5_000);
    return await runPoint({ workload: workload('put'), concurrency: 64, warmupMs, durationMs }, { cluster, idlePids: [], pool, endpoints: [endpoint] });
  } finally {
    pool.close();
    await cluster.stop(2_000);
  }
}

export async function measureFloors(options: FloorOptions, channelsPerEndpoint: number, onStage?: (stage: string) => void): Promise<FloorResults> {
  onStage?.('core microbenchmark');
  const core64 = runCoreMicrobench({ durationMs: options.coreMs / 2, outstanding: 64 });
  const coreFull = runCoreMicrobench({ durationMs: options.coreMs / 2 });
  onStage?.('fsync');
  const fsync = await measureFsync({ syncs: options.fsyncs });
  onStage?.('loopback ping-pong');
  const loopback = await measureLoopback(options.roundTrips);
  onStage?.('grpc-js no-op server');
  const grpcNoop = await measureGrpcNoop(options.grpcWarmupMs, options.grpcMs, channelsPerEndpoint).catch(() => null);
  return { core64, coreFull, fsync, loopback, grpcNoop };
}
