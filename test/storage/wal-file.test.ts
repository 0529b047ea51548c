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
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, segmentFileName } from '../../src/storage/segment.js';
import { FileWal } from '../../src/storage/wal.js';
import { bytes, hexes, payload, withTempDir } from './helpers.js';

const small = { segmentBytesMax: 256 };

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
}

/** A closed log in `dir` holding `payloads`, spread over several 256-byte segments. */
async function writeLog(dir: string, payloads: readonly Uint8Array[]): Promise<void> {
  const { wal } = await FileWal.open(dir, { limits: small });
  // One batch: it still rotates (syncing each full segment first) and costs few syncs on a slow disk.
  await wal.append(payloads);
  await wal.close();
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
      assert.ok(sizes.includes(SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES + 1000), `sizes ${sizes.join(', ')}`);
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
  it('a bad header checksum in a middle segment names the file and offset 16', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      const middle = join(dir, segmentFileName(2));
      const content = await readFile(middle);
      content[9] = (content[9] ?? 0) ^ 0x01; // a bit of the sequence number
      await writeFile(middle, content);
      await assert.rejects(recover(dir), expectCorrupt(middle, /byte offset 16: segment header checksum mismatch/));
    }));

  it('a header cut short in the last segment is corruption, not a torn tail', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records.slice(0, 2));
      const only = join(dir, segmentFileName(1));
      await truncate(only, 10);
      await assert.rejects(recover(dir), expectCorrupt(only, /header cut short: 10 of 20 bytes/));
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
      await assert.rejects(recover(dir), expectCorrupt(first, /checksum mismatch on the final record.*not the last/));
    }));

  it('an unreadable segment fails open with CorruptLogError', () =>
    withTempDir(async (dir) => {
      await writeLog(dir, records);
      const sequences = await segmentFiles(dir);
      const next = join(dir, segmentFileName(sequences.length + 1));
      await mkdir(next); // a directory where a segment file should be
      await assert.rejects(recover(dir), expectCorrupt(next, /unreadable/));
    }));

  it('a torn tail at every offset of the last record of a multi-segment log is truncated and reported', () =>
    withTempDir(async (dir) => {
      const source = join(dir, 'source');
      await writeLog(source, records);
      const files = await segmentFiles(source);
      const lastName = files[files.length - 1] ?? '';
      const lastBytes = await readFile(join(source, lastName));
      const lastRecord = records[records.length - 1] ?? new Uint8Array();
      const frame = RECORD_HEADER_BYTES + lastRecord.length;
      // Sample at most 20 cuts (every one inside the header) so the test stays fast on a slow disk.
      const cuts = [...Array.from({ length: RECORD_HEADER_BYTES }, (_, index) => index + 1)];
      const step = Math.max(1, Math.ceil((frame - RECORD_HEADER_BYTES) / 12));
      for (let cut = RECORD_HEADER_BYTES + step; cut < frame; cut += step) cuts.push(cut);
      for (const cut of cuts) {
        const copy = join(dir, `cut-${cut}`);
        await cp(source, copy, { recursive: true });
        await writeFile(join(copy, lastName), lastBytes.subarray(0, lastBytes.length - frame + cut));
        const { wal, recovery } = await FileWal.open(copy, { limits: small });
        assert.deepEqual(hexes(recovery.payloads), hexes(records.slice(0, -1)), `cut ${cut}`);
        assert.equal(recovery.truncated?.bytes, cut);
        assert.equal(recovery.truncated?.file, join(copy, lastName));
        await wal.append([bytes('next')]);
        await wal.close();
        assert.equal((await readFile(join(copy, lastName))).length, lastBytes.length - frame + RECORD_HEADER_BYTES + 4);
        assert.deepEqual((await recover(copy)).payloads, hexes([...records.slice(0, -1), bytes('next')]));
        await rm(copy, { recursive: true });
      }
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
