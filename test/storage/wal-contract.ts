/**
 * The `WriteAheadLog` contract of src/storage/ports.ts as tests, written once
 * and run against the file log and the in-memory twin (wal-contract.test.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorruptLogError, RecordTooLargeError, StorageClosedError } from '../../src/storage/errors.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, WRITE_HEADER_BYTES } from '../../src/storage/segment.js';
import { bytes, hexes, payload, texts, withHarness, type WalHarness, type WalHarnessFactory } from './helpers.js';

/** Asserts that opening fails with CorruptLogError naming the last segment and `offset`, and that the open changed no byte of it. */
async function assertRefused(harness: WalHarness, offset: number, pattern: RegExp): Promise<void> {
  const { file, bytes: before } = await harness.lastSegment();
  await assert.rejects(harness.open(), (error: unknown) => {
    assert.ok(error instanceof CorruptLogError, `expected CorruptLogError, got ${String(error)}`);
    assert.equal(error.file, file);
    assert.equal(error.offset, offset, error.message);
    assert.ok(error.message.includes(`${file} at byte offset ${offset}`), error.message);
    assert.match(error.message, pattern);
    return true;
  });
  assert.deepEqual(Buffer.from((await harness.lastSegment()).bytes), Buffer.from(before), 'a refused open changes nothing');
}

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
        assert.equal(metrics.bytesWritten, WRITE_HEADER_BYTES + appends * RECORD_HEADER_BYTES + 10 * 2 + 10 * 3);
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

    it('a torn final write is cut off whole at every sampled cut, earlier writes survive, and the log takes appends after', async () => {
      const earlier = [payload(1, 30), payload(2, 5)];
      const last = [payload(3, 24), payload(4, 10)];
      const finalWriteBytes = WRITE_HEADER_BYTES + 2 * RECORD_HEADER_BYTES + 24 + 10;
      // Every cut in the write header and the first record header, a few in the payloads.
      const cuts = [...Array.from({ length: WRITE_HEADER_BYTES + RECORD_HEADER_BYTES }, (_, index) => index + 1), 40, 60, finalWriteBytes - 1];
      for (const cut of cuts) {
        await withHarness(factory, async (harness) => {
          const first = await harness.open();
          await first.wal.append(earlier);
          await first.wal.append(last);
          await harness.crash(first);
          const { bytes: segment } = await harness.lastSegment();
          const finalWriteAt = segment.length - finalWriteBytes;
          await harness.truncateLastSegment(finalWriteAt + cut);
          const second = await harness.open();
          assert.deepEqual(hexes(second.recovery.payloads), hexes(earlier), `cut ${cut}`);
          assert.ok(second.recovery.truncated !== null, `cut ${cut}: truncation reported`);
          assert.equal(second.recovery.truncated.bytes, cut);
          assert.equal(second.recovery.truncated.offset, finalWriteAt);
          await second.wal.append([bytes('next')]);
          await second.wal.close();
          const third = await harness.open();
          assert.deepEqual(hexes(third.recovery.payloads), hexes([...earlier, bytes('next')]), `cut ${cut}`);
          assert.equal(third.recovery.truncated, null);
          await third.wal.close();
        });
      }
    });

    it('a bad checksum on the final record of a crashed log is a torn write, not corruption', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('kept')]);
        await first.wal.append([bytes('torn')]);
        await harness.crash(first);
        const { bytes: segment } = await harness.lastSegment();
        await harness.flipByte(segment.length - 1);
        const second = await harness.open();
        assert.deepEqual(texts(second.recovery.payloads), ['kept']);
        assert.match(second.recovery.truncated?.reason ?? '', /record checksum mismatch/);
        await second.wal.close();
      }));

    it('a torn final write whose first bytes read as zeros while its later records reached the disk is cut off whole', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('kept')]);
        await first.wal.append([payload(1, 40), payload(2, 40), payload(3, 40)]);
        await harness.crash(first);
        const { bytes: segment } = await harness.lastSegment();
        const finalWriteAt = SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES + RECORD_HEADER_BYTES + 4;
        // The write's first 40 bytes (its header and the first record's) never reached the disk; the rest did.
        await harness.overwrite(finalWriteAt, new Uint8Array(40));
        const second = await harness.open();
        assert.deepEqual(texts(second.recovery.payloads), ['kept']);
        assert.equal(second.recovery.truncated?.offset, finalWriteAt);
        assert.equal(second.recovery.truncated?.bytes, segment.length - finalWriteAt);
        await second.wal.close();
      }));

    it('a flipped bit in a record length of a synced log, pointing past the end of the file, is corruption naming file and offset; nothing is cut off', async () => {
      // Closed cleanly (sealed), or crashed after a later write: either way the damaged write had been synced.
      for (const ending of ['close', 'crash'] as const) {
        await withHarness(factory, async (harness) => {
          const first = await harness.open();
          await first.wal.append([bytes('abcdef'), bytes('ghijkl')]);
          await first.wal.append([bytes('mnop')]);
          if (ending === 'close') await first.wal.close();
          else await harness.crash(first);
          const record = SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES;
          await harness.flipByte(record + 1, 0x80); // bit 7 of the length's second byte: 6 becomes 32774
          await assertRefused(harness, record, /record of 32774 bytes runs past the end of its write.*so this one had been synced \(corruption, not a torn write\)/);
        });
      }
    });

    it('after a clean close even the last record is protected: damage to it is corruption, because the seal follows it', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('kept')]);
        await first.wal.append([bytes('last')]);
        await first.wal.close();
        const { bytes: segment } = await harness.lastSegment();
        const lastRecord = segment.length - WRITE_HEADER_BYTES - RECORD_HEADER_BYTES - 4;
        await harness.flipByte(lastRecord + RECORD_HEADER_BYTES);
        await assertRefused(harness, lastRecord, /record checksum mismatch/);
      }));

    it('a log recovered after a crash is sealed by its next close, so its last write is protected from then on', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('one')]);
        await first.wal.append([bytes('two')]);
        await harness.crash(first);
        const second = await harness.open();
        assert.equal(second.recovery.truncated, null);
        await second.wal.close();
        const { bytes: segment } = await harness.lastSegment();
        const lastRecord = segment.length - WRITE_HEADER_BYTES - RECORD_HEADER_BYTES - 3;
        await harness.flipByte(lastRecord + RECORD_HEADER_BYTES + 1);
        await assertRefused(harness, lastRecord, /record checksum mismatch/);
      }));

    it('a damaged write header is corruption when a later write follows, though its own length is lost', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('one'), bytes('two')]);
        await first.wal.append([bytes('three')]);
        await harness.crash(first);
        await harness.flipByte(SEGMENT_HEADER_BYTES + 8, 0x01); // the first write's length
        await assertRefused(harness, SEGMENT_HEADER_BYTES, /write header checksum mismatch .*, and an intact write begins later, at byte \d+: the damaged write had been synced/);
      }));

    it('a flipped byte in a record before the tail fails open with CorruptLogError naming the file and the offset', () =>
      withHarness(factory, async (harness) => {
        const first = await harness.open();
        await first.wal.append([bytes('one'), bytes('two'), bytes('three')]);
        await first.wal.close();
        const secondRecordOffset = SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES + RECORD_HEADER_BYTES + 3;
        await harness.flipByte(secondRecordOffset + RECORD_HEADER_BYTES + 1);
        await assertRefused(harness, secondRecordOffset, /record checksum mismatch/);
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
