/**
 * Fuzzing a stopped node's files: byte flips, zeroed ranges, truncations and
 * garbage appended to write-ahead log segments and snapshots, and missing
 * files. Opening the damaged directory must end one of three ways:
 *
 *   - recovered intact: the same records as before the damage (the damage
 *     was in something recovery does not need, e.g. an older snapshot, or in
 *     the seal a clean stop leaves at the end of the log);
 *   - refused, with a typed storage error whose message names the file (or
 *     the directory, for a missing snapshot);
 *   - recovered a prefix, only where no format can tell damage from a crash:
 *     the newest segment truncated, or damaged no earlier than its last write
 *     of records (then the drop must be REPORTED as a truncation).
 *
 * Never: records lost or changed without a report, a prefix recovered for
 * damage in synced data (a write that a later write follows), or an untyped
 * exception (which the node would print without naming any file). Most cases open the
 * storage in-process (fast); a few start a real `synod start` process to see
 * the message an operator gets, and that the node rejoins once repaired.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { nodeCommandCodec } from '../../src/server/command.js';
import { NodeStorage, StorageFormatError } from '../../src/server/node-storage.js';
import { CorruptLogError, CorruptSnapshotError, FileWal, SnapshotNotFoundError } from '../../src/storage/index.js';
import { SEGMENT_HEADER_BYTES, WRITE_HEADER_BYTES } from '../../src/storage/segment.js';
import { isWireError } from '../../src/wire/errors.js';
import { until, type TestCluster } from '../server/harness.js';
import { startFuzzCluster } from './fuzz-cluster.js';
import { fuzzParameters, Tally } from './fuzz-options.js';

const MEMBERS = 3;
const KEYS = 60;

type Damage =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'zero'; at: number; length: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'append'; bytes: Uint8Array }
  | { kind: 'delete' };

interface Outcome {
  readonly verdict: 'intact' | 'torn-tail' | 'shorter' | 'refused' | 'SILENT-LOSS' | 'UNEXPLAINED';
  readonly detail: string;
}

function hexAll(payloads: readonly Uint8Array[]): string[] {
  return payloads.map((p) => Buffer.from(p).toString('hex'));
}

/** Files under `dir` (relative paths), the ones damage can be done to. */
function dataFiles(dir: string): string[] {
  const files: string[] = [];
  for (const sub of ['wal', 'snap']) {
    if (!existsSync(join(dir, sub))) continue;
    for (const name of readdirSync(join(dir, sub)).sort()) files.push(join(sub, name));
  }
  return files;
}

function damage(path: string, what: Damage): void {
  if (what.kind === 'delete') {
    unlinkSync(path);
    return;
  }
  const bytes = Buffer.from(readFileSync(path));
  switch (what.kind) {
    case 'flip': {
      if (bytes.length === 0) return;
      const at = what.at % bytes.length;
      bytes[at] = (bytes[at] as number) ^ (1 << what.bit);
      writeFileSync(path, bytes);
      return;
    }
    case 'zero': {
      if (bytes.length === 0) return;
      const at = what.at % bytes.length;
      bytes.fill(0, at, Math.min(bytes.length, at + what.length));
      writeFileSync(path, bytes);
      return;
    }
    case 'truncate':
      truncateSync(path, bytes.length === 0 ? 0 : what.keep % bytes.length);
      return;
    case 'append':
      writeFileSync(path, Buffer.concat([bytes, what.bytes]));
      return;
  }
}

/** Where the last write that holds records starts in a segment (the seal a clean stop writes after it holds none). */
function lastRecordWriteStart(segment: Buffer): number {
  let last = SEGMENT_HEADER_BYTES;
  for (let start = SEGMENT_HEADER_BYTES; start + WRITE_HEADER_BYTES <= segment.length; ) {
    const recordsBytes = Number(segment.readBigUInt64LE(start + 8));
    if (recordsBytes > 0) last = start;
    start += WRITE_HEADER_BYTES + recordsBytes;
  }
  return last;
}

/** The first offset at which `damaged` differs from `pristine` within both, or null (it was only cut short or lengthened). */
function firstDifference(pristine: Buffer, damaged: Buffer): number | null {
  const length = Math.min(pristine.length, damaged.length);
  for (let at = 0; at < length; at += 1) if (pristine[at] !== damaged[at]) return at;
  return null;
}

