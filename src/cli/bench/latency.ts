/**
 * Latency recording: an HDR histogram (hdr-histogram-js, its pure-JavaScript implementation)
 * per worker, in nanoseconds with three significant digits, merged in the main thread from
 * the non-empty buckets each worker sends.
 */
import { build, type JsHistogram } from 'hdr-histogram-js';

/** The longest latency recorded exactly: 60 s in nanoseconds (the histogram grows beyond it). */
export const LATENCY_HIGHEST_NS = 60e9;

/** Three significant digits: a value is recorded within 0.1 % of itself. */
export const LATENCY_SIGNIFICANT_DIGITS = 3;

/** A latency histogram in nanoseconds. */
export function createLatencyHistogram(): JsHistogram {
  return build({
    useWebAssembly: false,
    // float64 counts: exact far beyond 2^31 samples in one bucket.
    bitBucketSize: 64,
    lowestDiscernibleValue: 1,
    highestTrackableValue: LATENCY_HIGHEST_NS,
    numberOfSignificantValueDigits: LATENCY_SIGNIFICANT_DIGITS,
    autoResize: true,
  }) as JsHistogram;
}

/** The histogram's non-empty buckets as `[value, count, value, count, …]`, to post to another thread. */
export function histogramBuckets(histogram: JsHistogram): number[] {
  const buckets: number[] = [];
  const length = histogram.countsArrayLength;
  for (let index = 0; index < length; index++) {
    const count = histogram.getCountAtIndex(index);
    if (count > 0) buckets.push(histogram.valueFromIndex(index), count);
  }
  return buckets;
}

/** Add buckets from `histogramBuckets` into `histogram`. */
export function addBuckets(histogram: JsHistogram, buckets: readonly number[]): void {
  for (let i = 0; i + 1 < buckets.length; i += 2) histogram.recordValueWithCount(buckets[i]!, buckets[i + 1]!);
}

/** Latency percentiles, in microseconds. */
export interface LatencySummary {
  /** Round trips recorded. */
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
}

/**
 * The percentiles of `histogram` (nanoseconds) in microseconds; all zero when it is empty.
 * Percentiles are the highest value of their bucket (HDR convention), so min and max are
 * reported the same way, as HdrHistogram's Java `getMinValue`/`getMaxValue` do: then
 * min ≤ p50 ≤ … ≤ p99.9 ≤ max always holds.
 */
export function summarizeLatency(histogram: JsHistogram): LatencySummary {
  const count = histogram.totalCount;
  if (count === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  const us = (ns: number): number => Math.round(ns) / 1000;
  return {
    count,
    min: us(histogram.lowestEquivalentValue(histogram.minNonZeroValue)),
    mean: us(histogram.mean),
    p50: us(histogram.getValueAtPercentile(50)),
    p90: us(histogram.getValueAtPercentile(90)),
    p99: us(histogram.getValueAtPercentile(99)),
    p999: us(histogram.getValueAtPercentile(99.9)),
    max: us(histogram.highestEquivalentValue(histogram.maxValue)),
  };
}
