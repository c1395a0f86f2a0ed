package io.sepshield.service;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sepshield.lifecycle.BundleHolder;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.KafkaStreams;
import io.sepshield.stream.RejectedUpload;
import io.sepshield.stream.ErrorStrategy;

/**
 * The service's meters on one Micrometer registry: the protection stream's, the served bundle's and the Kafka
 * clients' own. In the application that is Quarkus' registry, scraped on {@code /q/metrics} (with Quarkus' JVM and
 * process meters beside them); outside it (tests, tools) a simple in-memory one. {@link StreamStats} reads its figures from these meters, so there
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
  /**
   * Batches whose crafting took longer than their budget ({@code slowest-batch}, or their pixels at
   * {@code seconds-per-megapixel} when longer): the poll and transaction timeouts are sized from that budget.
   */
  public static final String OVER_BUDGET = "sep.shield.batch.over.budget";
  /** Crafting time of a batch as a fraction of its budget (1 = all of it). */
  public static final String BUDGET_USED = "sep.shield.batch.budget.used";
  /** Engine calls that threw (each is retried or bisected; images failing alone are dead-lettered). */
  public static final String ENGINE_FAILURES = "sep.shield.batch.engine.failures";
  /**
   * Batches a task crafted without waiting for its stream thread's turn because its buffer passed its cap: a second
   * batch in that loop. Zero unless the service falls behind with many image shapes at once.
   */
  public static final String OVERFLOW = "sep.shield.batch.overflow";
  /**
   * Stream-thread time around crafting, tag {@code stage}: {@code arrival} (reading, checking and decoding an upload,
   * buffering it), {@code prepare} (assembling a batch: buffer scan, decoding what was not kept from arrival),
   * {@code deliver} (ε check, PNG, Avro and forwarding of a crafted batch). With {@link #CRAFTING} they add up to the
   * time the processor holds the thread; the rest is Kafka's (poll, commit, waiting for records).
   */
  public static final String STAGE = "sep.shield.stage";
  /** Kafka record timestamp of the upload (producer time) to the protected record being forwarded. */
  public static final String LATENCY = "sep.shield.image.latency";
  /** Value 1, tag {@code bundle}: the bundle the stream protects with now. */
  public static final String BUNDLE = "sep.shield.model.bundle";
  public static final String SWAPS = "sep.shield.bundle.swaps";
  public static final String REFUSALS = "sep.shield.bundle.refusals";
  /** Kafka's consumer metric: seconds since the consumer's last {@code poll()}, i.e. since its thread came back. */
  private static final String LAST_POLL = "last-poll-seconds-ago";

  private final MeterRegistry registry;
  private final Counter protectedImages;
  private final DistributionSummary batchSize;
  private final Timer crafting;
  private final Timer latency;
  private final Counter overBudget;
  private final DistributionSummary budgetUsed;
  private final Counter engineFailures;
  private final Counter overflow;
  private final MultiGauge bundle;
  private final Map<Stage, Timer> stages = new java.util.EnumMap<>(Stage.class);

  /** The stages of {@link #STAGE}. */
  public enum Stage {
    ARRIVAL, PREPARE, DELIVER;

    String tag() {
      return name().toLowerCase(Locale.ROOT);
    }
  }
  private volatile Supplier<String> bundleId = () -> null;
  private String shownBundleId; // guarded by this: the id the bundle gauge shows now
  private volatile KafkaStreams streams;

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
    overBudget = Counter.builder(OVER_BUDGET).description("Batches whose crafting took longer than their budget "
        + "(slowest-batch, or their pixels at seconds-per-megapixel), which sizes the poll and transaction timeouts")
        .register(registry);
    budgetUsed = DistributionSummary.builder(BUDGET_USED).description("Crafting time of a batch over its budget")
        .baseUnit("ratio").register(registry);
    engineFailures = Counter.builder(ENGINE_FAILURES).description("Engine calls that failed (retried once, then "
        + "bisected)").register(registry);
    overflow = Counter.builder(OVERFLOW).description("Batches crafted without the stream thread's turn because a "
        + "task's buffer passed its cap").register(registry);
    for (Stage stage : Stage.values()) {
      stages.put(stage, Timer.builder(STAGE).description("Stream-thread time around crafting, by stage")
          .tag("stage", stage.tag()).register(registry));
    }
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

  /**
   * The served bundle's meters: the bundle gauge, hot swaps and refused updates.
   *
   * @param bundles the bundle holder, null until the service has one; read on every refresh and scrape
   */
  public void followBundles(Supplier<BundleHolder> bundles) {
    followBundle(() -> bundles.get() == null ? null : bundles.get().currentBundleId());
    FunctionCounter.builder(SWAPS, bundles, b -> b.get() == null ? 0 : b.get().swaps())
        .description("Bundles hot-swapped in after a bundle-update event").register(registry);
    FunctionCounter.builder(REFUSALS, bundles, b -> b.get() == null ? 0 : b.get().refusals())
        .description("Bundle-update events refused (bad checksum, wrong hash, unreadable event...); the old bundle "
            + "kept serving").register(registry);
  }

  /**
   * Re-reads the values behind the gauges (the server does so every second; tests before a scrape): the bundle id.
   * Only a changed id touches the registry, new series first, and one refresh at a time: re-registering every time
   * (MultiGauge's overwrite) removes the series for a moment, and two refreshes at once can drop it from a Prometheus
   * scrape altogether (its collector is unregistered when it looks empty, racing the other's registration).
   */
  public synchronized void refresh() {
    String id = bundleId.get();
    if (Objects.equals(id, shownBundleId)) {
      return;
    }
    bundle.register(id == null ? List.of() : List.of(MultiGauge.Row.of(Tags.of("bundle", id), 1)), false);
    shownBundleId = id;
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
    this.streams = streams;
    return () -> {
      this.streams = null;
      kafka.close();
    };
  }

  /**
   * For each stream thread, how long ago its consumer last polled, from Kafka's own {@code last-poll-seconds-ago}:
   * a stream thread polls between records and batches, so a thread stuck in one call stops polling. Empty when no
   * stream is bound. A consumer that never polled reports the time since the epoch.
   */
  public Map<String, Duration> sinceLastPoll() {
    KafkaStreams s = streams;
    if (s == null) {
      return Map.of();
    }
    Map<String, Duration> out = new TreeMap<>();
    for (Metric m : s.metrics().values()) {
      MetricName name = m.metricName();
      String client = name.tags().get("client-id");
      // The stream thread's main consumer; the restore consumer is driven by the state-updater thread.
      if (LAST_POLL.equals(name.name()) && "consumer-metrics".equals(name.group()) && client != null
          && client.contains("-StreamThread-") && !client.endsWith("-restore-consumer")
          && m.metricValue() instanceof Number seconds) {
        out.put(client, Duration.ofSeconds(seconds.longValue()));
      }
    }
    return out;
  }

  public void protectedImage(long uploadTimestampMs, long nowMs) {
    protectedImages.increment();
    // A producer clock ahead of ours would give a negative latency; that says nothing useful, so it counts as 0.
    latency.record(Math.max(0, nowMs - uploadTimestampMs), TimeUnit.MILLISECONDS);
  }

  public void rejected(String reason, ErrorStrategy strategy) {
    rejections(reason, strategy).increment();
  }

  public void batchCrafted(int images, long nanos) {
    batchSize.record(images);
    crafting.record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A crafted batch and its time budget. */
  public void batchCrafted(int images, long nanos, long budgetNanos) {
    batchCrafted(images, nanos);
    budgetUsed.record(nanos / (double) Math.max(1, budgetNanos));
    if (nanos > budgetNanos) {
      overBudget.increment();
    }
  }

  public void stage(Stage stage, long nanos) {
    stages.get(stage).record(nanos, TimeUnit.NANOSECONDS);
  }

  public double stageSeconds(Stage stage) {
    return stages.get(stage).totalTime(TimeUnit.SECONDS);
  }

  public void engineFailure() {
    engineFailures.increment();
  }

  public void bufferOverflow() {
    overflow.increment();
  }

  public long overBudgetCount() {
    return (long) overBudget.count();
  }

  public long engineFailureCount() {
    return (long) engineFailures.count();
  }

  public long overflowCount() {
    return (long) overflow.count();
  }

  public long protectedCount() {
    return (long) protectedImages.count();
  }

  public long rejectedCount(ErrorStrategy strategy) {
    return (long) registry.find(REJECTED).tag("action", action(strategy)).counters().stream()
        .mapToDouble(Counter::count).sum();
  }

  public double craftingSeconds() {
    return crafting.totalTime(TimeUnit.SECONDS);
  }

  public long batchCount() {
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
