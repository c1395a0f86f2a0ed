package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.data.LabeledImages;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.reliability.BadInputCorpus;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.service.ProtectionServer;
import io.sepshield.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One pass of the whole bad-input corpus through the real service on the in-process broker (exactly-once v2,
 * read_committed readers): every kind gets its outcome, the stream stays RUNNING and ready, and a valid upload sent
 * after the corpus is still protected. {@link BadInputCorpusTest} covers the same kinds on the TopologyTestDriver.
 */
class BadInputBrokerTest {
  @TempDir
  Path dir;

  @Test
  void theCorpusThroughTheEmbeddedBroker() throws Exception {
    LabeledImages data = TinyModels.textures(4, 24, 1, 21);
    TinyModels.bundle(data, dir.resolve("bundles"), 3, 4);
    BadInputCorpus.Limits limits = BadInputCorpusTest.LIMITS;
    StreamSettings settings = StreamSettings.defaults(64, Duration.ofMillis(500)).withLimits(limits.maxBytes(),
        limits.maxWidth(), limits.maxHeight(), limits.maxPixels());
    ProtectionServer.Options options = new ProtectionServer.Options(ProtectionServer.EMBEDDED,
        ProtectionServer.EMBEDDED, "sep-shield-corpus-" + System.nanoTime(), dir.resolve("state").toString(),
        settings, dir.resolve("bundles"), ProtectionTopology.BUNDLE_UPDATES_TOPIC, "cpu", Method.SEP_FA_VR,
        Profile.FAST, 8, 1, Duration.ofSeconds(30), Duration.ofSeconds(20));
    try (ProtectionServer server = ProtectionServer.start(options, new PrintStream(new ByteArrayOutputStream()),
        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
      SchemaRegistryClient registry = new SchemaRegistryClient(server.schemaRegistryUrl());
      BadInputCorpus corpus = new BadInputCorpus(registry, settings.uploadsTopic(), limits);
      List<BadInputCorpus.Case> cases = corpus.cases();
      int records = 1; // the valid upload after the corpus
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers(),
          ProducerConfig.MAX_REQUEST_SIZE_CONFIG, settings.recordLimit()), new ByteArraySerializer(),
          new ByteArraySerializer())) {
        for (BadInputCorpus.Case c : cases) {
          for (BadInputCorpus.Upload u : c.uploads()) {
            ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(settings.uploadsTopic(), u.key(), u.value());
            u.headers().forEach(r.headers()::add);
            producer.send(r);
            records++;
          }
        }
        byte[] good = io.sepshield.data.PngCodec.encode(data.image(0), 1, 12, 12);
        producer.send(new ProducerRecord<>(settings.uploadsTopic(), "after".getBytes(), corpus.serialize(
            BadInputCorpus.upload("after-corpus", "image/png", good, data.label(0)))));
        producer.flush();
      }

      CorpusVerdicts verdicts = new CorpusVerdicts();
      boolean[] after = {false};
      int[] seen = {0};
      Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers(),
          ConsumerConfig.GROUP_ID_CONFIG, "corpus-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
          ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      try (KafkaConsumer<String, ProtectedImage> out = new KafkaConsumer<>(config, new StringDeserializer(),
          new ConfluentAvroDeserializer<>(registry, ProtectedImage.class));
          KafkaConsumer<byte[], byte[]> dlq = new KafkaConsumer<>(config, new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
          KafkaConsumer<String, ProtectionFailure> failures = new KafkaConsumer<>(config, new StringDeserializer(),
              new ConfluentAvroDeserializer<>(registry, ProtectionFailure.class))) {
        out.subscribe(List.of(settings.protectedTopic()));
        dlq.subscribe(List.of(settings.deadLetterTopic()));
        failures.subscribe(List.of(settings.failuresTopic()));
        long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
        while (seen[0] < records && System.nanoTime() < deadline) {
          out.poll(Duration.ofMillis(200)).forEach(r -> {
            seen[0]++;
            if (r.key().equals("after-corpus")) {
              after[0] = true;
            } else {
              verdicts.protectedImage(r.headers(), r.value());
            }
          });
          dlq.poll(Duration.ofMillis(50)).forEach(r -> {
            seen[0]++;
            verdicts.deadLetter(r.headers());
          });
          failures.poll(Duration.ofMillis(50)).forEach(r -> verdicts.failureEvent(r.headers(),
              r.value().getReason()));
        }
        // Failure events are written in the same transactions as the dead letters: read what is left of them.
        failures.poll(Duration.ofMillis(500)).forEach(r -> verdicts.failureEvent(r.headers(), r.value().getReason()));
      }
      assertEquals(KafkaStreams.State.RUNNING, server.service().state(), "the stream survived the corpus");
      assertTrue(server.ready());
      assertTrue(after[0], "a valid upload after the corpus is protected");
      // Allocation is measured on the driver (BadInputCorpusTest); here every kind's outcome over a real broker.
      List<Map<String, Object>> rows = verdicts.rows(cases, Long.MAX_VALUE);
      System.out.println(CorpusVerdicts.table(rows));
      assertEquals(List.of(), verdicts.unmatched());
      assertEquals(List.of(), rows.stream().filter(r -> !(Boolean) r.get("ok")).map(r -> r.get("kind") + ": "
          + r.get("observed_reason") + " " + r.get("detail")).toList());
    }
  }
}
