package io.sepshield.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressTest {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
  /** Fake monotonic clock in nanoseconds, starting at an arbitrary value like System.nanoTime. */
  private final AtomicLong now = new AtomicLong(123_456_789L);

  private Progress plain(String label, long total) {
    return new Progress(label, total, out, false, now::get);
  }

  private List<String> lines() {
    return bytes.toString(StandardCharsets.UTF_8).lines().toList();
  }

  @Test
  void plainModePrintsFewLinesForManyFastSteps() {
    try (Progress p = plain("protect", 10_000)) {
      for (int i = 0; i < 10_000; i++) {
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
        p.metric("loss", 0.42).step(1);
      }
    }
    List<String> lines = lines();
    assertTrue(lines.size() >= 2 && lines.size() <= 12, "lines: " + lines);
    String last = lines.get(lines.size() - 1);
    // 10,000 items in 10 s.
    assertTrue(last.contains("10000/10000"), last);
    assertTrue(last.contains("1000 it/s"), last);
    assertTrue(last.contains("10.0s"), last);
    assertTrue(last.contains("loss=0.4200"), last);
    assertTrue(last.startsWith("protect done"), last);
  }

  @Test
  void plainModeReportsEveryTenPercentAndHeartbeatsOnSlowJobs() {
    try (Progress p = plain("epoch 1/20", 10_000).unit("img")) {
      for (int i = 0; i < 10_000; i++) {
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(100)); // 1000 s in all
        p.step();
      }
    }
    List<String> lines = lines();
    // At least the nine deciles; a heartbeat every 30 s adds ~33; never more than one line per 5 s.
    assertTrue(lines.size() >= 10, "lines: " + lines.size());
    assertTrue(lines.size() <= 1000 / 5 + 1, "lines: " + lines.size());
    for (int pct = 10; pct <= 90; pct += 10) {
      String marker = String.format(" %d.0%%", pct);
      assertTrue(lines.stream().anyMatch(l -> l.contains(marker)), "no line at " + pct + "%");
    }
    String mid = lines.get(lines.size() / 2);
    assertTrue(mid.contains("10.0 img/s") && mid.contains("ETA ") && mid.contains("elapsed "), mid);
    assertTrue(lines.get(lines.size() - 1).contains("10000/10000 in 16:40 (10.0 img/s)"), lines.get(lines.size() - 1));
  }

  @Test
  void interactiveModeRedrawsOneThrottledLine() {
    try (Progress p = new Progress("train", 10_000, out, true, now::get)) {
      for (int i = 0; i < 10_000; i++) {
        now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
        p.step();
      }
    }
    String text = bytes.toString(StandardCharsets.UTF_8);
    long redraws = text.chars().filter(ch -> ch == '\r').count();
    // 10 s at most one redraw per 100 ms, plus the first draw and the summary.
    assertTrue(redraws >= 50 && redraws <= 102, "redraws: " + redraws);
    assertEquals(1, text.chars().filter(ch -> ch == '\n').count(), "everything on one line until the summary");
    assertTrue(text.contains("[##########----------]"), "bar at 50%");
    assertTrue(text.endsWith(System.lineSeparator()));
    String finalLine = text.substring(text.lastIndexOf('\r') + 1).strip();
    assertTrue(finalLine.startsWith("train done: 10000/10000"), finalLine);
  }

  @Test
  void closeReportsStopBeforeTheEndAndOnlyOnce() {
    Progress p = plain("evaluate", 200);
    now.addAndGet(TimeUnit.SECONDS.toNanos(2));
    p.set(50).metric("acc", "91.3%");
    p.close();
    p.close();
    p.step(10); // after close: ignored
    List<String> lines = lines();
    assertEquals(1, lines.size(), "lines: " + lines);
    assertEquals("evaluate stopped at 50/200 (25.0%) in 2.0s (25.0 it/s)  acc=91.3%", lines.get(0));
  }

  @Test
  void unknownTotalShowsCountAndRateOnly() {
    try (Progress p = plain("scan", 0)) {
      for (int i = 0; i < 100; i++) {
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        p.step(3);
      }
    }
    List<String> lines = lines();
    assertTrue(lines.size() >= 3 && lines.size() <= 5, "heartbeats every 30 s: " + lines);
    assertFalse(lines.get(0).contains("%"), lines.get(0));
    assertTrue(lines.get(0).contains("3.00 it/s"), lines.get(0));
    assertEquals("scan done: 300 in 1:40 (3.00 it/s)", lines.get(lines.size() - 1));
  }

  @Test
  void rejectsNegativeProgress() {
    Progress p = plain("x", 10);
    assertThrows(IllegalArgumentException.class, () -> p.step(-1));
    assertThrows(IllegalArgumentException.class, () -> p.set(-5));
    assertThrows(IllegalArgumentException.class, () -> plain("x", -1));
  }

  @Test
  void formatsDurationsAndMetrics() {
    assertEquals("4.2s", Progress.formatDuration(4.23));
    assertEquals("1:05", Progress.formatDuration(65));
    assertEquals("2:03:04", Progress.formatDuration(2 * 3600 + 3 * 60 + 4));
    assertEquals("0.4200", Progress.formatMetric(0.42));
    assertEquals("91.30", Progress.formatMetric(91.3));
    assertEquals("1.000e-04", Progress.formatMetric(1e-4));
    assertEquals("nan", Progress.formatMetric(Double.NaN));
  }

  @Test
  void ciEnvironmentIsNotInteractive() {
    assertTrue(Progress.isCi(Map.of("CI", "true")));
    assertFalse(Progress.isCi(Map.of("CI", "false")));
    assertFalse(Progress.isCi(Map.of()));
  }
}
