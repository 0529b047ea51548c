/**
 * The `SnapshotStore` contract, run against the file store and the in-memory
 * twin, and what only the file store has (temp files of interrupted saves).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { slot, type Slot } from '../../src/core/ids.js';
import { CorruptSnapshotError, SnapshotNotFoundError, StorageClosedError } from '../../src/storage/errors.js';
import { MemorySnapshotStore } from '../../src/storage/memory.js';
import type { SnapshotStore } from '../../src/storage/ports.js';
import { SNAPSHOT_HEADER_BYTES, snapshotFileName } from '../../src/storage/snapshot-format.js';
import { FileSnapshotStore } from '../../src/storage/snapshot-store.js';
import { bytes, texts, withTempDir } from './helpers.js';

interface SnapshotHarness {
  /** Opens the store over the same storage (a reopen after a crash). */
  open(keep?: number): Promise<SnapshotStore>;
  fileName(at: Slot): string;
  corruptByte(at: Slot, offset: number): Promise<void>;
  dispose(): Promise<void>;
}

const harnesses: Record<string, () => Promise<SnapshotHarness>> = {
  FileSnapshotStore: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'synod-snap-test-'));
    return {
      open: (keep) => FileSnapshotStore.open(dir, keep === undefined ? {} : { keep }),
      fileName: (at) => join(dir, snapshotFileName(at)),
      async corruptByte(at, offset) {
        const content = await readFile(join(dir, snapshotFileName(at)));
        content[offset] = (content[offset] ?? 0) ^ 0xff;
        await writeFile(join(dir, snapshotFileName(at)), content);
      },
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  },
  MemorySnapshotStore: async () => {
    const files = new Map<Slot, Uint8Array>();
    const name = 'snap';
    return {
      open: async (keep) => new MemorySnapshotStore(files, keep === undefined ? { name } : { name, keep }),
      fileName: (at) => `memory:${name}/${snapshotFileName(at)}`,
      async corruptByte(at, offset) {
        new MemorySnapshotStore(files, { name }).corruptByte(at, offset);
      },
      async dispose() {},
    };
  },
};

async function withSnapshots(factory: () => Promise<SnapshotHarness>, test: (harness: SnapshotHarness) => Promise<void>): Promise<void> {
  const harness = await factory();
  try {
    await test(harness);
  } finally {
    await harness.dispose();
  }
}

const s = (value: number): Slot => slot(value);

