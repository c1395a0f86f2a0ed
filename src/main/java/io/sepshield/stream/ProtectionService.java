package io.sepshield.stream;

import io.sepshield.registry.SchemaRegistryClient;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;

/**
 * Runs the protection topology against a Kafka cluster. Owns the {@link KafkaStreams} instance, not the engines
 * (the {@link BundleHolder} does).
 *
 * <p>A stream thread that dies because the schema registry is unreachable is replaced after a pause, so processing
 * resumes (from the last committed offsets, exactly once) when the registry is back; any other failure shuts the
 * client down, because retrying a bug or a FAIL-strategy rejection would only fail again.
 */
public final class ProtectionService implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ProtectionService.class.getName());
  private static final Duration OUTAGE_PAUSE = Duration.ofSeconds(5);

  private final StreamStats stats = new StreamStats();
  private final KafkaStreams streams;

  public ProtectionService(BundleHolder bundles, StreamSettings settings, Properties streamsConfig,
      SchemaRegistryClient registry) {
    streams = new KafkaStreams(ProtectionTopology.build(settings, bundles, registry, stats), streamsConfig);
    streams.setUncaughtExceptionHandler(e -> {
      if (ProtectionProcessor.registryUnreachable(e)) {
        LOG.log(System.Logger.Level.WARNING, "schema registry unreachable; retrying in " + OUTAGE_PAUSE, e);
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
    return stats;
  }

  @Override
  public void close() {
    streams.close(Duration.ofSeconds(30));
  }
}