/** Opens the node's storage as the node would, and judges the result against the pristine records. */
async function openAndJudge(dir: string, pristine: readonly string[]): Promise<Outcome> {
  let opened;
  try {
    opened = await NodeStorage.open(dir, nodeCommandCodec);
  } catch (error) {
    const typed = error instanceof CorruptLogError || error instanceof CorruptSnapshotError || error instanceof SnapshotNotFoundError || error instanceof StorageFormatError || isWireError(error);
    const message = error instanceof Error ? error.message : String(error);
    if (!typed) return { verdict: 'UNEXPLAINED', detail: `${(error as Error)?.name ?? typeof error}: ${message}` };
    if (!message.includes(dir)) return { verdict: 'UNEXPLAINED', detail: `the error names no file: ${message}` };
    return { verdict: 'refused', detail: message };
  }
  try {
    const recovered = hexAll(opened.recovery.payloads);
    if (recovered.length === pristine.length && recovered.every((p, i) => p === pristine[i])) return { verdict: 'intact', detail: '' };
    const isPrefix = recovered.length < pristine.length && recovered.every((p, i) => p === pristine[i]);
    if (isPrefix && opened.recovery.truncated !== null) {
      return { verdict: 'torn-tail', detail: `${pristine.length - recovered.length} of ${pristine.length} records dropped: ${opened.recovery.truncated.reason}` };
    }
    if (isPrefix) return { verdict: 'shorter', detail: `${pristine.length - recovered.length} of ${pristine.length} records gone, no truncation reported` };
    return {
      verdict: 'SILENT-LOSS',
      detail: `recovered ${recovered.length} records (pristine ${pristine.length}), prefix: ${isPrefix}, truncation reported: ${opened.recovery.truncated !== null}`,
    };
  } finally {
    await opened.storage.close();
  }
}

