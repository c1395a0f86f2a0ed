package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.service.ProtectionServer;
import io.sepshield.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.sepshield.lifecycle.BundleUpdate;
import io.sepshield.lifecycle.BundleUpdates;
import io.sepshield.demo.EmbeddedKafka;

/**
 * End to end against the in-process broker: a running service swaps to a bundle published as a BundleUpdated event,
 * refuses an unreadable event without stopping, and an instance started later serves the published bundle rather
 * than the configured one.
 */
class BundleHotSwapTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  @Test
  void publishedBundleIsSwappedInWhileRunningAndServedAfterARestart() throws Exception {
    LabeledImages data = StreamFixtures.data();
    RetrainingJob.Result a = TinyModels.bundle(data, dir.resolve("a"), 1, 1);
    RetrainingJob.Result b = TinyModels.bundle(data, dir.resolve("b"), 1, 2);
    StreamSettings settings = StreamSettings.defaults(2, Duration.ofMillis(300));
    String topic = ProtectionTopology.BUNDLE_UPDATES_TOPIC;
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        InMemorySchemaRegistry registryServer = new InMemorySchemaRegistry().start()) {
      kafka.createTopics(settings.uploadsTopic(), settings.protectedTopic(), settings.deadLetterTopic(), topic);
      SchemaRegistryClient registry = new SchemaRegistryClient(registryServer.url());
      ConfluentAvroSerializer<UploadedImage> uploads = new ConfluentAvroSerializer<>(registry);
      uploads.configure(Map.of(), false);
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
              ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()), new ByteArraySerializer(),
              new ByteArraySerializer());
          KafkaConsumer<String, ProtectedImage> reader = new KafkaConsumer<>(Map.of(
              ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(), ConsumerConfig.GROUP_ID_CONFIG,
              "swap-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
              ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new StringDeserializer(),
              new ConfluentAvroDeserializer<>(registry, ProtectedImage.class))) {
        reader.subscribe(List.of(settings.protectedTopic()));
        List<String> seen = new ArrayList<>(); // "id@bundle" in order of publication

        try (ProtectionServer first = ProtectionServer.start(options(kafka, registryServer, settings, a, "first"),
            quiet(), new PrometheusMeterRegistry(PrometheusConfig.DEFAULT))) {
          assertEquals(a.bundleId(), first.bundles().currentBundleId(), "nothing published yet: the configured a");
          upload(producer, uploads, settings, data, 0);
          upload(producer, uploads, settings, data, 1);
          await(() -> read(reader, seen) >= 2, "two images protected with a");

          producer.send(new ProducerRecord<>(topic, BundleUpdates.KEY, "not avro".getBytes(StandardCharsets.UTF_8)))
              .get();
          BundleUpdates.publish(kafka.bootstrapServers(), registry, topic, BundleUpdate.of(b.bundleDir()));
          await(() -> b.bundleId().equals(first.bundles().currentBundleId()), "swapped to b");
          assertEquals(1, first.bundles().swaps());
          assertEquals(1, first.bundles().refusals(), "the unreadable event is counted, not fatal");
          assertTrue(first.ready(), "a refused update leaves the service ready");
          first.metrics().refresh();
          // simpleclient writes label sets as {a="x",}; the assertions use the plain {a="x"}.
          String scrape = ((PrometheusMeterRegistry) first.metrics().registry()).scrape().replace(",}", "}");
          for (String line : List.of("sep_shield_bundle_swaps_total 1.0", "sep_shield_bundle_refusals_total 1.0",
              "sep_shield_model_bundle{bundle=\"" + b.bundleId() + "\"} 1.0")) {
            assertTrue(scrape.lines().anyMatch(line::equals), line + " missing from\n" + scrape);
          }

          upload(producer, uploads, settings, data, 2);
          upload(producer, uploads, settings, data, 3);
          await(() -> read(reader, seen) >= 4, "two more images protected");
        }
        assertEquals(List.of("u-0@" + a.bundleId(), "u-1@" + a.bundleId(), "u-2@" + b.bundleId(),
            "u-3@" + b.bundleId()), seen);

        // A new instance (own consumer group, so it protects every upload again) configured with the stale a.
        seen.clear();
        try (ProtectionServer second = ProtectionServer.start(options(kafka, registryServer, settings, a, "second"),
            quiet())) {
          assertEquals(b.bundleId(), second.bundles().currentBundleId(), "the newest published bundle wins");
          assertEquals(0, second.bundles().swaps());
          await(() -> read(reader, seen) >= 4, "all four protected again");
        }
        assertEquals(List.of("u-0@" + b.bundleId(), "u-1@" + b.bundleId(), "u-2@" + b.bundleId(),
            "u-3@" + b.bundleId()), seen);
      }
    }
  }

  private ProtectionServer.Options options(EmbeddedKafka kafka, InMemorySchemaRegistry registry,
      StreamSettings settings, RetrainingJob.Result configured, String instance) {
    return new ProtectionServer.Options(kafka.bootstrapServers(), registry.url(), "swap-it-" + instance,
        dir.resolve("state-" + instance).toString(), settings, configured.bundleDir(),
        ProtectionTopology.BUNDLE_UPDATES_TOPIC, "cpu", Method.SEP_FA_VR, Profile.FAST, 8, 1, Duration.ofSeconds(30),
        ProtectionService.DEFAULT_CLOSE_TIMEOUT);
  }

  private static void upload(KafkaProducer<byte[], byte[]> producer, ConfluentAvroSerializer<UploadedImage> uploads,
      StreamSettings settings, LabeledImages data, int i) throws Exception {
    String id = "u-" + i;
    producer.send(new ProducerRecord<>(settings.uploadsTopic(), id.getBytes(StandardCharsets.UTF_8),
        uploads.serialize(settings.uploadsTopic(), StreamFixtures.pngUpload(data, i, id)))).get();
  }

  private static int read(KafkaConsumer<String, ProtectedImage> reader, List<String> seen) {
    reader.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.key() + "@" + r.value().getBundleId()));
    return seen.size();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("not within " + WAIT + ": " + what);
      }
      Thread.sleep(50);
    }
  }

  private static PrintStream quiet() {
    return new PrintStream(new ByteArrayOutputStream());
  }
}
