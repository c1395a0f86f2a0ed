package io.sepshield.bench;

import java.util.Arrays;

/** Summaries of per-round rates: the benchmarks report the median, with min and max as the spread. */
final class Rates {
  private Rates() {}

  static double median(double[] rates) {
    double[] s = rates.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }

  static double min(double[] rates) {
    return Arrays.stream(rates).min().orElse(Double.NaN);
  }

  static double max(double[] rates) {
    return Arrays.stream(rates).max().orElse(Double.NaN);
  }
}
