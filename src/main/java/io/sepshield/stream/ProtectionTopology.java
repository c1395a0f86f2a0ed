package io.sepshield.stream;

import io.sepshield.registry.SchemaRegistryClient;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.service.StreamMetrics;

/**
 * The protection stream: uploads → validate, decode, resize → micro-batched SEP crafting → protected images, with
 * rejected uploads on a dead-letter topic and a failure event for each.
 *
 * <pre>
 * uploads (bytes) ─► protect [buffer store] ─┬─► protected (String id, Avro ProtectedImage)
 *                                            ├─► dead letters (original key and value bytes + headers)
 *                                            └─► failures (String id, Avro ProtectionFailure)
 * </pre>
 */
public final class ProtectionTopology {
  public static final String UPLOADS_TOPIC = "sep-shield.uploads";
  public static final String PROTECTED_TOPIC = "sep-shield.protected";
  public static final String DEAD_LETTER_TOPIC = "sep-shield.uploads.dlq";
  /** Avro {@code ProtectionFailure} events, one per rejected upload, keyed by upload id. */
  public static final String FAILURES_TOPIC = "sep-shield.failures";
  /** Avro BundleUpdated events, followed by every instance (see {@link BundleUpdates}). */
  public static final String BUNDLE_UPDATES_TOPIC = "sep-shield.bundle-updates";

  public static final String SOURCE = "uploads";
  public static final String PROCESSOR = "protect";
  public static final String PROTECTED_SINK = "protected";
  public static final String DEAD_LETTER_SINK = "dead-letters";
  public static final String FAILURES_SINK = "failures";
  /** Changelogged buffer of decoded uploads awaiting a batch, keyed by source partition and offset. */
  public static final String BUFFER_STORE = "pending-uploads";

  private ProtectionTopology() {}

  public static Topology build(StreamSettings settings, BundleHolder bundles, SchemaRegistryClient registry,
      StreamMetrics metrics) {
    metrics.expectRejections(settings.errorStrategy());
    Topology topology = new Topology();
    // Bytes in: the processor deserializes, so unreadable records are dead-lettered rather than failing the task.
    topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), settings.uploadsTopic());
    topology.addProcessor(PROCESSOR, () -> new ProtectionProcessor(settings, bundles, registry, metrics), SOURCE);
    topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(BUFFER_STORE),
        Serdes.String(), Serdes.ByteArray()), PROCESSOR);
    topology.addSink(PROTECTED_SINK, settings.protectedTopic(), new ByteArraySerializer(), new ByteArraySerializer(),
        PROCESSOR);
    topology.addSink(DEAD_LETTER_SINK, settings.deadLetterTopic(), new ByteArraySerializer(),
        new ByteArraySerializer(), PROCESSOR);
    if (settings.failuresTopic() != null) {
      topology.addSink(FAILURES_SINK, settings.failuresTopic(), new ByteArraySerializer(), new ByteArraySerializer(),
          PROCESSOR);
    }
    return topology;
  }

  /**
   * Streams configuration for this topology: exactly-once v2, one stream thread (the PyTorch engine crafts one
   * batch at a time per JVM anyway), and poll/transaction timeouts sized for the slowest expected batch.
   *
   * @param slowestBatch how long crafting one full batch may take on this device
   */
  public static Properties streamsConfig(String applicationId, String bootstrapServers, StreamSettings settings,
      Duration slowestBatch) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // Each poll can complete at most one batch plus one partial one, plus the max-delay flush.
    long budget = 3 * Math.max(slowestBatch.toMillis(), settings.maxDelay().toMillis());
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), settings.batchSize());
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG),
        (int) Math.max(300_000, budget));
    // The transaction spans a whole batch; the broker caps it at transaction.max.timeout.ms (15 min by default).
    p.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG),
        (int) Math.min(900_000, Math.max(60_000, budget)));
    // Protected PNGs can be larger than the uploads; allow a few MiB per record.
    p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), 8 << 20);
    return p;
  }
}
