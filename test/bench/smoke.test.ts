// A real, short run of the benchmark against a 1-node Synod: the JSON it
// writes holds sane numbers. It asserts nothing about speed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBench } from '../../src/bench/bench.js';
import type { BenchReport } from '../../src/bench/report.js';
import type { CliIo } from '../../src/cli/io.js';

test('a 1-second bench of a 1-node Synod writes JSON with operations, ordered percentiles and CPU figures', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'synod-bench-test-'));
  let out = '';
  const io: CliIo = {
    out: (text) => void (out += `${text}\n`),
    write: () => assert.fail('no progress output when not on a terminal'),
    err: (text) => void (out += `${text}\n`),
    isTTY: false,
    now: () => performance.now(),
    setExitCode: () => undefined,
  };
  try {
    const outcome = await runBench(
      {
        systems: ['synod'],
        workloads: ['put', 'get', 'lock'],
        concurrency: [1, 4],
        warmupMs: 200,
        durationMs: 1_000,
        nodes: 1,
        target: 'leader',
        channels: null,
        floors: null,
        profileDir: null,
        keepData: false,
        readLease: true,
        out: join(dir, 'results.json'),
        svg: join(dir, 'results.svg'),
        command: 'synod bench (test)',
      },
      io,
    );
    assert.equal(outcome.exitCode, 0, out);
    const report = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchReport;
    const measured = report.points.filter((p) => p.skipped === null);
    assert.equal(measured.filter((p) => p.workload !== 'lock').length, 4, out);
    for (const p of measured) {
      const where = `${p.workload} c=${p.concurrency}`;
      assert.equal(p.system, 'synod');
      assert.ok(p.ops > 0 && p.opsPerSecond > 0, `${where}: no operations`);
      assert.equal(p.latency.count, p.ops, `${where}: every counted op has a latency`);
      assert.ok(p.latency.p50Ms > 0 && p.latency.p50Ms <= p.latency.p99Ms && p.latency.p99Ms <= p.latency.p999Ms && p.latency.p999Ms <= p.latency.maxMs, `${where}: ${JSON.stringify(p.latency)}`);
      assert.ok(p.cpu.serverMsPerOp === null || p.cpu.serverMsPerOp >= 0, `${where}: negative CPU`);
      if (process.platform === 'linux') assert.ok(p.cpu.serverSeconds !== null, `${where}: no server CPU read from /proc`);
      assert.ok(p.synod !== null, `${where}: the leader's counters were not read`);
    }
    const putPoints = measured.filter((p) => p.workload === 'put');
    assert.ok(putPoints.every((p) => (p.synod?.slotsPerSecond ?? 0) > 0), 'puts decide slots');
    // Lock may not be served by this Synod yet: then its point is skipped with a note, not failed.
    for (const lock of report.points.filter((p) => p.workload === 'lock' && p.skipped !== null)) assert.match(lock.skipped ?? '', /^grpc 12/);
    assert.match(readFileSync(join(dir, 'results.svg'), 'utf8'), /<svg xmlns/);
    assert.match(out, /put\s+1 \|/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
