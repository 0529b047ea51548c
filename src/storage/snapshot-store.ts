/**
 * Snapshots on files: `dir/NNNNNNNNNNNNNNNN.snap`, one per slot it was taken
 * through, in the format of snapshot-format.ts. Implements the `SnapshotStore`
 * contract in ports.ts.
 *
 * A save writes `<name>.snap.tmp`, fsyncs it, renames it into place and fsyncs
 * the directory, so a snapshot under its final name is always complete; a temp
 * file left by a crash is deleted by the next open. Operations on one store run
 * one at a time in call order (a save's pruning cannot race a load). One store
 * per directory.
 *
 * Ordering for the node: save the snapshot (durable), then rewrite the log to
 * refer to it, then `retain` it. Until the rewrite, the log refers to the
 * retained older snapshot, which saves do not prune.
 *
 * A failed save (a full disk, a file-size limit) rejects with
 * `FileOperationError`, whose message names the file.
 */
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { slot, type Slot } from '../core/ids.js';
import { CorruptSnapshotError, SnapshotNotFoundError, StorageClosedError } from './errors.js';
import { createFileAtomically, ensureDirectory, isErrnoException, onFile, syncDirectory, TEMPORARY_SUFFIX } from './fs-durable.js';
import type { LoadedSnapshot, SnapshotStore } from './ports.js';
import { snapshotsKept, type SnapshotStoreOptions } from './limits.js';
import { decodeSnapshot, encodeSnapshot, loadNewest, parseSnapshotFileName, prunable, snapshotFileName } from './snapshot-format.js';


export class FileSnapshotStore implements SnapshotStore {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private retained: Slot | null = null;

  /** Opens (creating if needed) the store in `dir`, deleting temp files of interrupted saves. */
  static async open(dir: string, options: SnapshotStoreOptions = {}): Promise<FileSnapshotStore> {
    const keep = snapshotsKept(options);
    await ensureDirectory(dir);
    const removedFiles: string[] = [];
    for (const name of await readdir(dir)) {
      if (name.endsWith(TEMPORARY_SUFFIX) && parseSnapshotFileName(name.slice(0, -TEMPORARY_SUFFIX.length)) !== null) {
        await unlink(join(dir, name));
        removedFiles.push(join(dir, name));
      }
    }
    if (removedFiles.length > 0) await syncDirectory(dir);
    return new FileSnapshotStore(dir, keep, removedFiles);
  }

  private constructor(
    readonly dir: string,
    readonly keep: number,
    /** Temp files of interrupted saves that `open` deleted. */
    readonly removedFiles: readonly string[],
  ) {}

  save(throughSlot: Slot, data: Uint8Array): Promise<void> {
    slot(throughSlot);
    return this.exclusive(async () => {
      const created = await createFileAtomically(this.dir, this.path(throughSlot), encodeSnapshot(throughSlot, data));
      await created.handle.close();
      const older = prunable(await this.listNow(), this.keep, this.retained);
      for (const old of older) await onFile(this.path(old), 'removing', () => unlink(this.path(old)));
      if (older.length > 0) await syncDirectory(this.dir);
    });
  }

  retain(throughSlot: Slot | null): void {
    this.retained = throughSlot;
  }

  load(throughSlot: Slot): Promise<LoadedSnapshot> {
    return this.exclusive(() => this.loadNow(throughSlot));
  }

  loadLatest(options: { readonly fallBackToOlder?: boolean } = {}): Promise<LoadedSnapshot | null> {
    return this.exclusive(async () => loadNewest(await this.listNow(), (at) => this.loadNow(at), options.fallBackToOlder ?? false));
  }

  list(): Promise<Slot[]> {
    return this.exclusive(() => this.listNow());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail.catch(() => undefined);
  }

  private path(throughSlot: Slot): string {
    return join(this.dir, snapshotFileName(throughSlot));
  }

  private async loadNow(throughSlot: Slot): Promise<LoadedSnapshot> {
    const file = this.path(throughSlot);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      if (isErrnoException(error, 'ENOENT')) throw new SnapshotNotFoundError(throughSlot, this.dir);
      throw new CorruptSnapshotError(file, `unreadable: ${String(error)}`);
    }
    return { throughSlot, data: decodeSnapshot(bytes, file, throughSlot), file, skipped: [] };
  }

  private async listNow(): Promise<Slot[]> {
    const slots: Slot[] = [];
    for (const name of await readdir(this.dir)) {
      const at = parseSnapshotFileName(name);
      if (at !== null) slots.push(at);
    }
    return slots.sort((a, b) => a - b);
  }

  /** Runs `operation` after every earlier one, and not at all once the store is closed. */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StorageClosedError(`snapshot store ${this.dir}`));
    const result = this.tail.then(operation, operation);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
