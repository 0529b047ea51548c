/**
 * The few file-system moves durability is built from. POSIX makes a file's
 * data durable with fsync/fdatasync on the file, but its *name* (creation,
 * rename, unlink) only with an fsync of the directory holding it; forgetting
 * the second is the classic way to lose a freshly created log segment.
 */
import { writevSync } from 'node:fs';
import { mkdir, open, rename, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FileOperationError } from './errors.js';

/** Vectored writes pass at most this many buffers per call (Linux IOV_MAX is 1024). */
const BUFFERS_PER_WRITE_MAX = 512;

/**
 * Runs `operation` on `file`, wrapping a failure in `FileOperationError` so the
 * message names the file: Node's message for a failed write or sync
 * ("ENOSPC: no space left on device, write") does not.
 */
export async function onFile<T>(file: string, what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw error instanceof FileOperationError ? error : new FileOperationError(file, what, error);
  }
}

/** Makes the directory's entries (created, renamed, removed files) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  await onFile(dir, 'syncing directory', async () => {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/**
 * Creates `dir` (and missing parents) and makes the new entries durable by
 * syncing each directory that gained one.
 */
export async function ensureDirectory(dir: string): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined) return;
  const stop = dirname(resolve(firstCreated));
  let current = resolve(dir);
  // Bounded by the depth of `dir`: each step moves one level up until `stop` or the root.
  while (true) {
    const parent = dirname(current);
    await syncDirectory(parent);
    if (parent === stop || parent === current) return;
    current = parent;
  }
}

/** Writes every chunk at `position` on, in order, however the kernel splits the write. Returns the bytes written. */
export async function writeFully(handle: FileHandle, chunks: readonly Uint8Array[], position: number): Promise<number> {
  let pending = chunks.filter((chunk) => chunk.length > 0);
  let at = position;
  while (pending.length > 0) {
    const group = pending.slice(0, BUFFERS_PER_WRITE_MAX);
    const groupBytes = group.reduce((sum, chunk) => sum + chunk.length, 0);
    const { bytesWritten } = await handle.writev(group, at);
    if (bytesWritten <= 0) throw new Error(`write of ${groupBytes} bytes at ${at} made no progress`);
    at += bytesWritten;
    pending = dropPrefix(pending, bytesWritten);
  }
  return at - position;
}

function dropPrefix(chunks: readonly Uint8Array[], bytes: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = bytes;
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}

/** Runs a sync and returns how long it took, in milliseconds. */
export async function timed(sync: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await sync();
  return performance.now() - start;
}

export interface DurableFile {
  /** Open for writing at its end; the caller owns it and must close it. */
  readonly handle: FileHandle;
  readonly sizeBytes: number;
  /** Milliseconds spent in the file sync. */
  readonly syncMs: number;
}

/**
 * Creates `path` atomically with exactly `chunks` as its content: written under
 * `path + '.tmp'`, synced, renamed into place, and the directory synced. A crash
 * leaves either no file at `path` (perhaps a temp file, which the owner's
 * recovery removes) or the complete, synced content: never a partial file under
 * the final name. The handle stays open (a rename does not disturb it).
 */
export async function createFileAtomically(dir: string, path: string, chunks: readonly Uint8Array[]): Promise<DurableFile> {
  const temp = temporaryName(path);
  const handle = await onFile(temp, 'creating', () => open(temp, 'w'));
  try {
    const sizeBytes = await onFile(temp, 'writing', () => writeFully(handle, chunks, 0));
    // A full fsync, not fdatasync: the file is new, so its metadata (size, blocks) must reach the disk too.
    const syncMs = await onFile(temp, 'syncing', () => timed(() => handle.sync()));
    await onFile(temp, 'renaming', () => rename(temp, path));
    await syncDirectory(dir);
    return { handle, sizeBytes, syncMs };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

export const TEMPORARY_SUFFIX = '.tmp';

export function temporaryName(path: string): string {
  return path + TEMPORARY_SUFFIX;
}

export function isErrnoException(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}

/**
 * Batches up to this many bytes are written on the calling thread; larger ones
 * go through the thread pool. A write only copies into the page cache (the
 * fdatasync after it is what waits for the disk), so a small one costs a few
 * microseconds, less than the thread-pool round trip it replaces: a hand-off
 * to a worker and a wake-up of the event loop on every group commit, on the
 * commit path of every write.
 */
const WRITE_NOW_BYTES_MAX = 256 * 1024;
/**
 * Writes every chunk at `position` on, in order, however the kernel splits the
 * write, on this thread; returns the bytes written, or null (nothing written)
 * when the batch is too large to write without blocking the event loop.
 */
export function writeNowIfSmall(handle: FileHandle, chunks: readonly Uint8Array[], position: number): number | null {
  let total = 0;
  for (const chunk of chunks) total += chunk.length;
  if (total > WRITE_NOW_BYTES_MAX || chunks.length > BUFFERS_PER_WRITE_MAX) return null;
  let pending: readonly Uint8Array[] = chunks;
  let at = position;
  // Each pass writes at least one byte (or throws), so at most `total` passes.
  while (at - position < total) {
    const written = writevSync(handle.fd, pending as Uint8Array[], at);
    if (written <= 0) throw new Error(`write of ${total - (at - position)} bytes at ${at} made no progress`);
    at += written;
    pending = dropPrefix(pending, written);
  }
  return total;
}
