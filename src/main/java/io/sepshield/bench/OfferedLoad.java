package io.sepshield.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One phase of the service benchmark: uploads offered at a steady rate, or all at once (saturation), and when each
 * is sent. The schedule is fixed before the phase starts (open loop): upload i is due at i / rate seconds whatever
 * the service does, and its latency is measured from that due time. A producer that falls behind therefore does
 * not hide the service's queueing (coordinated omission).
 *
 * @param perSecond offered uploads per second; {@link Double#POSITIVE_INFINITY} for saturation
 */
public record OfferedLoad(double perSecond) {
  public static final String SATURATE = "saturate";

  public OfferedLoad {
    if (!(perSecond > 0)) {
      throw new IllegalArgumentException("offered rate must be positive, got " + perSecond);
    }
  }

  public static OfferedLoad saturation() {
    return new OfferedLoad(Double.POSITIVE_INFINITY);
  }

  public boolean saturating() {
    return Double.isInfinite(perSecond);
  }

  /** Due times of {@code uploads} uploads in nanoseconds from the start of the phase, non-decreasing. */
  public long[] scheduleNanos(int uploads) {
    long[] due = new long[uploads];
    if (!saturating()) {
      for (int i = 0; i < uploads; i++) {
        due[i] = Math.round(i * 1e9 / perSecond); // from i, not accumulated: no drift over a long phase
      }
    }
    return due;
  }

  /** "5/s" or "saturate". */
  public String label() {
    return saturating() ? SATURATE : String.format(Locale.ROOT, "%s/s", trim(perSecond));
  }

  /** A list like "5,10,saturate" (rates in uploads per second). */
  public static List<OfferedLoad> parseList(String spec) {
    List<OfferedLoad> loads = new ArrayList<>();
    for (String part : spec.split(",")) {
      String s = part.trim().toLowerCase(Locale.ROOT);
      if (s.isEmpty()) {
        continue;
      }
      if (s.equals(SATURATE) || s.equals("max")) {
        loads.add(saturation());
        continue;
      }
      double rate;
      try {
        rate = Double.parseDouble(s.endsWith("/s") ? s.substring(0, s.length() - 2) : s);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--rate takes uploads per second or 'saturate', got '" + part + "'");
      }
      if (!(rate > 0) || Double.isInfinite(rate)) {
        throw new IllegalArgumentException("--rate must be positive and finite (or 'saturate'), got '" + part + "'");
      }
      loads.add(new OfferedLoad(rate));
    }
    if (loads.isEmpty()) {
      throw new IllegalArgumentException("--rate names no load");
    }
    return loads;
  }

  private static String trim(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }
}
