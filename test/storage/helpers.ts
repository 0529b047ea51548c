/**
 * Shared pieces of the storage tests: temp directories that are always
 * removed, deterministic payloads, and the harnesses that let one contract
 * suite drive both the file log and its in-memory twin.
 */
import { crc32 } from 'node:zlib';
import { cp, mkdtemp, open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryWalDisk } from '../../src/storage/memory.js';
import type { OpenedWal, WalLimits } from '../../src/storage/ports.js';
import { parseSegmentFileName } from '../../src/storage/segment.js';
import { FileWal } from '../../src/storage/wal.js';

export async function withTempDir<T>(run: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'synod-storage-test-'));
  try {
    return await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The header of a version-1 segment (the old format): magic | version 1 |
 * flags (base) | sequence 1 as u64 | crc32 of the 16 bytes before it.
 */
export function versionOneSegmentHeader(): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt32LE(0x574e5953, 0);
  header.writeUInt16LE(1, 4);
  header.writeUInt16LE(1, 6);
  header.writeBigUInt64LE(1n, 8);
  header.writeUInt32LE(crc32(header.subarray(0, 16)), 16);
  return header;
}

export function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function texts(payloads: readonly Uint8Array[]): string[] {
  return payloads.map((payload) => new TextDecoder().decode(payload));
}

/** `length` bytes that differ from those of any other `seed`. */
export function payload(seed: number, length: number): Uint8Array {
  const result = new Uint8Array(length);
  let state = (seed * 2654435761 + 1) >>> 0;
  for (let index = 0; index < length; index += 1) {
    state = (state * 1103515245 + 12345) >>> 0;
    result[index] = state >>> 24;
  }
  return result;
}

/** Hex of each payload, for deepEqual assertions with readable diffs. */
export function hexes(payloads: readonly Uint8Array[]): string[] {
  return payloads.map((payload) => Buffer.from(payload).toString('hex'));
}

/** One log's storage, driven the same way whether it is a directory or a `MemoryWalDisk`. */
export interface WalHarness {
  readonly kind: 'file' | 'memory';
  /** Opens (recovers) the log; the previous one must be closed. */
  open(limits?: Partial<WalLimits>): Promise<OpenedWal>;
  /** The last segment's name in errors, and its bytes. The log must be closed. */
  lastSegment(): Promise<{ readonly file: string; readonly bytes: Uint8Array }>;
  /** Cuts the last segment to `length` bytes. */
  truncateLastSegment(length: number): Promise<void>;
  /** Flips the bits of `mask` (every bit by default) in the byte at `offset` of the last segment. */
  flipByte(offset: number, mask?: number): Promise<void>;
  /** Overwrites the last segment's bytes from `offset` on with `content`, as pages the disk never got would read. */
  overwrite(offset: number, content: Uint8Array): Promise<void>;
  /**
   * Ends `opened` as a crash right after its last sync would: the log is not
   * closed, so not sealed. It must be idle (every append awaited).
   */
  crash(opened: OpenedWal): Promise<void>;
  dispose(): Promise<void>;
}

export type WalHarnessFactory = () => Promise<WalHarness>;

export const memoryHarness: WalHarnessFactory = async () => {
  let disk: MemoryWalDisk | null = null;
  return {
    kind: 'memory',
    async open(limits = {}) {
      disk ??= new MemoryWalDisk('contract', limits);
      return disk.open();
    },
    async lastSegment() {
      if (disk === null) throw new Error('not opened yet');
      return { file: disk.fileName(), bytes: disk.segmentBytes() };
    },
    async truncateLastSegment(length) {
      disk?.truncate(length);
    },
    async flipByte(offset, mask = 0xff) {
      disk?.corruptByte(offset, mask);
    },
    async overwrite(offset, content) {
      if (disk === null) throw new Error('not opened yet');
      const current = disk.segmentBytes();
      for (const [index, value] of content.entries()) {
        const mask = (current[offset + index] ?? 0) ^ value;
        if (mask !== 0) disk.corruptByte(offset + index, mask);
      }
    },
    async crash() {
      disk?.crash();
    },
    async dispose() {},
  };
};

export const fileHarness: WalHarnessFactory = async () => {
  const parent = await mkdtemp(join(tmpdir(), 'synod-wal-test-'));
  let crashes = 0;
  let dir = join(parent, 'log');
  const last = async (): Promise<string> => {
    const sequences = (await readdir(dir)).map(parseSegmentFileName).filter((sequence) => sequence !== null);
    const newest = Math.max(...sequences);
    return join(dir, `${String(newest).padStart(16, '0')}.seg`);
  };
  return {
    kind: 'file',
    open: (limits = {}) => FileWal.open(dir, { limits }),
    async lastSegment() {
      const file = await last();
      return { file, bytes: await readFile(file) };
    },
    async truncateLastSegment(length) {
      await truncate(await last(), length);
    },
    async flipByte(offset, mask = 0xff) {
      const handle = await open(await last(), 'r+');
      try {
        const one = new Uint8Array(1);
        await handle.read(one, 0, 1, offset);
        one[0] = (one[0] ?? 0) ^ mask;
        await handle.write(one, 0, 1, offset);
      } finally {
        await handle.close();
      }
    },
    async overwrite(offset, content) {
      const handle = await open(await last(), 'r+');
      try {
        await handle.write(content, 0, content.length, offset);
      } finally {
        await handle.close();
      }
    },
    async crash(opened) {
      // The files as they are while the log is open are what a crash after its last sync leaves.
      crashes += 1;
      const copy = join(parent, `crash-${crashes}`);
      await cp(dir, copy, { recursive: true });
      await opened.wal.close();
      await rm(dir, { recursive: true, force: true });
      dir = copy;
    },
    dispose: () => rm(parent, { recursive: true, force: true }),
  };
};

/** Runs `test` on a fresh harness and always disposes of it. */
export async function withHarness(factory: WalHarnessFactory, test: (harness: WalHarness) => Promise<void>): Promise<void> {
  const harness = await factory();
  try {
    await test(harness);
  } finally {
    await harness.dispose();
  }
}
