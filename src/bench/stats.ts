/**
 * Latency statistics for the benchmark. Latencies are recorded in an HDR
 * histogram (microsecond units, 3 significant digits: every reported
 * percentile is within 0.1% of the exact value), so recording costs the same
 * at 10 ops/s and at 100 000 ops/s and memory stays bounded.
 *
 * `percentile` and `median` over plain arrays serve the small samples of the
 * floor measurements (ping-pong round trips, fsyncs), where exact values are
 * cheap.
 */
import * as hdr from 'hdr-histogram-js';
import { assert } from '../core/assert.js';

/** The longest latency recorded exactly; longer ones are clamped to it (60 s). */
const LATENCY_MICROS_MAX = 60_000_000;

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export const EMPTY_SUMMARY: LatencySummary = Object.freeze({ count: 0, meanMs: 0, p50Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 });

export class LatencyRecorder {
  private readonly histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_MICROS_MAX,
    numberOfSignificantValueDigits: 3,
  });

  /** Records one latency; sub-microsecond values count as 1 µs. */
  recordMs(latencyMs: number): void {
    assert(Number.isFinite(latencyMs) && latencyMs >= 0, () => `a latency must be a finite non-negative number, got ${latencyMs}`);
    const micros = Math.min(LATENCY_MICROS_MAX, Math.max(1, Math.round(latencyMs * 1000)));
    this.histogram.recordValue(micros);
  }

  get count(): number {
    return this.histogram.totalCount;
  }

  summary(): LatencySummary {
    if (this.histogram.totalCount === 0) return EMPTY_SUMMARY;
    // A percentile is reported as the top of its bucket, which may exceed the largest value recorded.
    const maxMicros = this.histogram.maxValue;
    const at = (percent: number): number => Math.min(this.histogram.getValueAtPercentile(percent), maxMicros) / 1000;
    return {
      count: this.histogram.totalCount,
      meanMs: this.histogram.mean / 1000,
      p50Ms: at(50),
      p99Ms: at(99),
      p999Ms: at(99.9),
      maxMs: maxMicros / 1000,
    };
  }

  reset(): void {
    this.histogram.reset();
  }

  /** Frees the histogram's storage (the WebAssembly variant needs it; harmless here). */
  destroy(): void {
    this.histogram.destroy();
  }
}

/**
 * The nearest-rank percentile of ascending `sorted` values: the smallest value
 * with at least `fraction` of the sample at or below it. 0 for an empty sample.
 */
export function percentile(sorted: readonly number[], fraction: number): number {
  assert(fraction >= 0 && fraction <= 1, () => `a percentile fraction must be in [0, 1], got ${fraction}`);
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(fraction * sorted.length));
  return sorted[rank - 1] as number;
}

/** The median of `values` (any order): the mean of the middle two for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] as number;
  return ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** a / b, or null when either is missing or b is 0 (a ratio that says nothing is not printed). */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined || b === 0 || !Number.isFinite(a) || !Number.isFinite(b)) return null;
  return a / b;
}
