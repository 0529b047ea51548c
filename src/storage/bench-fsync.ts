/**
 * How fast this machine makes a small write durable: N appends of a few KiB to
 * one file, each followed by fdatasync, as the log does for a batch. Printed
 * beside benchmark results, since a consensus service's commit latency cannot
 * be below its disk's sync latency, and group commit is what lifts throughput
 * above one batch per sync.
 *
 * Run it alone: `node dist/src/storage/bench-fsync.js [dir]`.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { assert } from '../core/assert.js';

export interface FsyncBenchOptions {
  /** Directory to create the scratch directory in; the system temp dir by default. */
  readonly parentDir?: string;
  /** Write+fdatasync rounds; at most 10 000. */
  readonly syncs?: number;
  readonly writeBytes?: number;
}

export interface FsyncBenchResult {
  /** The directory the scratch directory was made in: the file system measured. */
  readonly dir: string;
  readonly syncs: number;
  readonly writeBytes: number;
  readonly medianMs: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** 1000 / median: sequential durable writes per second, i.e. group-commit batches per second. */
  readonly syncsPerSecond: number;
}

const SYNCS_MAX = 10_000;

export async function measureFsync(options: FsyncBenchOptions = {}): Promise<FsyncBenchResult> {
  const syncs = options.syncs ?? 200;
  const writeBytes = options.writeBytes ?? 4096;
  assert(Number.isSafeInteger(syncs) && syncs >= 1 && syncs <= SYNCS_MAX, () => `syncs must be in 1..${SYNCS_MAX}, got ${syncs}`);
  assert(Number.isSafeInteger(writeBytes) && writeBytes >= 1, () => `writeBytes must be positive, got ${writeBytes}`);
  const parent = options.parentDir ?? tmpdir();
  const dir = await mkdtemp(join(parent, 'synod-fsync-'));
  try {
    const handle = await open(join(dir, 'bench.dat'), 'w');
    const block = new Uint8Array(writeBytes).fill(0x5a);
    const latenciesMs: number[] = [];
    try {
      for (let round = 0; round < syncs; round += 1) {
        await handle.write(block, 0, block.length, round * writeBytes);
        const start = performance.now();
        await handle.datasync();
        latenciesMs.push(performance.now() - start);
      }
    } finally {
      await handle.close();
    }
    latenciesMs.sort((a, b) => a - b);
    const at = (fraction: number): number => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(fraction * latenciesMs.length))] ?? 0;
    const medianMs = at(0.5);
    return {
      dir: parent,
      syncs,
      writeBytes,
      medianMs,
      p99Ms: at(0.99),
      maxMs: latenciesMs[latenciesMs.length - 1] ?? 0,
      syncsPerSecond: medianMs > 0 ? 1000 / medianMs : Number.POSITIVE_INFINITY,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatFsyncResult(result: FsyncBenchResult): string {
  return (
    `fdatasync in ${result.dir}: median ${result.medianMs.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(3)} ms, ` +
    `max ${result.maxMs.toFixed(3)} ms over ${result.syncs} writes of ${result.writeBytes} B ` +
    `(~${Math.round(result.syncsPerSecond)} syncs/s)`
  );
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const parentDir = process.argv[2];
  console.log(formatFsyncResult(await measureFsync(parentDir === undefined ? {} : { parentDir })));
}