for (const [name, factory] of Object.entries(harnesses)) {
  describe(`SnapshotStore contract: ${name}`, () => {
    it('a saved snapshot loads back by slot and as the latest, after a reopen', () =>
      withSnapshots(factory, async (harness) => {
        const store = await harness.open();
        assert.equal(await store.loadLatest(), null);
        await store.save(s(10), bytes('state@10'));
        await store.close();
        const reopened = await harness.open();
        const loaded = await reopened.load(s(10));
        assert.deepEqual(texts([loaded.data]), ['state@10']);
        assert.equal(loaded.throughSlot, 10);
        assert.equal(loaded.file, harness.fileName(s(10)));
        assert.equal((await reopened.loadLatest())?.throughSlot, 10);
        await reopened.close();
      }));

    it('keeps the newest two by default and prunes the older ones', () =>
      withSnapshots(factory, async (harness) => {
        const store = await harness.open();
        for (const at of [5, 10, 15, 20]) await store.save(s(at), bytes(`state@${at}`));
        assert.deepEqual(await store.list(), [15, 20]);
        await assert.rejects(store.load(s(10)), SnapshotNotFoundError);
        await store.close();
        const keepThree = await harness.open(3);
        await keepThree.save(s(25), bytes('state@25'));
        await keepThree.save(s(30), bytes('state@30'));
        assert.deepEqual(await keepThree.list(), [20, 25, 30]);
        await keepThree.close();
      }));

    it('a retained snapshot (the one the log refers to) survives pruning by later saves', () =>
      withSnapshots(factory, async (harness) => {
        const store = await harness.open();
        await store.save(s(10), bytes('state@10'));
        store.retain(s(10));
        // Saves whose log rewrite never happened (crashes in between) must not prune slot 10.
        for (const at of [20, 30, 40]) await store.save(s(at), bytes(`state@${at}`));
        assert.deepEqual(await store.list(), [10, 30, 40]);
        assert.deepEqual(texts([(await store.load(s(10))).data]), ['state@10']);
        store.retain(s(40));
        await store.save(s(50), bytes('state@50'));
        assert.deepEqual(await store.list(), [40, 50]);
        await store.close();
      }));

    it('saving a slot again replaces that snapshot', () =>
      withSnapshots(factory, async (harness) => {
        const store = await harness.open();
        await store.save(s(7), bytes('first'));
        await store.save(s(7), bytes('second'));
        assert.deepEqual(await store.list(), [7]);
        assert.deepEqual(texts([(await store.load(s(7))).data]), ['second']);
        await store.close();
      }));

    it('a corrupt newest snapshot is an error naming its file, not a silent fall back to the older one', () =>
      withSnapshots(factory, async (harness) => {
        const store = await harness.open();
        await store.save(s(10), bytes('state@10'));
        await store.save(s(20), bytes('state@20'));
        await harness.corruptByte(s(20), SNAPSHOT_HEADER_BYTES + 2);
        const named = (error: unknown): boolean => {
          assert.ok(error instanceof CorruptSnapshotError, String(error));
          assert.ok(error.message.includes(harness.fileName(s(20))), error.message);
          assert.match(error.message, /data checksum mismatch/);
          return true;
        };
        await assert.rejects(store.loadLatest(), named);
        await assert.rejects(store.load(s(20)), named);
        const older = await store.loadLatest({ fallBackToOlder: true });
        assert.equal(older?.throughSlot, 10);
        assert.deepEqual(older?.skipped.map((skip) => skip.file), [harness.fileName(s(20))]);
        assert.deepEqual(texts([(await store.load(s(10))).data]), ['state@10']);
        await store.close();
      }));

    it('a damaged header is named as such; when nothing verifies even the fall back fails', () =>
      withSnapshots(factory, async (harness) => {
        const store = await harness.open();
        await store.save(s(3), bytes('three'));
        await harness.corruptByte(s(3), 9); // inside throughSlot
        await assert.rejects(store.load(s(3)), /header checksum mismatch/);
        await assert.rejects(store.loadLatest({ fallBackToOlder: true }), CorruptSnapshotError);
        await store.close();
      }));

    it('after close every operation fails with StorageClosedError', () =>
      withSnapshots(factory, async (harness) => {
        const store = await harness.open();
        await store.close();
        await assert.rejects(store.save(s(1), bytes('x')), StorageClosedError);
        await assert.rejects(store.loadLatest(), StorageClosedError);
      }));
  });
}

describe('FileSnapshotStore files', () => {
  it('a save leaves no temp file, and a temp file of an interrupted save is deleted on open and never loaded', () =>
    withTempDir(async (dir) => {
      const store = await FileSnapshotStore.open(dir);
      await store.save(s(4), bytes('four'));
      assert.deepEqual(await readdir(dir), [snapshotFileName(s(4))]);
      await store.close();
      const interrupted = `${snapshotFileName(s(9))}.tmp`;
      await writeFile(join(dir, interrupted), bytes('half a snap'));
      const reopened = await FileSnapshotStore.open(dir);
      assert.deepEqual(reopened.removedFiles, [join(dir, interrupted)]);
      assert.equal((await reopened.loadLatest())?.throughSlot, 4);
      assert.deepEqual(await readdir(dir), [snapshotFileName(s(4))]);
      await reopened.close();
    }));

  it('a snapshot cut short is detected and named', () =>
    withTempDir(async (dir) => {
      const store = await FileSnapshotStore.open(dir);
      await store.save(s(4), bytes('four'));
      await truncate(join(dir, snapshotFileName(s(4))), SNAPSHOT_HEADER_BYTES + 2);
      await assert.rejects(store.load(s(4)), /0000000000000004\.snap: header says 4 data bytes, the file holds 2/);
      await store.close();
    }));
});
