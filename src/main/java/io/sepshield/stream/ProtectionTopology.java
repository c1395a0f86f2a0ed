package io.sepshield.stream;

import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.storage.ClaimCheck;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.service.StreamMetrics;

/**
 * The protection stream: uploads → validate (header only) → buffer → decode, micro-batched SEP crafting by image
 * shape → protected images (inline or claim-checked), with rejected uploads on a dead-letter topic (by reference when
 * their bytes do not fit) and a failure event for each.
 *
 * <pre>
 * uploads (bytes) ─► protect [buffer store] ─┬─► protected (String id, Avro ProtectedImage)
 *                                            ├─► dead letters (original key and value bytes + headers)
 *                                            └─► failures (String id, Avro ProtectionFailure)
 * </pre>
 */
public final class ProtectionTopology {
  private static final System.Logger LOG = System.getLogger(ProtectionTopology.class.getName());
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
  /** Changelogged buffer of accepted uploads (their records, not pixels) awaiting a batch, keyed by source offset. */
  public static final String BUFFER_STORE = "pending-uploads";
  /**
   * Segment size of the buffer's changelog: small, so that compaction can drop crafted uploads soon (the active
   * segment is never compacted; Kafka's default of 1 GiB would keep every upload of a busy day).
   */
  static final int CHANGELOG_SEGMENT_BYTES = 16 << 20;

  private ProtectionTopology() {}

  /** Without claim checks (uploads by reference are refused, outputs inline). */
  public static Topology build(StreamSettings settings, BundleHolder bundles, SchemaRegistryClient registry,
      StreamMetrics metrics) {
    return build(settings, bundles, registry, metrics, new ClaimCheck(ClaimCheck.Settings.none()));
  }

  /** @param claimCheck shared by every task (thread-safe); the caller closes it after the stream */
  public static Topology build(StreamSettings settings, BundleHolder bundles, SchemaRegistryClient registry,
      StreamMetrics metrics, ClaimCheck claimCheck) {
    return build(settings, bundles, registry, metrics, claimCheck, ProtectionEngine::protect);
  }

  /** @param engineCall how batches reach the engine (tests put a failing double in between) */
  static Topology build(StreamSettings settings, BundleHolder bundles, SchemaRegistryClient registry,
      StreamMetrics metrics, ClaimCheck claimCheck, ProtectionProcessor.EngineCall engineCall) {
    metrics.expectRejections(settings.errorStrategy());
    LoopTurns turns = new LoopTurns(); // one per topology: its tasks share their thread's turn
    Topology topology = new Topology();
    // Bytes in: the processor deserializes, so unreadable records are dead-lettered rather than failing the task.
    topology.addSource(SOURCE, new ByteArrayDeserializer(), new ByteArrayDeserializer(), settings.uploadsTopic());
    topology.addProcessor(PROCESSOR, () -> new ProtectionProcessor(settings, bundles, registry, metrics, claimCheck,
        turns, engineCall), SOURCE);
    // In memory with a changelog: a short-lived buffer of a few records per partition, restored from the changelog
    // after a restart; RocksDB (and its files) would add nothing but disk use.
    topology.addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore(BUFFER_STORE),
        Serdes.String(), Serdes.ByteArray()).withLoggingEnabled(changelogConfig(settings)), PROCESSOR);
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

  /** Topic configs of the buffer's changelog: records up to the size limit, small segments. */
  static Map<String, String> changelogConfig(StreamSettings settings) {
    return Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(settings.recordLimit()),
        TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(Math.max(CHANGELOG_SEGMENT_BYTES, settings.recordLimit())),
        TopicConfig.SEGMENT_MS_CONFIG, Long.toString(Duration.ofMinutes(10).toMillis()));
  }

  /**
   * The topics the service creates (uploads, protected, dead letters, failures), each accepting records up to the
   * size limit ({@code max.message.bytes}), so that the broker's own default (1 MiB) does not decide.
   */
  public static List<TopicProvisioner.TopicSpec> topics(StreamSettings settings, int partitions) {
    Map<String, String> sized = Map.of(TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(settings.recordLimit()));
    List<TopicProvisioner.TopicSpec> topics = new ArrayList<>();
    for (String name : new String[] {settings.uploadsTopic(), settings.protectedTopic(), settings.deadLetterTopic(),
        settings.failuresTopic()}) {
      if (name != null) {
        topics.add(new TopicProvisioner.TopicSpec(name, partitions, sized));
      }
    }
    return topics;
  }

  /**
   * Streams configuration for this topology: exactly-once v2, one stream thread (the PyTorch engine crafts one
   * batch at a time per JVM anyway), record sizes at the one size limit, and poll/transaction timeouts sized for one
   * batch: a stream thread crafts at most one batch per loop whatever the number of tasks it holds
   * ({@link LoopTurns}), and a batch holds at most {@link StreamSettings#batchPixels()} pixels, so the budget of a
   * loop is {@link StreamSettings#loopBudget()}.
   *
   * @param slowestBatch floor for the crafting time of one batch (fixed costs that do not scale with pixels); the
   *     processor's over-budget warning uses {@link StreamSettings#slowestBatch()}, so pass the same
   */
  public static Properties streamsConfig(String applicationId, String bootstrapServers, StreamSettings settings,
      Duration slowestBatch) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // Between two polls a thread crafts one batch (an overflowing buffer aside, see ProtectionProcessor) and decodes
    // at most one poll's records; Kafka Streams itself stops processing for a poll after half the poll interval.
    long batch = settings.withSlowestBatch(slowestBatch).loopBudget().toMillis();
    long budget = 3 * Math.max(batch, settings.maxDelay().toMillis());
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), settings.pollRecords());
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG),
        (int) Math.min(Integer.MAX_VALUE, Math.max(300_000, budget)));
    // The transaction spans a batch; the broker caps it at transaction.max.timeout.ms (15 min by default).
    if (budget > 900_000) {
      LOG.log(System.Logger.Level.WARNING, "a batch may craft {0} pixels, {1} s at {2} per megapixel: more than "
          + "the broker''s default transaction.max.timeout.ms (15 min) allows; lower max-batch-pixels or raise it",
          settings.batchPixels(), batch / 1000, settings.perMegapixel());
    }
    p.put(StreamsConfig.producerPrefix(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG),
        (int) Math.min(900_000, Math.max(60_000, budget)));
    // One size limit: what the processor checks is what the clients and topics accept.
    int limit = settings.recordLimit();
    p.put(StreamsConfig.producerPrefix(ProducerConfig.MAX_REQUEST_SIZE_CONFIG), limit);
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BUFFER_MEMORY_CONFIG), (long) Math.max(32 << 20, 2L * limit));
    // consumerPrefix reaches the main, restore and global consumers (the changelog restore reads large records too).
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG), limit);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.FETCH_MAX_BYTES_CONFIG), Math.max(50 << 20, limit));
    // Internal topics: the buffer's changelog (its store sets the same); there are no repartition topics.
    p.put(StreamsConfig.topicPrefix(TopicConfig.MAX_MESSAGE_BYTES_CONFIG), Integer.toString(limit));
    // A safety net only: the processor never sends a record over the limit (see OversizeRecordHandler).
    p.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, OversizeRecordHandler.class.getName());
    return p;
  }
}
