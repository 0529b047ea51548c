/**
 * The in-memory twin's fault controls: crashes that lose the unsynced write,
 * keep all of it, or tear it; paused syncs; a crash mid-rewrite. The
 * shared contract is in wal-contract.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorruptLogError, StorageClosedError } from '../../src/storage/errors.js';
import { MemoryWalDisk } from '../../src/storage/memory.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, WRITE_HEADER_BYTES } from '../../src/storage/segment.js';
import { bytes, texts } from './helpers.js';

describe('MemoryWalDisk crashes', () => {
  it('a crash loses appends whose sync had not completed, and they fail with StorageClosedError', async () => {
    const disk = new MemoryWalDisk();
    const { wal } = await disk.open();
    await wal.append([bytes('durable')]);
    disk.pauseSyncs();
    const pending = wal.append([bytes('lost')]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(disk.unsyncedBytes(), WRITE_HEADER_BYTES + RECORD_HEADER_BYTES + 4);
    const report = disk.crash();
    assert.deepEqual(report, { keptBytes: 0, droppedBytes: WRITE_HEADER_BYTES + RECORD_HEADER_BYTES + 4, rewriteDropped: false });
    await assert.rejects(pending, StorageClosedError);
    await assert.rejects(wal.append([bytes('after crash')]), StorageClosedError);
    const { wal: reopened, recovery } = await disk.open();
    assert.deepEqual(texts(recovery.payloads), ['durable']);
    assert.equal(recovery.truncated, null);
    await reopened.close();
  });

  it('keepUnsyncedPrefix tears the unsynced write, and recovery cuts off all of it, records that survived whole included', async () => {
    const disk = new MemoryWalDisk();
    const { wal } = await disk.open();
    await wal.append([bytes('durable')]);
    disk.pauseSyncs();
    const pending = wal.append([bytes('aaaa'), bytes('bbbb'), bytes('cccc')]);
    await new Promise((resolve) => setImmediate(resolve));
    const kept = WRITE_HEADER_BYTES + RECORD_HEADER_BYTES + 4 + 5;
    const report = disk.crash({ keepUnsyncedPrefix: kept });
    assert.equal(report.keptBytes, kept);
    await assert.rejects(pending, StorageClosedError);
    const { wal: reopened, recovery } = await disk.open();
    assert.deepEqual(texts(recovery.payloads), ['durable']);
    assert.equal(recovery.truncated?.offset, SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES + RECORD_HEADER_BYTES + 7);
    assert.equal(recovery.truncated?.bytes, kept);
    await reopened.close();
  });

  it('a crash keeps all of a batch or none of it, at any prefix: never a later record without the earlier ones', async () => {
    const frame = RECORD_HEADER_BYTES + 4;
    const written = ['r000', 'r001', 'r002', 'r003'];
    const writeBytes = WRITE_HEADER_BYTES + written.length * frame;
    const keeps = [...Array.from({ length: Math.ceil(writeBytes / 3) }, (_, index) => index * 3), writeBytes];
    for (const kept of keeps) {
      const disk = new MemoryWalDisk();
      const { wal } = await disk.open();
      disk.pauseSyncs();
      const pending = Promise.all(written.map((text) => wal.append([bytes(text)])));
      await new Promise((resolve) => setImmediate(resolve));
      disk.crash({ keepUnsyncedPrefix: kept });
      await assert.rejects(pending, StorageClosedError);
      const { wal: reopened, recovery } = await disk.open();
      const whole = kept === writeBytes;
      assert.deepEqual(texts(recovery.payloads), whole ? written : [], `kept ${kept} bytes`);
      assert.equal(recovery.truncated?.bytes ?? 0, whole ? 0 : kept);
      await reopened.close();
    }
  });

  it('appends issued while a sync is paused all go out in the next single sync', async () => {
    const disk = new MemoryWalDisk();
    const { wal } = await disk.open();
    disk.pauseSyncs();
    const first = wal.append([bytes('first')]);
    await new Promise((resolve) => setImmediate(resolve));
    const later = Array.from({ length: 10 }, (_, index) => wal.append([bytes(`later${index}`)]));
    disk.resumeSyncs();
    await first;
    assert.equal(wal.metrics().syncs, 1);
    await Promise.all(later);
    assert.equal(wal.metrics().syncs, 2);
    assert.equal(wal.metrics().appends, 11);
    await wal.close();
  });

  it('a crash before a rewrite is synced keeps exactly the old log; after it, exactly the new one', async () => {
    const disk = new MemoryWalDisk();
    const { wal } = await disk.open();
    await wal.append([bytes('old1'), bytes('old2')]);
    disk.pauseSyncs();
    const rewrite = wal.rewrite([bytes('new')]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(disk.crash().rewriteDropped, true);
    await assert.rejects(rewrite, StorageClosedError);
    const second = await disk.open();
    assert.deepEqual(texts(second.recovery.payloads), ['old1', 'old2']);
    await second.wal.rewrite([bytes('new')]);
    disk.crash();
    const third = await disk.open();
    assert.deepEqual(texts(third.recovery.payloads), ['new']);
    await third.wal.close();
  });

  it('refuses a second open while a log is open', async () => {
    const disk = new MemoryWalDisk();
    const { wal } = await disk.open();
    await assert.rejects(disk.open(), /already open/);
    await wal.close();
    const again = await disk.open();
    await again.wal.close();
  });

  it('corruption is reported with the memory file name, which changes with each rewrite', async () => {
    const disk = new MemoryWalDisk('n1');
    const { wal } = await disk.open();
    await wal.rewrite([bytes('x'), bytes('y')]);
    await wal.close();
    assert.equal(disk.fileName(), 'memory:n1/0000000000000002.seg');
    const firstRecord = SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES;
    disk.corruptByte(firstRecord + RECORD_HEADER_BYTES);
    await assert.rejects(disk.open(), (error: unknown) => {
      assert.ok(error instanceof CorruptLogError);
      assert.match(error.message, new RegExp(`memory:n1/0000000000000002\\.seg at byte offset ${firstRecord}: record checksum mismatch`));
      return true;
    });
  });
});