describe('damaged data files of a stopped node', { timeout: 120_000 }, () => {
  let cluster: TestCluster;
  let work: string;
  /** n1's data directory as the node left it. */
  let corpus: string;
  /** The same records re-written into many small segments, for damage at segment boundaries. */
  let segmented: string;
  let pristine: string[] = [];

  before(async () => {
    cluster = await startFuzzCluster(MEMBERS, ['--snapshot-count', '25']);
    for (let i = 0; i < KEYS; i += 1) await until(`put ${i}`, () => cluster.client('n1').put(`files/${i}`, `value-${i}`).then(() => true));
    // Let n1 learn and persist the last decisions before it stops.
    await until('n1 to apply every write', async () => ((await cluster.client('n1').get(`files/${KEYS - 1}`, true)) === `value-${KEYS - 1}` ? true : undefined));
    await cluster.stop('n1');
    work = mkdtempSync(join(tmpdir(), 'synod-fuzz-files-'));
    corpus = join(work, 'corpus');
    cpSync(join(cluster.dir, 'n1'), corpus, { recursive: true });
    const check = join(work, 'check');
    cpSync(corpus, check, { recursive: true });
    const first = await NodeStorage.open(check, nodeCommandCodec);
    pristine = hexAll(first.recovery.payloads);
    await first.storage.close();
    assert.ok(pristine.length > 3, `the corpus should hold several records, has ${pristine.length}`);
    assert.ok(dataFiles(corpus).some((f) => f.endsWith('.snap')), 'the corpus should hold a snapshot (--snapshot-count 25)');
    // The segmented twin: same records, segments of at most ~400 bytes.
    segmented = join(work, 'segmented');
    cpSync(join(corpus, 'snap'), join(segmented, 'snap'), { recursive: true });
    const { wal } = await FileWal.open(join(segmented, 'wal'), { limits: { segmentBytesMax: 400 } });
    for (const payload of first.recovery.payloads) await wal.append([payload]);
    await wal.close();
    assert.ok(dataFiles(segmented).filter((f) => f.endsWith('.seg')).length > 2, 'the segmented corpus should hold several segments');
  });
  after(async () => {
    await cluster.destroy();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  const damageArb: fc.Arbitrary<Damage> = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('zero' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 200 }) }),
    fc.constant({ kind: 'delete' as const }),
  );

  it('every damage is recovered intact or refused naming the file; only damage at the end of the newest segment may cost its last write', async (t) => {
    const tally = new Tally();
    const failures: string[] = [];
    let tornDropMax = 0;
    let caseIndex = 0;
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.nat(), fc.array(damageArb, { minLength: 1, maxLength: 3 }), async (useSegmented, fileIndex, damages) => {
        const source = useSegmented ? segmented : corpus;
        const files = dataFiles(source);
        const file = files[fileIndex % files.length] as string;
        // Deleting the only segment leaves an empty directory, which is what a new
        // log looks like; that is not asked of the log (a newest segment with a
        // predecessor is missed: the predecessor's end write names it).
        const segments = files.filter((f) => f.endsWith('.seg'));
        const newest = file === segments[segments.length - 1];
        const effective = newest && segments.length === 1 ? damages.filter((d) => d.kind !== 'delete') : damages;
        if (effective.length === 0) return true;
        caseIndex += 1;
        const dir = join(work, `case-${caseIndex}`);
        cpSync(source, dir, { recursive: true });
        try {
          for (const d of effective) if (existsSync(join(dir, file))) damage(join(dir, file), d);
          // Where the damage really begins: a zeroed byte may have been zero already, and a later cut may remove it.
          const original = readFileSync(join(source, file));
          const changedFrom = existsSync(join(dir, file)) ? firstDifference(original, readFileSync(join(dir, file))) : 0;
          const outcome = await openAndJudge(dir, pristine);
          tally.add(outcome.verdict);
          if (outcome.verdict === 'torn-tail' || outcome.verdict === 'shorter') tornDropMax = Math.max(tornDropMax, Number(outcome.detail.split(' ')[0]));
          // A crash can tear the final write of the newest segment, or end it at a
          // write boundary, so a prefix is accepted only for damage there: a cut
          // (the log then looks as if it ended earlier, whatever follows the cut),
          // or bytes changed no earlier than its last write of records.
          const cut = effective.some((d) => d.kind === 'truncate');
          const tail = newest && existsSync(join(dir, file)) && (cut || changedFrom === null || changedFrom >= lastRecordWriteStart(original));
          const cutAtBoundary = outcome.verdict === 'shorter' && tail && cut;
          if (cutAtBoundary) tally.add('cut at a write boundary (undetectable)');
          const prefixAllowed = (outcome.verdict === 'torn-tail' && tail) || cutAtBoundary;
          if (outcome.verdict === 'SILENT-LOSS' || outcome.verdict === 'UNEXPLAINED' || ((outcome.verdict === 'torn-tail' || outcome.verdict === 'shorter') && !prefixAllowed)) {
            failures.push(`${file} (${useSegmented ? 'segmented' : 'node'} corpus) after ${JSON.stringify(effective, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))}: ${outcome.verdict}: ${outcome.detail}`);
            return false;
          }
          return true;
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      fuzzParameters(250),
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\nfailures:\n${failures.join('\n')}`);
    });
    t.diagnostic(`damaged directories opened: ${tally.total - tally.get('cut at a write boundary (undetectable)')} (${tally}); most records one recovery dropped: ${tornDropMax}`);
    assert.deepEqual(failures, []);
  });

  it('a real node refuses to start on a record length flipped past the end of the file, naming the file, and rejoins once repaired', async () => {
    const data = join(cluster.dir, 'n1');
    const segment = dataFiles(data).filter((f) => f.endsWith('.seg')).pop() as string;
    const path = join(data, segment);
    const original = readFileSync(path);
    // Bit 7 of the first record's length: it now runs past the end of the file,
    // which a torn write could also do, but later writes follow it, so no crash explains it.
    damage(path, { kind: 'flip', at: SEGMENT_HEADER_BYTES + WRITE_HEADER_BYTES + 1, bit: 7 });
    cluster.start('n1');
    const result = await cluster.exited('n1', 15_000);
    assert.equal(result.code, 1, `expected exit status 1, got ${result.code ?? result.signal}`);
    assert.match(result.stderr, new RegExp(`corrupt write-ahead log: .*${segment.replace('.', '\\.')}`));
    writeFileSync(path, original);
    cluster.start('n1');
    await until('n1 to serve a linearizable read again', async () => ((await cluster.client('n1').get(`files/${KEYS - 1}`)) === `value-${KEYS - 1}` ? true : undefined), 20_000);
    await cluster.stop('n1');
  });

  it('a real node refuses a damaged snapshot the log refers to, naming the file', async () => {
    const data = join(cluster.dir, 'n1');
    const snapshots = dataFiles(data).filter((f) => f.endsWith('.snap'));
    // The log refers to the newest snapshot (the one its last rewrite named).
    const newest = snapshots[snapshots.length - 1] as string;
    const path = join(data, newest);
    const original = readFileSync(path);
    damage(path, { kind: 'flip', at: original.length - 1, bit: 0 });
    cluster.start('n1');
    const result = await cluster.exited('n1', 15_000);
    assert.equal(result.code, 1, `expected exit status 1, got ${result.code ?? result.signal}`);
    assert.match(result.stderr, new RegExp(`corrupt snapshot: .*${newest.replace('.', '\\.')}`));
    writeFileSync(path, original);
  });

  it('a real node recovers a torn end of its log (here: its seal) and still holds every acknowledged write', async () => {
    const data = join(cluster.dir, 'n1');
    const segment = dataFiles(data).filter((f) => f.endsWith('.seg')).pop() as string;
    const path = join(data, segment);
    const size = readFileSync(path).length;
    truncateSync(path, size - 3);
    cluster.start('n1');
    for (let i = 0; i < KEYS; i += 1) {
      assert.equal(await until(`files/${i} through n1`, () => cluster.client('n1').get(`files/${i}`).then((v) => v ?? undefined), 20_000), `value-${i}`);
    }
  });
});
