package io.sepshield.bench;

import java.util.Arrays;

/**
 * Latency percentiles by the nearest-rank method: the p-th percentile of n sorted values is the value at rank
 * ⌈p/100 · n⌉ (1-based), so it is always a latency that was measured, never an interpolation between two. Written
 * here rather than taken from a metrics library because the benchmark needs exact percentiles of a few hundred
 * samples, not the bucketed estimates of HdrHistogram or Micrometer timers.
 */
public record LatencyStats(double[] sortedMs) {

  public LatencyStats {
    sortedMs = sortedMs.clone();
    Arrays.sort(sortedMs);
  }

  public static LatencyStats of(double[] ms) {
    return new LatencyStats(ms);
  }

  public int count() {
    return sortedMs.length;
  }

  /** @param p in (0, 100]; NaN when there are no samples */
  public double percentile(double p) {
    if (!(p > 0 && p <= 100)) {
      throw new IllegalArgumentException("percentile must be in (0, 100], got " + p);
    }
    if (sortedMs.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100.0 * sortedMs.length);
    return sortedMs[Math.max(1, rank) - 1];
  }

  public double max() {
    return sortedMs.length == 0 ? Double.NaN : sortedMs[sortedMs.length - 1];
  }

  public double mean() {
    return sortedMs.length == 0 ? Double.NaN : Arrays.stream(sortedMs).average().orElse(Double.NaN);
  }
}
