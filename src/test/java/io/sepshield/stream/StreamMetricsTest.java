package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import io.sepshield.service.StreamMetrics;
import io.sepshield.service.StreamStats;

class StreamMetricsTest {
  @Test
  void bundleGaugeFollowsTheSupplierAcrossASwap() {
    StreamMetrics metrics = new StreamMetrics(new SimpleMeterRegistry());
    AtomicReference<String> bundle = new AtomicReference<>();
    metrics.followBundle(bundle::get);
    assertTrue(metrics.registry().find(StreamMetrics.BUNDLE).gauges().isEmpty(), "no bundle loaded, no series");
    bundle.set("bundle-a");
    metrics.refresh();
    assertEquals(1, metrics.registry().get(StreamMetrics.BUNDLE).tag("bundle", "bundle-a").gauge().value());
    bundle.set("bundle-b");
    metrics.refresh();
    assertEquals(1, metrics.registry().get(StreamMetrics.BUNDLE).tag("bundle", "bundle-b").gauge().value());
    assertEquals(1, metrics.registry().find(StreamMetrics.BUNDLE).gauges().size(), "the old bundle's series is gone");
    assertEquals("bundle-b", metrics.registry().find(StreamMetrics.BUNDLE).gauges().stream()
        .map(Gauge::getId).findFirst().orElseThrow().getTag("bundle"));
  }

  /**
   * The server refreshes the gauge every second on its own thread while a scrape, or a caller's refresh, may run
   * at the same moment: the served bundle's series must be in every scrape, never briefly removed and re-added.
   */
  @Test
  void bundleSeriesIsInEveryScrapeWhileRefreshesRunConcurrently() throws Exception {
    PrometheusMeterRegistry prometheus = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    StreamMetrics metrics = new StreamMetrics(prometheus);
    AtomicReference<String> bundle = new AtomicReference<>("bundle-a");
    metrics.followBundle(bundle::get);
    AtomicBoolean done = new AtomicBoolean();
    ExecutorService refreshers = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> running = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        running.add(refreshers.submit(() -> {
          while (!done.get()) {
            metrics.refresh();
          }
        }));
      }
      for (int i = 0; i < 2_000; i++) {
        if (i == 1_000) {
          bundle.set("bundle-b");
          metrics.refresh(); // as the hot-swap test does: once this returns, b is the series
        }
        String expected = "sep_shield_model_bundle{bundle=\"bundle-" + (i < 1_000 ? "a" : "b") + "\"} 1.0";
        String scrape = prometheus.scrape().replace(",}", "}");
        int at = i;
        assertTrue(scrape.lines().anyMatch(expected::equals), () -> "scrape " + at + " lacks " + expected);
      }
      done.set(true);
      for (Future<?> f : running) {
        f.get(10, TimeUnit.SECONDS);
      }
    } finally {
      done.set(true);
      refreshers.shutdownNow();
    }
  }

  @Test
  void statsAreReadFromTheMeters() {
    StreamMetrics metrics = new StreamMetrics(new SimpleMeterRegistry());
    metrics.rejected(RejectedUpload.TOO_LARGE, ErrorStrategy.DEAD_LETTER_QUEUE);
    metrics.rejected(RejectedUpload.DECODE_ERROR, ErrorStrategy.DEAD_LETTER_QUEUE);
    metrics.rejected(RejectedUpload.DECODE_ERROR, ErrorStrategy.CONTINUE);
    metrics.batchCrafted(3, 1_000_000);
    metrics.protectedImage(1_000, 3_000);
    StreamStats stats = metrics.stats();
    assertEquals(2, stats.deadLettered());
    assertEquals(1, stats.skipped());
    assertEquals(1, stats.batches());
    assertEquals(1, stats.protectedImages());
    assertEquals(2.0, metrics.registry().get(StreamMetrics.LATENCY).timer().max(TimeUnit.SECONDS));
  }
}
