package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.demo.EmbeddedKafka;

/**
 * The batch buffer is state, not memory: an upload consumed (offset committed) but not yet crafted when the service
 * stops is restored from the changelog by the next instance, even one with an empty state directory, and published
 * exactly once.
 */
class BufferRecoveryTest {
  @TempDir
  Path dir;

  @Test
  void bufferedUploadSurvivesARestartAndIsPublishedOnce() throws Exception {
    LabeledImages data = StreamFixtures.data();
    StreamSettings settings = StreamSettings.defaults(3, Duration.ofHours(1));
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        InMemorySchemaRegistry registryServer = new InMemorySchemaRegistry().start();
        ProtectionEngine engine = StreamFixtures.tinyEngine(data);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            kafka.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
      kafka.createTopics(settings.uploadsTopic(), settings.protectedTopic(), settings.deadLetterTopic());
      SchemaRegistryClient registry = new SchemaRegistryClient(registryServer.url());
      ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
      serializer.configure(Map.of(), false);

      BundleHolder bundles = BundleHolder.serving(engine);
      try (ProtectionService first = new ProtectionService(bundles, settings, config(kafka, "state-1", settings),
          registry).start()) {
        first.awaitRunning(Duration.ofSeconds(60));
        send(producer, serializer, settings, data, 0);
        awaitCommittedOffset(kafka, settings.uploadsTopic(), 1);
      }
      KafkaConsumer<String, byte[]> reader = reader(kafka, settings);
      assertTrue(poll(reader, Duration.ofSeconds(2)).isEmpty(), "one of three: nothing published yet");

      try (ProtectionService second = new ProtectionService(bundles, settings, config(kafka, "state-2", settings),
          registry).start()) {
        second.awaitRunning(Duration.ofSeconds(60));
        send(producer, serializer, settings, data, 1);
        send(producer, serializer, settings, data, 2);
        List<String> keys = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (keys.size() < 3 && System.nanoTime() < deadline) {
          keys.addAll(poll(reader, Duration.ofMillis(500)));
        }
        keys.addAll(poll(reader, Duration.ofSeconds(1))); // would catch a duplicate
        assertEquals(List.of("r-0", "r-1", "r-2"), keys.stream().sorted().toList());
        assertEquals(1, second.stats().batches(), "the restored upload joined the new ones in one batch");
      } finally {
        reader.close();
      }
    }
  }

  private Properties config(EmbeddedKafka kafka, String stateDir, StreamSettings settings) {
    Properties p = ProtectionTopology.streamsConfig("sep-shield-recovery", kafka.bootstrapServers(), settings,
        Duration.ofSeconds(30));
    p.put(StreamsConfig.STATE_DIR_CONFIG, dir.resolve(stateDir).toString());
    // Streams members do not leave the group on close; the second instance gets the partition once the first's
    // session expires, so keep that short (the broker's minimum).
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 6000);
    p.put(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), 2000);
    return p;
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, ConfluentAvroSerializer<UploadedImage> serializer,
      StreamSettings settings, LabeledImages data, int i) throws Exception {
    String id = "r-" + i;
    producer.send(new ProducerRecord<>(settings.uploadsTopic(), id.getBytes(StandardCharsets.UTF_8),
        serializer.serialize(settings.uploadsTopic(), StreamFixtures.pngUpload(data, i, id)))).get();
  }

  private static void awaitCommittedOffset(EmbeddedKafka kafka, String topic, long offset) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    try (Admin admin = kafka.admin()) {
      while (System.nanoTime() < deadline) {
        OffsetAndMetadata committed = admin.listConsumerGroupOffsets("sep-shield-recovery")
            .partitionsToOffsetAndMetadata().get().get(new TopicPartition(topic, 0));
        if (committed != null && committed.offset() >= offset) {
          return;
        }
        Thread.sleep(100);
      }
    }
    fail("upload offset never committed");
  }

  private static KafkaConsumer<String, byte[]> reader(EmbeddedKafka kafka, StreamSettings settings) {
    KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
        kafka.bootstrapServers(), ConsumerConfig.GROUP_ID_CONFIG, "recovery-reader",
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest", ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"),
        new StringDeserializer(), new ByteArrayDeserializer());
    c.subscribe(List.of(settings.protectedTopic()));
    return c;
  }

  private static List<String> poll(KafkaConsumer<String, byte[]> c, Duration timeout) {
    List<String> keys = new ArrayList<>();
    c.poll(timeout).forEach(r -> keys.add(r.key()));
    return keys;
  }
}
