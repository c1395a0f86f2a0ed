package io.sepshield.stream;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.streams.KafkaStreams;

/**
 * The protection stream's meters on one Micrometer registry: a Prometheus registry in {@code serve}, a simple
 * in-memory one in {@code stream-demo} and tests. {@link StreamStats} reads its figures from these meters, so there
 * is one source of truth.
 *
 * <p>Names are Micrometer's dotted form; Prometheus renders {@code sep.shield.images.protected} as
 * {@code sep_shield_images_protected_total} and timers in seconds. Images are counted when they are forwarded,
 * inside the exactly-once transaction: a transaction that aborts (registry outage, crash) is redone and counted
 * again, so the counters count attempts, an upper bound on what read_committed consumers see.
 */
public final class StreamMetrics {
  public static final String PROTECTED = "sep.shield.images.protected";
  /** Tags {@code reason} (a {@link RejectedUpload} code) and {@code action} (dead-letter-queue, continue, fail). */
  public static final String REJECTED = "sep.shield.uploads.rejected";
  public static final String BATCH_SIZE = "sep.shield.batch.size";
  public static final String CRAFTING = "sep.shield.batch.crafting";
  /** Kafka record timestamp of the upload (producer time) to the protected record being forwarded. */
  public static final String LATENCY = "sep.shield.image.latency";
  /** Value 1, tag {@code bundle}: the bundle the stream protects with now. */
  public static final String BUNDLE = "sep.shield.model.bundle";

  private final MeterRegistry registry;
  private final Counter protectedImages;
  private final DistributionSummary batchSize;
  private final Timer crafting;
  private final Timer latency;
  private final MultiGauge bundle;
  private volatile Supplier<String> bundleId = () -> null;

  /** On an in-memory registry, for callers that only read {@link #stats()}. */
  public StreamMetrics() {
    this(new SimpleMeterRegistry());
  }

  public StreamMetrics(MeterRegistry registry) {
    this.registry = registry;
    protectedImages = Counter.builder(PROTECTED).description("Protected images forwarded to the protected topic")
        .register(registry);
    batchSize = DistributionSummary.builder(BATCH_SIZE).description("Images per crafted batch")
        .baseUnit("images").publishPercentileHistogram().minimumExpectedValue(1.0).maximumExpectedValue(4096.0)
        .register(registry);
    // Crafting takes from milliseconds (tiny models) to minutes (paper profile on a CPU).
    crafting = Timer.builder(CRAFTING).description("SEP crafting time per batch").publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofMinutes(15)).register(registry);
    latency = Timer.builder(LATENCY).description("Upload record timestamp to protected image forwarded")
        .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofHours(1)).register(registry);
    bundle = MultiGauge.builder(BUNDLE).description("Bundle in use (value 1, id in the bundle tag)")
        .register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** The figures the demo and tests read, from these meters. */
  public StreamStats stats() {
    return new StreamStats(this);
  }

  /**
   * Makes the bundle gauge follow {@code id}, read on every {@link #refresh()}; a supplier rather than a value so
   * that a bundle swap shows without re-registering anything.
   */
  public void followBundle(Supplier<String> id) {
    bundleId = id;
    refresh();
  }

  /** Re-reads the values behind the gauges (call before a scrape): the bundle id. */
  public void refresh() {
    String id = bundleId.get();
    bundle.register(id == null ? List.of() : List.of(MultiGauge.Row.of(Tags.of("bundle", id), 1)), true);
  }

  /**
   * Creates the rejection counters of {@code strategy} for every reason at zero, so a rate or an alert on them has a
   * series before the first bad upload.
   */
  public void expectRejections(ErrorStrategy strategy) {
    for (String reason : RejectedUpload.REASONS) {
      rejections(reason, strategy);
    }
  }

  /**
   * Binds the Kafka clients' own metrics (consumer {@code records-lag-max}, producer, stream-thread and task metrics)
   * as {@code kafka.*} gauges; close the result when the streams client goes away.
   */
  public AutoCloseable bindKafkaClient(KafkaStreams streams) {
    KafkaStreamsMetrics kafka = new KafkaStreamsMetrics(streams);
    kafka.bindTo(registry);
    return kafka;
  }

  void protectedImage(long uploadTimestampMs, long nowMs) {
    protectedImages.increment();
    // A producer clock ahead of ours would give a negative latency; that says nothing useful, so it counts as 0.
    latency.record(Math.max(0, nowMs - uploadTimestampMs), TimeUnit.MILLISECONDS);
  }

  void rejected(String reason, ErrorStrategy strategy) {
    rejections(reason, strategy).increment();
  }

  void batchCrafted(int images, long nanos) {
    batchSize.record(images);
    crafting.record(nanos, TimeUnit.NANOSECONDS);
  }

  long protectedCount() {
    return (long) protectedImages.count();
  }

  long rejectedCount(ErrorStrategy strategy) {
    return (long) registry.find(REJECTED).tag("action", action(strategy)).counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  long batchCount() {
    return batchSize.count();
  }

  private Counter rejections(String reason, ErrorStrategy strategy) {
    // The registry keeps one counter per tag set, so this is a lookup after the first call.
    return Counter.builder(REJECTED).description("Uploads that could not be protected, by reason and action")
        .tag("reason", reason).tag("action", action(strategy)).register(registry);
  }

  private static String action(ErrorStrategy strategy) {
    return strategy.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
