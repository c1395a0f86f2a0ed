package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.service.ProtectionServer;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service's contract end to end against a real broker: a trained bundle, exactly-once v2, uploads in, PNGs
 * out, bad uploads dead-lettered, probes and meters as the service reports them. Subclasses say which broker: the in-process one, or a
 * Testcontainers one.
 */
abstract class ProtectionServiceContract {
  @TempDir
  Path dir;

  /** Bootstrap servers of the broker under test, or {@link ProtectionServer#EMBEDDED}. */
  abstract String bootstrapServers();

  @Test
  void uploadsComeOutProtectedAndBadOnesDeadLettered() throws Exception {
    LabeledImages data = TinyModels.textures(4, 24, 1, 21);
    RetrainingJob.Result bundle = TinyModels.bundle(data, dir.resolve("bundles"), 3, 4);
    StreamSettings settings = StreamSettings.defaults(2, Duration.ofMillis(500));
    int valid = 5;
    // The whole service as `serve` runs it: broker (given), embedded registry, bundle, operations endpoint; the
    // service creates its own topics.
    ProtectionServer.Options options = new ProtectionServer.Options(bootstrapServers(),
        ProtectionServer.EMBEDDED, "sep-shield-it-" + System.nanoTime(), dir.resolve("state").toString(), settings,
        dir.resolve("bundles"), ProtectionTopology.BUNDLE_UPDATES_TOPIC, "cpu", Method.SEP_FA_VR, Profile.FAST, 8, 1,
        Duration.ofSeconds(30), Duration.ofSeconds(20));
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (ProtectionServer server = ProtectionServer.start(options, new PrintStream(new ByteArrayOutputStream()),
        meters)) {
      // What the probes report (served over HTTP by SmallRye Health: ServeConfigurationQuarkusTest).
      assertTrue(server.started());
      assertTrue(server.ready());
      assertEquals(List.of(), server.stuck());
      ProtectionService service = server.service();
      SchemaRegistryClient registry = new SchemaRegistryClient(server.schemaRegistryUrl());
      String bootstrap = server.bootstrapServers();
      ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
      serializer.configure(Map.of(), false);
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap), new ByteArraySerializer(),
          new ByteArraySerializer())) {
        for (int i = 0; i < valid; i++) {
          String id = "it-" + i;
          ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(settings.uploadsTopic(), utf8(id),
              serializer.serialize(settings.uploadsTopic(), StreamFixtures.pngUpload(data, i, id)));
          r.headers().add("correlation-id", utf8("c-" + i));
          producer.send(r);
        }
        producer.send(new ProducerRecord<>(settings.uploadsTopic(), utf8("junk"), utf8("not avro")));
        producer.flush();
      }

      Map<String, ConsumerRecord<String, ProtectedImage>> out = new HashMap<>();
      List<ConsumerRecord<byte[], byte[]>> dead = new java.util.ArrayList<>();
      List<ConsumerRecord<String, ProtectionFailure>> failed = new java.util.ArrayList<>();
      Map<String, Object> consumerConfig = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
          ConsumerConfig.GROUP_ID_CONFIG, "it-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
          ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      try (KafkaConsumer<String, ProtectedImage> consumer = new KafkaConsumer<>(consumerConfig,
          new StringDeserializer(), new ConfluentAvroDeserializer<>(registry, ProtectedImage.class));
          KafkaConsumer<byte[], byte[]> dlq = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
              new ByteArrayDeserializer());
          KafkaConsumer<String, ProtectionFailure> failures = new KafkaConsumer<>(consumerConfig,
              new StringDeserializer(), new ConfluentAvroDeserializer<>(registry, ProtectionFailure.class))) {
        consumer.subscribe(List.of(settings.protectedTopic()));
        dlq.subscribe(List.of(settings.deadLetterTopic()));
        failures.subscribe(List.of(settings.failuresTopic()));
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while ((out.size() < valid || dead.isEmpty() || failed.isEmpty()) && System.nanoTime() < deadline) {
          consumer.poll(Duration.ofMillis(200)).forEach(r -> out.put(r.key(), r));
          dlq.poll(Duration.ofMillis(50)).forEach(dead::add);
          failures.poll(Duration.ofMillis(50)).forEach(failed::add);
        }
      }
      assertEquals(valid, out.size(), "protected: " + out.keySet());
      for (int i = 0; i < valid; i++) {
        ConsumerRecord<String, ProtectedImage> r = out.get("it-" + i);
        ProtectedImage p = r.value();
        assertEquals(bundle.bundleId(), p.getBundleId());
        assertEquals("c-" + i, new String(r.headers().lastHeader("correlation-id").value(), StandardCharsets.UTF_8));
        byte[] pixels = PngCodec.decode(p.getPng().array(), 1).pixels();
        int delta = EpsilonBall.maxAbsDelta(data.image(i), pixels);
        assertTrue(delta > 0 && delta <= 8, "ε-bound on the published PNG: " + delta);
        assertEquals(data.label(i), p.getLabel());
      }
      assertEquals(1, dead.size());
      assertArrayEquals(utf8("not avro"), dead.get(0).value());
      assertEquals("DESERIALIZATION_ERROR", new String(dead.get(0).headers().lastHeader(DeadLetters.REASON).value(),
          StandardCharsets.UTF_8));
      assertEquals(1, failed.size(), "one failure event for the one bad upload");
      assertEquals("junk", failed.get(0).key());
      assertEquals("DESERIALIZATION_ERROR", failed.get(0).value().getReason());
      assertEquals(valid, failed.get(0).value().getOffset(), "the junk follows the valid uploads on one partition");
      assertTrue(service.stats().batches() >= 3, "5 uploads in batches of 2: " + service.stats().batches());

      // What Prometheus scrapes: the stream's meters moved, and the Kafka client binders are there (Quarkus adds the
      // JVM and process meters in the application).
      server.metrics().refresh();
      String metrics = meters.scrape().replace(",}", "}"); // simpleclient writes {a="x",}
      assertTrue(metrics.contains("sep_shield_uploads_rejected_total{action=\"dead-letter-queue\","
          + "reason=\"DESERIALIZATION_ERROR\"} 1.0"), metrics);
      assertTrue(metrics.contains("sep_shield_model_bundle{bundle=\"" + bundle.bundleId() + "\"} 1.0"), metrics);
      // At least: an aborted and redone transaction counts its images again.
      double protectedImages = metrics.lines().filter(l -> l.startsWith("sep_shield_images_protected_total "))
          .mapToDouble(l -> Double.parseDouble(l.split(" ")[1])).findFirst().orElse(-1);
      assertTrue(protectedImages >= valid, metrics);
      for (String name : List.of("sep_shield_batch_crafting_seconds_bucket{", "sep_shield_image_latency_seconds_count",
          "kafka_consumer_fetch_manager_records_lag_max{", "kafka_stream_thread_")) {
        assertTrue(metrics.contains(name), name + " missing from\n" + metrics);
      }
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
