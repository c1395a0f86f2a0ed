package io.sepshield.report;

import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Console progress for long jobs (an epoch, protecting a data set, an evaluation): done/total, percent, rate, elapsed
 * time, ETA and optional metrics such as {@code loss=0.4200 acc=91.3%}.
 *
 * <p>On an interactive terminal one line is redrawn in place with a bar. In logs and CI, where a carriage return
 * does not redraw anything, a plain line is printed when another 10 % is done or, for slow jobs, as a heartbeat every
 * 30 s, and never more often than every 5 s; so a job prints a few lines, not one per batch. {@link #close()}
 * prints the summary line.
 *
 * <pre>{@code
 * try (Progress p = new Progress("epoch 3/20", trainSize).unit("img")) {
 *   for (...) {
 *     p.metric("loss", loss).step(batchSize);
 *   }
 * }
 * }</pre>
 *
 * Methods are synchronized, so one thread may step while another reads or closes; it is meant for one producer.
 */
public final class Progress implements AutoCloseable {
  static final long PLAIN_MIN_GAP_NANOS = Duration.ofSeconds(5).toNanos();
  static final long PLAIN_HEARTBEAT_NANOS = Duration.ofSeconds(30).toNanos();
  /** Redrawing faster than the eye can read only costs terminal output. */
  static final long REDRAW_NANOS = Duration.ofMillis(100).toNanos();
  private static final double RATE_SETTLE_SECONDS = 0.5;
  private static final int BAR_WIDTH = 20;
  private static final int DEFAULT_TERMINAL_WIDTH = 120;

  private final String label;
  private final long total;
  private final PrintStream out;
  private final boolean interactive;
  private final LongSupplier clock;
  private final long start;
  private final Map<String, String> metrics = new LinkedHashMap<>();
  private final int terminalWidth;
  private String unit = "it";
  private long done;
  private long lastPrint;
  private boolean printedOnce;
  private int printedDecile;
  private int lastLineLength;
  private boolean closed;

  /** Progress on System.err, redrawn in place when it is an interactive terminal. */
  public Progress(String label, long total) {
    this(label, total, System.err);
  }

  public Progress(String label, long total, PrintStream out) {
    this(label, total, out, isInteractiveTerminal(), System::nanoTime);
  }

  /**
   * @param total number of items, or 0 when unknown (then no percent, bar or ETA)
   * @param interactive redraw one line with a bar, rather than print throttled plain lines
   * @param nanoClock monotonic time in nanoseconds ({@code System::nanoTime}); tests pass a fake one
   */
  public Progress(String label, long total, PrintStream out, boolean interactive, LongSupplier nanoClock) {
    if (total < 0) {
      throw new IllegalArgumentException("total must not be negative: " + total);
    }
    this.label = label == null ? "" : label;
    this.total = total;
    this.out = out;
    this.interactive = interactive;
    this.clock = nanoClock;
    this.start = nanoClock.getAsLong();
    this.lastPrint = start;
    this.terminalWidth = terminalWidth();
  }

  /**
   * Whether System.err is likely a terminal a human watches: there is a console, the build does not run in CI
   * (CI sets {@code CI}) and the terminal can move the cursor.
   */
  public static boolean isInteractiveTerminal() {
    return System.console() != null && !isCi(System.getenv()) && !"dumb".equals(System.getenv("TERM"));
  }

  static boolean isCi(Map<String, String> env) {
    String ci = env.get("CI");
    return ci != null && !ci.isBlank() && !ci.equalsIgnoreCase("false") && !ci.equals("0");
  }

  /** Name of the items in the rate, e.g. "img" for "850 img/s"; default "it". */
  public synchronized Progress unit(String unit) {
    this.unit = unit == null || unit.isBlank() ? "it" : unit.strip();
    return this;
  }

  public synchronized Progress step() {
    return step(1);
  }

  /** n more items are done. */
  public synchronized Progress step(long n) {
    if (n < 0) {
      throw new IllegalArgumentException("step must not be negative: " + n);
    }
    return set(done + n);
  }

  /** done items in all are done. */
  public synchronized Progress set(long done) {
    if (done < 0) {
      throw new IllegalArgumentException("done must not be negative: " + done);
    }
    this.done = done;
    report();
    return this;
  }

  /** Sets a metric shown after the counts, e.g. metric("loss", 0.42); shown from the next update on. */
  public synchronized Progress metric(String key, double value) {
    return metric(key, formatMetric(value));
  }

  /** Sets a metric already formatted by the caller, e.g. metric("acc", "91.3%"). */
  public synchronized Progress metric(String key, String value) {
    metrics.put(key, value);
    return this;
  }

  public synchronized long done() {
    return done;
  }

  public long total() {
    return total;
  }

  /** Prints the summary line (once): the count, the time taken, the mean rate and the last metrics. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    String line = summaryLine();
    if (interactive) {
      out.print("\r" + padded(line) + System.lineSeparator());
    } else {
      out.println(line);
    }
    out.flush();
  }

  private void report() {
    if (closed) {
      return;
    }
    long now = clock.getAsLong();
    long sinceLast = now - lastPrint;
    if (interactive) {
      if (!printedOnce || sinceLast >= REDRAW_NANOS) {
        String line = fit(progressLine(now, true));
        out.print("\r" + padded(line));
        out.flush();
        lastLineLength = line.length();
        markPrinted(now);
      }
      return;
    }
    int decile = total > 0 ? (int) Math.min(10, Math.floor(10.0 * done / total)) : 0;
    boolean newDecile = decile > printedDecile && decile < 10; // 100 % is the summary's job
    if (sinceLast >= PLAIN_MIN_GAP_NANOS && (newDecile || sinceLast >= PLAIN_HEARTBEAT_NANOS)) {
      out.println(progressLine(now, false));
      out.flush();
      printedDecile = decile;
      markPrinted(now);
    }
  }

  private void markPrinted(long now) {
    lastPrint = now;
    printedOnce = true;
  }

  private String progressLine(long now, boolean bar) {
    double seconds = (now - start) / 1e9;
    StringBuilder s = new StringBuilder(label);
    if (bar && total > 0) {
      int filled = (int) Math.min(BAR_WIDTH, Math.round((double) BAR_WIDTH * done / total));
      s.append(" [").append("#".repeat(filled)).append("-".repeat(BAR_WIDTH - filled)).append(']');
    }
    s.append("  ").append(done);
    if (total > 0) {
      s.append('/').append(total).append(String.format(Locale.ROOT, "  %5.1f%%", 100.0 * done / total));
    }
    // The first half second says little about the rate, so neither rate nor ETA is guessed from it.
    boolean settled = seconds >= RATE_SETTLE_SECONDS && done > 0;
    s.append("  ").append(settled ? rate(seconds) : "- " + unit + "/s");
    s.append("  elapsed ").append(formatDuration(seconds));
    if (total > 0) {
      s.append("  ETA ");
      if (done >= total) {
        s.append(formatDuration(0));
      } else if (!settled) {
        s.append('?');
      } else {
        s.append(formatDuration(seconds * (total - done) / done));
      }
    }
    appendMetrics(s);
    return s.toString();
  }

  private String summaryLine() {
    double seconds = (clock.getAsLong() - start) / 1e9;
    StringBuilder s = new StringBuilder(label);
    if (total == 0 || done >= total) {
      s.append(" done: ").append(done);
      if (total > 0) {
        s.append('/').append(total);
      }
    } else {
      s.append(" stopped at ").append(done).append('/').append(total)
          .append(String.format(Locale.ROOT, " (%.1f%%)", 100.0 * done / total));
    }
    s.append(" in ").append(formatDuration(seconds)).append(" (").append(rate(seconds)).append(')');
    appendMetrics(s);
    return s.toString();
  }

  private void appendMetrics(StringBuilder s) {
    if (!metrics.isEmpty()) {
      s.append(' ');
      metrics.forEach((k, v) -> s.append(' ').append(k).append('=').append(v));
    }
  }

  private String rate(double seconds) {
    if (seconds <= 0) {
      return "- " + unit + "/s";
    }
    double r = done / seconds;
    String value = r >= 100 ? String.format(Locale.ROOT, "%.0f", r)
        : r >= 10 ? String.format(Locale.ROOT, "%.1f", r) : String.format(Locale.ROOT, "%.2f", r);
    return value + " " + unit + "/s";
  }

  /** Spaces over the rest of a longer previous line, since \r only moves the cursor back. */
  private String padded(String line) {
    return line.length() >= lastLineLength ? line : line + " ".repeat(lastLineLength - line.length());
  }

  /** A redrawn line must not wrap, or every redraw would leave a line behind. */
  private String fit(String line) {
    return line.length() < terminalWidth ? line : line.substring(0, terminalWidth - 4) + "...";
  }

  private static int terminalWidth() {
    try {
      int columns = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", ""));
      return columns >= 40 ? columns : DEFAULT_TERMINAL_WIDTH;
    } catch (NumberFormatException e) {
      return DEFAULT_TERMINAL_WIDTH;
    }
  }

  /** 4.2s under a minute, else m:ss or h:mm:ss. */
  static String formatDuration(double seconds) {
    if (seconds < 60) {
      return String.format(Locale.ROOT, "%.1fs", Math.max(0, seconds));
    }
    long s = Math.round(seconds);
    if (s < 3600) {
      return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60);
  }

  static String formatMetric(double v) {
    double a = Math.abs(v);
    if (Double.isNaN(v)) {
      return "nan";
    }
    if (a == 0 || Double.isInfinite(v)) {
      return a == 0 ? "0" : (v > 0 ? "inf" : "-inf");
    }
    if (a >= 1000) {
      return String.format(Locale.ROOT, "%.0f", v);
    }
    if (a >= 10) {
      return String.format(Locale.ROOT, "%.2f", v);
    }
    if (a >= 0.01) {
      return String.format(Locale.ROOT, "%.4f", v);
    }
    return String.format(Locale.ROOT, "%.3e", v);
  }
}
