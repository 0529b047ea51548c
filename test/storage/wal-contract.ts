/**
 * The `WriteAheadLog` contract of src/storage/ports.ts as tests, written once
 * and run against the file log and the in-memory twin (wal-contract.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorruptLogError, RecordTooLargeError, StorageClosedError } from '../../src/storage/errors.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES } from '../../src/storage/segment.js';
import { bytes, hexes, payload, texts, withHarness, type WalHarnessFactory } from './helpers.js';

export function walContract(name: string, factory: WalHarnessFactory): void {
  describe(`WriteAheadLog contract: ${name}`, () => {
    it('an empty log opens with no records and nothing truncated', () =>
      withHarness(factory, async (harness) => {
        const { wal, recovery } = await harness.open();
        assert.deepEqual(recovery.payloads, []);
        assert.equal(recovery.truncated, null);
        await wal.close();
      }));

    it('appended records come back in order after close and reopen', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('a'), bytes('b')]);
        await first.wal.append([bytes('c')]);
        await first.wal.append([]);
        await first.wal.append([new Uint8Array(0)]);
        await first.wal.close();
        const second = await harness.open();
        assert.deepEqual(texts(second.recovery.payloads), ['a', 'b', 'c', '']);
        assert.equal(second.recovery.truncated, null);
        await second.wal.append([bytes('d')]);
        await second.wal.close();
        const third = await harness.open();
        assert.deepEqual(texts(third.recovery.payloads), ['a', 'b', 'c', '', 'd']);
        await third.wal.close();
      }));

    it('twenty concurrent appends share one sync, and each resolves durable', () =>
      withHarness(factory, async (harness) => {
        const { wal } = await harness.open();
        const before = wal.metrics().syncs;
        const appends = 20;
        await Promise.all(Array.from({ length: appends }, (_, index) => wal.append([bytes(`r${index}`)])));
        const metrics = wal.metrics();
        assert.equal(metrics.appends, appends);
        assert.equal(metrics.records, appends);
        assert.ok(metrics.syncs - before < appends, `expected fewer than ${appends} syncs, got ${metrics.syncs - before}`);
        assert.equal(metrics.syncs - before, 1);
        assert.equal(metrics.batches, 1);
        assert.equal(metrics.bytesWritten, appends * RECORD_HEADER_BYTES + 10 * 2 + 10 * 3);
        await wal.close();
        const reopened = await harness.open();
        assert.deepEqual(texts(reopened.recovery.payloads), Array.from({ length: appends }, (_, index) => `r${index}`));
        await reopened.wal.close();
      }));

    it('appends issued while the first batch is out go together in the next batch', () =>
      withHarness(factory, async (harness) => {
        const { wal } = await harness.open();
        const before = wal.metrics().syncs;
        const first = wal.append([bytes('first')]);
        // Let the first batch start: its write and sync are now under way (or done).
        await new Promise((resolve) => setImmediate(resolve));
        const later = Array.from({ length: 10 }, (_, index) => wal.append([bytes(`later${index}`)]));
        await Promise.all([first, ...later]);
        assert.equal(wal.metrics().syncs - before, 2);
        assert.equal(wal.metrics().batches, 2);
        await wal.close();
      }));

    it('a record above the bound is refused with RecordTooLargeError and nothing of that append is written', () =>
      withHarness(factory, async (harness) => {
        const { wal } = await harness.open({ recordBytesMax: 100 });
        await wal.append([payload(1, 100)]);
        await assert.rejects(wal.append([payload(2, 10), payload(3, 101)]), (error: unknown) => {
          assert.ok(error instanceof RecordTooLargeError);
          assert.match(error.message, /101 bytes exceeds the bound of 100/);
          return true;
        });
        await assert.rejects(wal.rewrite([payload(4, 101)]), RecordTooLargeError);
        await wal.append([payload(5, 1)]);
        await wal.close();
        const reopened = await harness.open({ recordBytesMax: 100 });
        assert.deepEqual(hexes(reopened.recovery.payloads), hexes([payload(1, 100), payload(5, 1)]));
        await reopened.wal.close();
      }));

    it('every operation after close fails with StorageClosedError, and close waits for queued appends', () =>
      withHarness(factory, async (harness) => {
        const { wal } = await harness.open();
        const queued = wal.append([bytes('queued')]);
        await wal.close();
        await queued;
        await assert.rejects(wal.append([bytes('late')]), StorageClosedError);
        await assert.rejects(wal.rewrite([]), StorageClosedError);
        await wal.close();
        const reopened = await harness.open();
        assert.deepEqual(texts(reopened.recovery.payloads), ['queued']);
        await reopened.wal.close();
      }));

    it('operations take effect in call order: an append issued after rewrite lands after the rewritten records', () =>
      withHarness(factory, async (harness) => {
        const { wal } = await harness.open();
        const calls = [wal.append([bytes('old')]), wal.rewrite([bytes('x'), bytes('y')]), wal.append([bytes('new')])];
        await Promise.all(calls);
        await wal.close();
        const reopened = await harness.open();
        assert.deepEqual(texts(reopened.recovery.payloads), ['x', 'y', 'new']);
        await reopened.wal.close();
      }));

    it('rewrite replaces the whole log by exactly its payloads, including by nothing', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('a'), bytes('b'), bytes('c')]);
        await first.wal.rewrite([bytes('snapshot'), bytes('promise')]);
        assert.equal(first.wal.metrics().rewrites, 1);
        await first.wal.close();
        const second = await harness.open();
        assert.deepEqual(texts(second.recovery.payloads), ['snapshot', 'promise']);
        await second.wal.rewrite([]);
        await second.wal.close();
        const third = await harness.open();
        assert.deepEqual(third.recovery.payloads, []);
        await third.wal.append([bytes('after')]);
        await third.wal.close();
        const fourth = await harness.open();
        assert.deepEqual(texts(fourth.recovery.payloads), ['after']);
        await fourth.wal.close();
      }));

    it('a torn last record is cut off at every sampled cut, earlier records survive, and the log takes appends after', async () => {
      const records = [payload(1, 30), payload(2, 5), payload(3, 24)];
      const lastRecordBytes = RECORD_HEADER_BYTES + 24;
      // Every cut inside the last record's header, a few inside its payload.
      const cuts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 23, lastRecordBytes - 1];
      for (const cut of cuts) {
        await withHarness(factory, async (harness) => {
          const first = await harness.open();
          await first.wal.append(records);
          await first.wal.close();
          const { bytes: segment } = await harness.lastSegment();
          await harness.truncateLastSegment(segment.length - lastRecordBytes + cut);
          const second = await harness.open();
          assert.deepEqual(hexes(second.recovery.payloads), hexes(records.slice(0, 2)), `cut ${cut}`);
          assert.ok(second.recovery.truncated !== null, `cut ${cut}: truncation reported`);
          assert.equal(second.recovery.truncated.bytes, cut);
          assert.equal(second.recovery.truncated.offset, segment.length - lastRecordBytes);
          await second.wal.append([bytes('next')]);
          await second.wal.close();
          const third = await harness.open();
          assert.deepEqual(hexes(third.recovery.payloads), hexes([...records.slice(0, 2), bytes('next')]), `cut ${cut}`);
          assert.equal(third.recovery.truncated, null);
          await third.wal.close();
        });
      }
    });

    it('a bad checksum on the final record is a torn tail, not corruption', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('kept'), bytes('torn')]);
        await first.wal.close();
        const { bytes: segment } = await harness.lastSegment();
        await harness.flipByte(segment.length - 1);
        const second = await harness.open();
        assert.deepEqual(texts(second.recovery.payloads), ['kept']);
        assert.match(second.recovery.truncated?.reason ?? '', /checksum mismatch on the final record/);
        await second.wal.close();
      }));

    it('a flipped byte in a record before the tail fails open with CorruptLogError naming the file and the offset', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('one'), bytes('two'), bytes('three')]);
        await first.wal.close();
        const { file } = await harness.lastSegment();
        const secondRecordOffset = SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 3;
        await harness.flipByte(secondRecordOffset + RECORD_HEADER_BYTES + 1);
        await assert.rejects(harness.open(), (error: unknown) => {
          assert.ok(error instanceof CorruptLogError, `expected CorruptLogError, got ${String(error)}`);
          assert.equal(error.file, file);
          assert.equal(error.offset, secondRecordOffset);
          assert.ok(error.message.includes(file), error.message);
          assert.ok(error.message.includes(`byte offset ${secondRecordOffset}`), error.message);
          assert.match(error.message, /checksum mismatch/);
          return true;
        });
      }));

    it('a damaged segment header fails open with CorruptLogError', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('one')]);
        await first.wal.close();
        const { file } = await harness.lastSegment();
        await harness.flipByte(0);
        await assert.rejects(harness.open(), (error: unknown) => {
          assert.ok(error instanceof CorruptLogError);
          assert.ok(error.message.includes(file), error.message);
          assert.match(error.message, /byte offset 0: bad segment magic/);
          return true;
        });
      }));
  });
}
