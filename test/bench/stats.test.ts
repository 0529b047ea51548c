// The statistics the benchmark prints: percentiles on data whose answers are
// known, CPU figures parsed from /proc text, and profile summaries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatencyRecorder, median, percentile, ratio } from '../../src/bench/stats.js';
import { parseMachineCpu, parseProcStatTimes, processCpuSeconds } from '../../src/bench/proc-cpu.js';
import { compare } from '../../src/bench/report.js';
import { summarizeProfile, moduleOf, type CpuProfile } from '../../src/bench/cpuprofile.js';
import type { PointResult } from '../../src/bench/runner.js';

/** HDR keeps 3 significant digits: every value it reports is within 0.1% of the exact one. */
function near(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= expected * 0.001 + 0.001, `${what}: ${actual} is not within 0.1% of ${expected}`);
}

test('the recorder reports the percentiles of 1..1000 ms within 0.1%', () => {
  const recorder = new LatencyRecorder();
  // Shuffled order: percentiles must not depend on arrival order.
  for (let i = 0; i < 1000; i += 1) recorder.recordMs(((i * 617) % 1000) + 1);
  const s = recorder.summary();
  assert.equal(s.count, 1000);
  near(s.p50Ms, 500, 'p50');
  near(s.p99Ms, 990, 'p99');
  near(s.p999Ms, 999, 'p99.9');
  near(s.maxMs, 1000, 'max');
  near(s.meanMs, 500.5, 'mean');
  recorder.destroy();
});

test('a skewed sample puts the tail where it is: 990 fast ops and 10 slow ones', () => {
  const recorder = new LatencyRecorder();
  for (let i = 0; i < 990; i += 1) recorder.recordMs(0.25);
  for (let i = 0; i < 10; i += 1) recorder.recordMs(80);
  const s = recorder.summary();
  near(s.p50Ms, 0.25, 'p50');
  near(s.p99Ms, 0.25, 'p99 (the 990th value is still fast)');
  near(s.p999Ms, 80, 'p99.9');
  assert.ok(s.p50Ms <= s.p99Ms && s.p99Ms <= s.p999Ms && s.p999Ms <= s.maxMs);
});

test('an empty recorder reports zeros, and sub-microsecond or huge latencies are clamped, not lost', () => {
  const recorder = new LatencyRecorder();
  assert.equal(recorder.summary().count, 0);
  assert.equal(recorder.summary().p99Ms, 0);
  recorder.recordMs(0);
  recorder.recordMs(10 * 60_000);
  assert.equal(recorder.count, 2);
  assert.throws(() => recorder.recordMs(Number.NaN), /finite non-negative/);
});

test('nearest-rank percentile and median on small known samples', () => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  assert.equal(percentile(sorted, 0.5), 5);
  assert.equal(percentile(sorted, 0.9), 9);
  assert.equal(percentile(sorted, 0.99), 10);
  assert.equal(percentile(sorted, 0), 1);
  assert.equal(percentile([], 0.5), 0);
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(ratio(6, 3), 2);
  assert.equal(ratio(1, 0), null);
  assert.equal(ratio(null, 3), null);
});

test('/proc/<pid>/stat is parsed from after the last parenthesis, even when the command name has spaces', () => {
  const line = '1234 (node (worker) x) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 75 0 0 20 0 11 0 100 0 0';
  assert.deepEqual(parseProcStatTimes(line), { userTicks: 250, systemTicks: 75 });
  assert.throws(() => parseProcStatTimes('garbage'), /no "\)"/);
  const machine = parseMachineCpu('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n', 100);
  assert.equal(machine.busySeconds, 1.5);
  assert.equal(machine.totalSeconds, 10);
  if (process.platform === 'linux') assert.ok((processCpuSeconds(process.pid) ?? -1) >= 0);
  assert.equal(processCpuSeconds(2 ** 31 - 2), null);
});

function point(system: 'synod' | 'etcd', opsPerSecond: number, p50Ms: number): PointResult {
  return {
    system,
    workload: 'put',
    concurrency: 16,
    endpoints: [],
    windowSeconds: 1,
    ops: opsPerSecond,
    opsPerSecond,
    errors: 0,
    errorSamples: [],
    latency: { count: opsPerSecond, meanMs: p50Ms, p50Ms, p99Ms: p50Ms * 2, p999Ms: p50Ms * 3, maxMs: p50Ms * 4 },
    cpu: { serverSeconds: 1, serverMsPerOp: 1000 / opsPerSecond, serverCores: 1, leaderCores: 0.5, serverKernelShare: 0.2, clientMsPerOp: 0.1, clientCores: 0.1, machineBusyCores: 1.2, otherCores: 0 },
    synod: null,
    skipped: null,
  };
}

test('comparisons divide synod by etcd for the same workload and concurrency', () => {
  const [c] = compare([point('synod', 2000, 1), point('etcd', 1000, 2)]);
  assert.ok(c !== undefined);
  assert.equal(c.opsPerSecond, 2);
  assert.equal(c.p50, 0.5);
  assert.equal(c.p99, 0.5);
  assert.equal(c.serverCpuPerOp, 0.5);
  assert.equal(c.otherCoresDifference, 0);
  assert.deepEqual(compare([point('synod', 2000, 1)]), [], 'no pair, no ratio');
});

test('a profile summary charges each sample\'s time to its function and its callers', () => {
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 4] },
      { id: 2, callFrame: frame('outer', 'file:///x/dist/src/a.js'), children: [3] },
      { id: 3, callFrame: frame('inner', 'file:///x/node_modules/@grpc/grpc-js/build/src/b.js') },
      { id: 4, callFrame: frame('(idle)', '') },
    ],
    samples: [3, 3, 2, 4],
    timeDeltas: [1000, 1000, 3000, 5000],
    startTime: 0,
    endTime: 9000,
  };
  const summary = summarizeProfile(profile);
  assert.equal(summary.totalMs, 10);
  assert.equal(summary.busyMs, 5);
  assert.deepEqual(summary.selfByFunction.map((e) => [e.name, e.ms]), [['outer src/a.js:1', 3], ['inner @grpc/grpc-js:1', 2]]);
  assert.equal(summary.inclusiveByFunction[0]?.name, 'outer src/a.js:1');
  assert.equal(summary.inclusiveByFunction[0]?.ms, 5);
  assert.equal(moduleOf('node:internal/http2/core'), 'node:internal/http2/core');
});
