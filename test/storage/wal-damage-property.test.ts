/**
 * Property: one damaged byte anywhere in a multi-segment file log never gives
 * a silently shorter log. Recovery either refuses with `CorruptLogError`
 * (changing nothing on disk), or returns exactly the records written; the only
 * records it may drop are those of the final write of a log that crashed
 * (was never sealed), since damage there is indistinguishable from a torn
 * write, and then it reports the cut at that write's start. On failure
 * fast-check prints the seed and the case (unshrunk: see below); replay with
 * `fc.assert(..., { seed, path })`.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CorruptLogError } from '../../src/storage/errors.js';
import type { WalLimits } from '../../src/storage/ports.js';
import { SEGMENT_HEADER_BYTES, WRITE_FLAG_SEAL, WRITE_HEADER_BYTES } from '../../src/storage/segment.js';
import { FileWal } from '../../src/storage/wal.js';
import { hexes, payload, withTempDir } from './helpers.js';

const limits: Partial<WalLimits> = { segmentBytesMax: 200, recordBytesMax: 64 };

interface Damage {
  readonly file: number;
  readonly offset: number;
  readonly mask: number;
}

const caseArbitrary = fc.record({
  batches: fc.array(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 4 }), { minLength: 3, maxLength: 10 }),
  damages: fc.array(fc.record({ file: fc.nat(), offset: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 6 }),
});

async function segmentNames(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.seg')).sort();
}

async function contents(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of await segmentNames(dir)) files.set(name, await readFile(join(dir, name)));
  return files;
}

/** Start of the final write of a segment, read from its write headers. */
function finalWriteStart(segment: Buffer): number {
  let final = SEGMENT_HEADER_BYTES;
  for (let start = SEGMENT_HEADER_BYTES; start < segment.length; start += WRITE_HEADER_BYTES + Number(segment.readBigUInt64LE(start + 8))) final = start;
  return final;
}

/** A first batch that fills more than one 200-byte segment, so every log spans several. */
const filler = Array.from({ length: 8 }, (_, index) => payload(1000 + index, 30));

/** Builds the log, closed cleanly or (`crashed`) left as a crash right after its last sync leaves it: without its seal. */
async function buildLog(dir: string, batches: readonly (readonly Uint8Array[])[], crashed: boolean): Promise<void> {
  const { wal } = await FileWal.open(dir, { limits });
  for (const batch of batches) await wal.append(batch);
  await wal.close();
  const names = await segmentNames(dir);
  assert.ok(names.length >= 2, `the log spans several segments (${names.length})`);
  if (!crashed) return;
  const last = join(dir, names[names.length - 1] ?? '');
  const content = await readFile(last);
  assert.equal(content.readUInt32LE(content.length - WRITE_HEADER_BYTES + 4), WRITE_FLAG_SEAL);
  await truncate(last, content.length - WRITE_HEADER_BYTES);
}

type Outcome = 'refused' | 'exact' | 'seal cut off' | 'final write cut off';

async function checkDamage(pristine: string, work: string, written: readonly string[], damage: Damage, crashed: boolean): Promise<Outcome> {
  await rm(work, { recursive: true, force: true });
  await cp(pristine, work, { recursive: true });
  const names = await segmentNames(work);
  const name = names[damage.file % names.length] ?? '';
  const lastName = names[names.length - 1] ?? '';
  const original = await readFile(join(work, name));
  const at = damage.offset % original.length;
  const damaged = Buffer.from(original);
  damaged[at] = (damaged[at] ?? 0) ^ damage.mask;
  await writeFile(join(work, name), damaged);
  const what = `${crashed ? 'crashed' : 'sealed'} log, ${name} byte ${at} ^ 0x${damage.mask.toString(16)}`;
  const before = await contents(work);
  let opened;
  try {
    opened = await FileWal.open(work, { limits });
  } catch (error) {
    assert.ok(error instanceof CorruptLogError, `${what}: expected CorruptLogError, got ${String(error)}`);
    assert.ok(error.file.startsWith(work), `${what}: the error names a file of the log: ${error.message}`);
    assert.deepEqual(await contents(work), before, `${what}: a refused open changes nothing`);
    return 'refused';
  }
  await opened.wal.close();
  const recovered = hexes(opened.recovery.payloads);
  if (recovered.length === written.length) {
    assert.deepEqual(recovered, written, `${what}: recovered records differ`);
    // Only a seal can be damaged without losing or refusing anything.
    if (opened.recovery.truncated === null) return 'exact';
    assert.ok(!crashed && name === lastName && at >= original.length - WRITE_HEADER_BYTES, `${what}: only the seal may be cut off`);
    return 'seal cut off';
  }
  // Shorter: allowed only for damage in the final write of a crashed log, cut off whole and reported.
  const finalStart = finalWriteStart(original);
  assert.ok(crashed && name === lastName && at >= finalStart, `${what}: ${written.length - recovered.length} records silently lost`);
  assert.equal(opened.recovery.truncated?.offset, finalStart, `${what}: the cut is reported at the final write's start`);
  assert.deepEqual(recovered, written.slice(0, recovered.length), `${what}: recovered a prefix`);
  return 'final write cut off';
}

describe('WriteAheadLog property: one damaged byte is never a silently shorter log', () => {
  for (const crashed of [false, true]) {
    it(
      crashed
        ? 'a crashed multi-segment log: refused, recovered exactly, or short by exactly its damaged final write, reported'
        : 'a cleanly closed multi-segment log: refused, or recovered exactly',
      (t) =>
        withTempDir(async (dir) => {
          let runs = 0;
          const outcomes = new Map<Outcome, number>();
          await fc.assert(
            fc.asyncProperty(caseArbitrary, async ({ batches, damages }) => {
              runs += 1;
              const pristine = join(dir, `pristine-${runs}`);
              await mkdir(pristine);
              await buildLog(pristine, [filler, ...batches], crashed);
              const written = hexes([filler, ...batches].flat());
              for (const damage of damages) {
                const outcome = await checkDamage(pristine, join(dir, 'work'), written, damage, crashed);
                outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
              }
              await rm(pristine, { recursive: true, force: true });
            }),
            // No shrinking: each try rebuilds a log with real fsyncs, and shrinking
            // a failure took minutes. The failure names the file, byte and mask.
            { numRuns: 15, endOnFailure: true },
          );
          t.diagnostic(`outcomes: ${[...outcomes].map(([outcome, count]) => `${outcome} ${count}`).join(', ')}`);
        }),
    );
  }
});
