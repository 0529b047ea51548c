/**
 * What only the file log has: segment rotation, several segment files and the
 * ways they can go missing or be damaged, temp files, and the crash states a
 * rewrite can leave behind. The shared contract is in wal-contract.ts.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CorruptLogError } from '../../src/storage/errors.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, segmentFileName, WRITE_FLAG_SEAL, WRITE_HEADER_BYTES } from '../../src/storage/segment.js';
import { FileWal } from '../../src/storage/wal.js';
import { bytes, hexes, payload, versionOneSegmentHeader, withTempDir } from './helpers.js';

const small = { segmentBytesMax: 256 };

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
}

/** A closed log in `dir` holding `payloads`, spread over several 256-byte segments. */
async function writeLog(dir: string, payloads: readonly Uint8Array[], appendsOfOne = false): Promise<void> {
  const { wal } = await FileWal.open(dir, { limits: small });
  if (appendsOfOne) {
    // One write per record (and a record-less end write per segment): many write boundaries.
    for (const record of payloads) await wal.append([record]);
  } else {
    // One batch: it still rotates (syncing each full segment first) and costs few syncs on a slow disk.
    await wal.append(payloads);
  }
  await wal.close();
}

/** Offsets of the writes in a segment's bytes, read from their headers. */
function writeStarts(content: Buffer): number[] {
  const starts: number[] = [];
  for (let at = SEGMENT_HEADER_BYTES; at < content.length; at += WRITE_HEADER_BYTES + Number(content.readBigUInt64LE(at + 8))) starts.push(at);
  return starts;
}

/** Cuts the seal of a cleanly closed log off its last segment: the state a crash right after the last sync leaves. */
async function unseal(dir: string): Promise<void> {
  const files = await segmentFiles(dir);
  const last = join(dir, files[files.length - 1] ?? '');
  const content = await readFile(last);
  const sealAt = content.length - WRITE_HEADER_BYTES;
  assert.equal(content.readUInt32LE(sealAt + 4), WRITE_FLAG_SEAL, 'the log ends with its seal');
  await truncate(last, sealAt);
}

async function recover(dir: string): Promise<{ payloads: string[]; removed: string[] }> {
  const { wal, recovery } = await FileWal.open(dir, { limits: small });
  await wal.close();
  return { payloads: hexes(recovery.payloads), removed: recovery.removedFiles.map((file) => file.slice(dir.length + 1)) };
}

