package io.sepshield.stream;

import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.storage.ClaimCheck;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.service.StreamMetrics;
import io.sepshield.service.StreamStats;

/**
 * Runs the protection topology against a Kafka cluster. Owns the {@link KafkaStreams} instance, not the engines
 * (the {@link BundleHolder} does).
 *
 * <p>A stream thread that dies because the schema registry or the claim-check store is unreachable is replaced after
 * a pause, so processing
 * resumes (from the last committed offsets, exactly once) when the registry is back; any other failure shuts the
 * client down, because retrying a bug or a FAIL-strategy rejection would only fail again.
 */
public final class ProtectionService implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ProtectionService.class.getName());
  private static final Duration OUTAGE_PAUSE = Duration.ofSeconds(5);
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(20);

  private final StreamMetrics metrics;
  private final Duration closeTimeout;
  private final KafkaStreams streams;
  private final AutoCloseable clientMetrics;
  private final ClaimCheck claimCheck;

  /** With in-memory metrics and the default close timeout. */
  public ProtectionService(BundleHolder bundles, StreamSettings settings, Properties streamsConfig,
      SchemaRegistryClient registry) {
    this(bundles, settings, streamsConfig, registry, new StreamMetrics(), DEFAULT_CLOSE_TIMEOUT);
  }

  /**
   * @param metrics where the stream's meters and the Kafka clients' metrics go
   * @param closeTimeout how long {@link #close()} waits for the stream thread to finish its batch and commit
   */
  public ProtectionService(BundleHolder bundles, StreamSettings settings, Properties streamsConfig,
      SchemaRegistryClient registry, StreamMetrics metrics, Duration closeTimeout) {
    this.metrics = metrics;
    this.closeTimeout = closeTimeout;
    this.claimCheck = new ClaimCheck(settings.claimCheck());
    streams = new KafkaStreams(ProtectionTopology.build(settings, bundles, registry, metrics, claimCheck),
        streamsConfig);
    clientMetrics = metrics.bindKafkaClient(streams);
    streams.setUncaughtExceptionHandler(e -> {
      boolean registryDown = ProtectionProcessor.registryUnreachable(e);
      if (registryDown || ProtectionProcessor.storeUnavailable(e)) {
        LOG.log(System.Logger.Level.WARNING, (registryDown ? "schema registry" : "claim-check store")
            + " unreachable; retrying in " + OUTAGE_PAUSE, e);
        try {
          Thread.sleep(OUTAGE_PAUSE.toMillis()); // runs on the dying stream thread, so nothing else is held up
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
        return StreamThreadExceptionResponse.REPLACE_THREAD;
      }
      LOG.log(System.Logger.Level.ERROR, "protection stream failed; shutting down", e);
      return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
  }

  public ProtectionService start() {
    streams.start();
    return this;
  }

  /** Waits until the stream has joined its group and restored its buffer, or fails if it died meanwhile. */
  public void awaitRunning(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (streams.state() != KafkaStreams.State.RUNNING) {
      if (!streams.state().isRunningOrRebalancing() && streams.state() != KafkaStreams.State.CREATED) {
        throw new IllegalStateException("protection stream is " + streams.state());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("protection stream not running after " + timeout + ": " + streams.state());
      }
      Thread.sleep(50);
    }
  }

  public KafkaStreams.State state() {
    return streams.state();
  }

  public StreamStats stats() {
    return metrics.stats();
  }

  /** A metric of the stream threads (Kafka's {@code stream-thread-metrics}, e.g. commit-total), summed over them. */
  public double threadMetric(String name) {
    return streams.metrics().entrySet().stream()
        .filter(e -> "stream-thread-metrics".equals(e.getKey().group()) && name.equals(e.getKey().name()))
        .mapToDouble(e -> e.getValue().metricValue() instanceof Number n ? n.doubleValue() : 0).sum();
  }

  /**
   * Stops the stream: the thread finishes the record or batch in hand, commits its transaction and leaves. A batch
   * still crafting when the close timeout runs out is abandoned; its transaction is aborted (by the broker after
   * {@code transaction.timeout.ms}, or at once when a successor fences it) and the batch is redone, exactly once.
   *
   * @return whether the stream stopped within the close timeout
   */
  public boolean stop() {
    long t0 = System.nanoTime();
    boolean stopped = streams.close(closeTimeout);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    try {
      clientMetrics.close();
    } catch (Exception e) {
      LOG.log(System.Logger.Level.WARNING, "could not unbind the Kafka client metrics", e);
    }
    if (stopped) {
      claimCheck.close(); // not under a stream thread still crafting past the close timeout
    }
    if (stopped) {
      LOG.log(System.Logger.Level.INFO, "protection stream stopped in {0} ms", ms);
    } else {
      LOG.log(System.Logger.Level.WARNING, "protection stream still {0} after the close timeout of {1}; its open "
          + "transaction will be aborted and redone", streams.state(), closeTimeout);
    }
    return stopped;
  }

  @Override
  public void close() {
    stop();
  }
}
