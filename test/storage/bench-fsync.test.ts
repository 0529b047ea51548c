/** The fsync benchmark runs in a bounded temp dir, cleans up, and reports consistent numbers. */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { formatFsyncResult, measureFsync } from '../../src/storage/bench-fsync.js';
import { withTempDir } from './helpers.js';

describe('measureFsync', () => {
  it('measures a bounded number of synced writes and removes its scratch directory', () =>
    withTempDir(async (dir) => {
      const result = await measureFsync({ parentDir: dir, syncs: 20, writeBytes: 512 });
      assert.equal(result.syncs, 20);
      assert.ok(result.medianMs > 0 && result.medianMs <= result.p99Ms && result.p99Ms <= result.maxMs, JSON.stringify(result));
      assert.ok(Math.abs(result.syncsPerSecond - 1000 / result.medianMs) < 1e-6);
      assert.deepEqual(await readdir(dir), []);
      assert.match(formatFsyncResult(result), /median .* ms, p99 .* syncs\/s/);
      await assert.rejects(measureFsync({ syncs: 10_001 }), /syncs must be in 1\.\.10000/);
    }));
});