function expectCorrupt(file: string, pattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof CorruptLogError, `expected CorruptLogError, got ${String(error)}`);
    assert.ok(error.message.includes(file), `message names ${file}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  };
}

const records = Array.from({ length: 24 }, (_, index) => payload(index, 20 + (index % 7) * 5));

describe('FileWal segments', () => {
  it('rotates at the segment bound and replays every segment in order', () =>
    withTempDir(async (dir) => {
      const { wal } = await FileWal.open(dir, { limits: small });
      // One batch that crosses several segments, then single appends.
      await wal.append(records.slice(0, 12));
      for (const record of records.slice(12)) await wal.append([record]);
      const metrics = wal.metrics();
      await wal.close();
      const files = await segmentFiles(dir);
      assert.ok(files.length >= 4, `expected several segments, got ${files.join(', ')}`);
      assert.equal(metrics.rotations, files.length - 1);
      assert.equal(metrics.segments, files.length);
      for (const name of files) {
        const size = (await readFile(join(dir, name))).length;
        assert.ok(size <= small.segmentBytesMax, `${name} is ${size} bytes`);
      }
      const { wal: reopened, recovery } = await FileWal.open(dir, { limits: small });
      assert.deepEqual(hexes(recovery.payloads), hexes(records));
      assert.equal(recovery.segmentCount, files.length);
      await reopened.close();
    }));

  it('puts a record larger than the segment bound alone in its own segment', () =>
    withTempDir(async (dir) => {
      const big = payload(99, 1000);
      const { wal } = await FileWal.open(dir, { limits: small });
      await wal.append([bytes('before'), big, bytes('after')]);
      await wal.close();
      const sizes = await Promise.all((await segmentFiles(dir)).map(async (name) => (await readFile(join(dir, name))).length));
      assert.ok(sizes.includes(SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES + RECORD_HEADER_BYTES + 1000), `sizes ${sizes.join(', ')}`);
      assert.deepEqual((await recover(dir)).payloads, hexes([bytes('before'), big, bytes('after')]));
    }));

  it('rewrite leaves exactly one segment and deletes the old ones', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      const before = await segmentFiles(dir);
      const { wal } = await FileWal.open(dir, { limits: small });
      await wal.rewrite([bytes('base')]);
      assert.equal(wal.metrics().segments, 1);
      await wal.close();
      const after = await segmentFiles(dir);
      assert.equal(after.length, 1);
      assert.equal(after[0], segmentFileName(before.length + 1));
      assert.deepEqual((await recover(dir)).payloads, hexes([bytes('base')]));
    }));

  it('refuses a second open of the same directory in this process', () =>
    withTempDir(async (dir) => {
      const { wal } = await FileWal.open(dir);
      await assert.rejects(FileWal.open(join(dir, '.')), /already open/);
      await wal.close();
      const again = await FileWal.open(dir);
      await again.wal.close();
    }));

  it('leaves files it does not know alone', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records.slice(0, 3));
      await writeFile(join(dir, 'README'), 'not a segment');
      assert.deepEqual((await recover(dir)).payloads, hexes(records.slice(0, 3)));
      assert.equal(await readFile(join(dir, 'README'), 'utf8'), 'not a segment');
    }));
});

describe('FileWal damage is refused, not skipped', () => {
  it('a bad header checksum in a middle segment names the file and offset 28', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      const middle = join(dir, segmentFileName(2));
      const content = await readFile(middle);
      content[9] = (content[9] ?? 0) ^ 0x01; // a bit of the sequence number
      await writeFile(middle, content);
      await assert.rejects(recover(dir), expectCorrupt(middle, /byte offset 28: segment header checksum mismatch/));
    }));

  it('a header cut short in the last segment is corruption, not a torn tail', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records.slice(0, 2));
      const only = join(dir, segmentFileName(1));
      await truncate(only, 10);
      await assert.rejects(recover(dir), expectCorrupt(only, /header cut short: 10 of 32 bytes/));
    }));

  it('a missing middle segment fails open naming the missing file', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      assert.ok((await segmentFiles(dir)).length >= 3);
      await unlink(join(dir, segmentFileName(2)));
      await assert.rejects(recover(dir), expectCorrupt(join(dir, segmentFileName(2)), /segment 2 is missing: segment 1 is followed by 3/));
    }));

  it('a missing first segment fails open: the log lost its beginning', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      await unlink(join(dir, segmentFileName(1)));
      await assert.rejects(recover(dir), expectCorrupt(join(dir, segmentFileName(2)), /no base segment/));
    }));

  it('a cut record at the end of a segment that is not the last is corruption', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      const first = join(dir, segmentFileName(1));
      const size = (await readFile(first)).length;
      await truncate(first, size - 3);
      await assert.rejects(recover(dir), expectCorrupt(first, /runs past the end of the file.*not the last/));
    }));

  it('a bad checksum on the final record of a segment that is not the last is corruption', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      const first = join(dir, segmentFileName(1));
      const content = await readFile(first);
      content[content.length - 1] = (content[content.length - 1] ?? 0) ^ 0xff;
      await writeFile(first, content);
      await assert.rejects(recover(dir), expectCorrupt(first, /record checksum mismatch .* in a segment that is not the last/));
    }));

  it('an unreadable segment fails open with CorruptLogError', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      const sequences = await segmentFiles(dir);
      const next = join(dir, segmentFileName(sequences.length + 1));
      await mkdir(next); // a directory where a segment file should be
      await assert.rejects(recover(dir), expectCorrupt(next, /unreadable/));
    }));

  it('a torn final write at every sampled cut of a multi-segment log is cut off and reported', () =>
    withTempDir(async (dir) => {
      const source = join(dir, 'source');
      const { wal: writer } = await FileWal.open(source, { limits: small });
      await writer.append(records.slice(0, -1));
      await writer.append(records.slice(-1));
      await writer.close();
      await unseal(source);
      const files = await segmentFiles(source);
      const lastName = files[files.length - 1] ?? '';
      const lastBytes = await readFile(join(source, lastName));
      const lastRecord = records[records.length - 1] ?? new Uint8Array();
      const finalWrite = WRITE_HEADER_BYTES + RECORD_HEADER_BYTES + lastRecord.length;
      // Sample at most 40 cuts (every one inside the headers) so the test stays fast on a slow disk.
      const cuts = Array.from({ length: WRITE_HEADER_BYTES + RECORD_HEADER_BYTES }, (_, index) => index + 1);
      const step = Math.max(1, Math.ceil((finalWrite - cuts.length) / 10));
      for (let cut = cuts.length + step; cut < finalWrite; cut += step) cuts.push(cut);
      for (const cut of cuts) {
        const copy = join(dir, `cut-${cut}`);
        await cp(source, copy, { recursive: true });
        await writeFile(join(copy, lastName), lastBytes.subarray(0, lastBytes.length - finalWrite + cut));
        const { wal, recovery } = await FileWal.open(copy, { limits: small });
        assert.deepEqual(hexes(recovery.payloads), hexes(records.slice(0, -1)), `cut ${cut}`);
        assert.equal(recovery.truncated?.bytes, cut);
        assert.equal(recovery.truncated?.file, join(copy, lastName));
        await wal.append([bytes('next')]);
        await wal.close();
        assert.deepEqual((await recover(copy)).payloads, hexes([...records.slice(0, -1), bytes('next')]));
        await rm(copy, { recursive: true });
      }
    }));

  it('a missing newest segment is detected: the segment before it ends with the write made after its successor existed', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      const files = await segmentFiles(dir);
      assert.ok(files.length >= 3);
      await unlink(join(dir, files[files.length - 1] ?? ''));
      const missing = join(dir, segmentFileName(files.length));
      await assert.rejects(recover(dir), expectCorrupt(missing, new RegExp(`segment ${files.length} is missing: segment ${files.length - 1} ends with the write`)));
    }));

  it('a segment that is not the last, cut exactly at a write boundary, is corruption: its end write is gone', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records, true);
      const first = join(dir, segmentFileName(1));
      const content = await readFile(first);
      const starts = writeStarts(content);
      assert.ok(starts.length >= 3, `segment 1 holds ${starts.length} writes`);
      for (const cutAt of [starts[starts.length - 1] ?? 0, starts[1] ?? 0]) {
        await writeFile(first, content.subarray(0, cutAt));
        await assert.rejects(recover(dir), expectCorrupt(first, new RegExp(`byte offset ${cutAt}: segment ends without its end write, though segment 2 follows`)));
      }
    }));

  it('an interrupted rotation (an empty newest segment after one whose end write is torn or absent) is repaired', () =>
    withTempDir(async (dir) => {
      const source = join(dir, 'source');
      await writeLog(source, records, true);
      const first = await readFile(join(source, segmentFileName(1)));
      const emptySecond = (await readFile(join(source, segmentFileName(2)))).subarray(0, SEGMENT_HEADER_BYTES);
      const starts = writeStarts(first);
      const endWriteAt = starts[starts.length - 1] ?? 0;
      // One record per write before the end write, which holds none (the next record did not fit).
      const kept = hexes(records.slice(0, starts.length - 1));
      for (const firstLength of [endWriteAt, endWriteAt + 7]) {
        const state = join(dir, `state-${firstLength}`);
        await mkdir(state);
        await writeFile(join(state, segmentFileName(1)), first.subarray(0, firstLength));
        await writeFile(join(state, segmentFileName(2)), emptySecond);
        const result = await recover(state);
        assert.deepEqual(result.payloads, kept, `segment 1 cut to ${firstLength} bytes`);
        assert.deepEqual(result.removed, [segmentFileName(2)]);
        assert.deepEqual(await segmentFiles(state), [segmentFileName(1)]);
        const { wal } = await FileWal.open(state, { limits: small });
        await wal.append(records.slice(kept.length));
        await wal.close();
        assert.deepEqual((await recover(state)).payloads, hexes(records));
      }
      // With its end write intact, an empty newest segment is simply where the next write goes.
      const intact = join(dir, 'intact');
      await mkdir(intact);
      await writeFile(join(intact, segmentFileName(1)), first);
      await writeFile(join(intact, segmentFileName(2)), emptySecond);
      assert.deepEqual((await recover(intact)).removed, []);
      assert.deepEqual(await segmentFiles(intact), [segmentFileName(1), segmentFileName(2)]);
    }));

  it('an empty newest segment after a segment whose last write is intact but not an end write is corruption', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records, true);
      const first = join(dir, segmentFileName(1));
      const content = await readFile(first);
      const starts = writeStarts(content);
      // Cut the end write off and tear the record write before it: that write was synced before segment 2 was created.
      await writeFile(first, content.subarray(0, (starts[starts.length - 1] ?? 0) - 2));
      const second = join(dir, segmentFileName(2));
      await writeFile(second, (await readFile(second)).subarray(0, SEGMENT_HEADER_BYTES));
      for (const name of (await segmentFiles(dir)).slice(2)) await unlink(join(dir, name));
      await assert.rejects(recover(dir), expectCorrupt(first, /in a segment that is not the last/));
    }));

  it('a segment of the old format (version 1) is refused with a message that says so', () =>
    withTempDir(async (dir) => {
      const v1 = versionOneSegmentHeader();
      const path = join(dir, segmentFileName(1));
      await writeFile(path, Buffer.concat([v1, Buffer.from('0400000000000000abcd', 'hex')]));
      await assert.rejects(recover(dir), expectCorrupt(path, /byte offset 4: segment format version 1, written by an older build/));
    }));

  it('a rewrite\'s records are never taken for a torn write: a length flip there is corruption though nothing follows', () =>
    withTempDir(async (dir) => {
      const { wal } = await FileWal.open(dir, { limits: small });
      await wal.append(records.slice(0, 10));
      await wal.rewrite([bytes('snapshot@12'), bytes('promise'), bytes('accept@13')]);
      await wal.close();
      const [base] = await segmentFiles(dir);
      const path = join(dir, base ?? '');
      const content = await readFile(path);
      assert.equal(content.length, SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES + 3 * RECORD_HEADER_BYTES + 11 + 7 + 9, 'a rewritten log needs no seal');
      const record = SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES;
      content[record + 2] = (content[record + 2] ?? 0) ^ 0x80;
      await writeFile(path, content);
      await assert.rejects(recover(dir), expectCorrupt(path, new RegExp(`byte offset ${record}: record of \\d+ bytes runs past the end of its write .*, within the first \\d+ bytes, which were synced before the segment was named`)));
      assert.deepEqual(await readFile(path), content, 'nothing was cut off');
    }));
});

describe('FileWal rewrite survives a crash at every step', () => {
  const rewritten = [bytes('snapshot@12'), bytes('promise'), bytes('accept@13')];

  /**
   * Builds the old log in `old/` and, in `new/`, the same log after a finished
   * rewrite; the crash states are assembled from the two.
   */
  async function fixture(dir: string): Promise<{ old: string; oldFiles: string[]; base: Uint8Array; baseName: string }> {
    const old = join(dir, 'old');
    await writeLog(old, records);
    const done = join(dir, 'new');
    await cp(old, done, { recursive: true });
    const { wal } = await FileWal.open(done, { limits: small });
    await wal.rewrite(rewritten);
    await wal.close();
    const [baseName] = await segmentFiles(done);
    assert.ok(baseName !== undefined);
    return { old, oldFiles: await segmentFiles(old), base: await readFile(join(done, baseName)), baseName };
  }

  async function crashState(dir: string, name: string, from: string, build: (state: string) => Promise<void>): Promise<string> {
    const state = join(dir, name);
    await cp(from, state, { recursive: true });
    await build(state);
    return state;
  }

  const oldPayloads = hexes(records);
  const newPayloads = hexes(rewritten);

  it('crash while the new base is being written (temp file, whole or partial): the old log', () =>
    withTempDir(async (dir) => {
      const { old, base, baseName } = await fixture(dir);
      for (const keptBytes of [0, 7, SEGMENT_HEADER_BYTES, base.length - 1, base.length]) {
        const state = await crashState(dir, `temp-${keptBytes}`, old, (at) => writeFile(join(at, `${baseName}.tmp`), base.subarray(0, keptBytes)));
        const result = await recover(state);
        assert.deepEqual(result.payloads, oldPayloads, `temp file of ${keptBytes} bytes`);
        assert.deepEqual(result.removed, [`${baseName}.tmp`]);
        assert.deepEqual(await readdir(state).then((names) => names.filter((name) => name.endsWith('.tmp'))), []);
      }
    }));

  it('crash after the rename, before any old segment is deleted: the new log, and the old segments are removed', () =>
    withTempDir(async (dir) => {
      const { old, oldFiles, base, baseName } = await fixture(dir);
      const state = await crashState(dir, 'renamed', old, (at) => writeFile(join(at, baseName), base));
      const result = await recover(state);
      assert.deepEqual(result.payloads, newPayloads);
      assert.deepEqual(result.removed.sort(), oldFiles);
      assert.deepEqual(await segmentFiles(state), [baseName]);
    }));

  it('crash midway through deleting the old segments: the new log', () =>
    withTempDir(async (dir) => {
      const { old, oldFiles, base, baseName } = await fixture(dir);
      for (let deleted = 1; deleted < oldFiles.length; deleted += 1) {
        const state = await crashState(dir, `deleted-${deleted}`, old, async (at) => {
          await writeFile(join(at, baseName), base);
          for (const name of oldFiles.slice(0, deleted)) await unlink(join(at, name));
        });
        assert.deepEqual((await recover(state)).payloads, newPayloads, `${deleted} old segments deleted`);
      }
    }));

  it('appends after an interrupted cleanup go after the new base, and old segments never come back', () =>
    withTempDir(async (dir) => {
      const { old, base, baseName } = await fixture(dir);
      const state = await crashState(dir, 'resumed', old, (at) => writeFile(join(at, baseName), base));
      const { wal } = await FileWal.open(state, { limits: small });
      await wal.append([bytes('after')]);
      await wal.close();
      assert.deepEqual((await recover(state)).payloads, hexes([...rewritten, bytes('after')]));
    }));

  it('a leftover temp file of an interrupted rotation is removed and the log is intact', () =>
    withTempDir(async (dir) => {
      const log = join(dir, 'log');
      await writeLog(log, records.slice(0, 2));
      await writeFile(join(log, `${segmentFileName(2)}.tmp`), new Uint8Array(5));
      const result = await recover(log);
      assert.deepEqual(result.payloads, hexes(records.slice(0, 2)));
      assert.deepEqual(result.removed, [`${segmentFileName(2)}.tmp`]);
    }));
});
