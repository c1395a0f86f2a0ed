package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
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
    assertEquals(2.0, metrics.registry().get(StreamMetrics.LATENCY).timer().max(java.util.concurrent.TimeUnit.SECONDS));
  }
}
