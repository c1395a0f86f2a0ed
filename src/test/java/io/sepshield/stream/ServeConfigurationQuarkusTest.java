package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.service.ProtectionServer;
import io.sepshield.service.StreamConfig;
import io.sepshield.testing.TinyModels;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
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

/**
 * The service as `serve` builds it, inside Quarkus: the {@code sep-shield.stream.*} configuration mapping (defaults,
 * overrides, the {@code kafka."<setting>"} pass-through) turned into a running service on the in-process KRaft
 * broker and registry; uploads come out protected within ε, a disallowed content type is dead-lettered.
 */
@QuarkusTest
@TestProfile(ServeConfigurationQuarkusTest.Embedded.class)
class ServeConfigurationQuarkusTest {
  /**
   * A fixed path, not a static temp dir: the profile is instantiated by JUnit's class loader and the test by
   * Quarkus', so a static field would hold two different directories.
   */
  static final Path ROOT = Path.of("target", "serve-quarkus-test").toAbsolutePath();

  public static class Embedded implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
      return Map.of(
          "sep-shield.stream.bundle", ROOT.resolve("bundles").toString(),
          "sep-shield.stream.state-dir", ROOT.resolve("state").toString(),
          "sep-shield.stream.application-id", "sep-shield-quarkus-test",
          "sep-shield.stream.device", "cpu",
          "sep-shield.stream.batch-size", "2",
          "sep-shield.stream.max-delay", "300ms",
          "sep-shield.stream.allowed-content-types", "image/png",
          "sep-shield.stream.health-port", "0",
          "sep-shield.stream.kafka.\"max.poll.records\"", "40");
    }
  }

  @Inject
  StreamConfig config;

  @Test
  void theConfiguredServiceProtectsUploadsAndDeadLettersDisallowedOnes() throws Exception {
    // What the mapping reads: overrides, defaults of application.properties/StreamConfig, quoted client keys.
    assertEquals(ProtectionServer.EMBEDDED, config.bootstrapServers());
    assertEquals(2, config.batchSize());
    assertEquals(Duration.ofMillis(300), config.maxDelay());
    assertEquals("40", config.kafka().get("max.poll.records"));
    assertEquals("sep-fa-vr", config.method());
    ProtectionServer.Options options = ProtectionServer.from(config);
    assertEquals(Method.SEP_FA_VR, options.method());
    assertEquals(Profile.FAST, options.profile());
    assertEquals(8f, options.eps255());

    deleteRecursively(ROOT);
    LabeledImages data = TinyModels.textures(4, 24, 1, 31);
    RetrainingJob.Result bundle = TinyModels.bundle(data, ROOT.resolve("bundles"), 3, 5);
    int valid = 3;
    try (ProtectionServer server = ProtectionServer.start(options, new PrintStream(new ByteArrayOutputStream()))) {
      HttpResponse<String> ready = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
          "http://127.0.0.1:" + server.healthPort() + "/q/health/ready")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertEquals(200, ready.statusCode(), ready.body());

      SchemaRegistryClient registry = new SchemaRegistryClient(server.schemaRegistryUrl());
      ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
      serializer.configure(Map.of(), false);
      String uploads = config.uploadsTopic();
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers()), new ByteArraySerializer(),
          new ByteArraySerializer())) {
        for (int i = 0; i < valid; i++) {
          producer.send(new ProducerRecord<>(uploads, utf8("q-" + i),
              serializer.serialize(uploads, StreamFixtures.pngUpload(data, i, "q-" + i))));
        }
        // A real JPEG would be fine elsewhere; this deployment allows PNG only.
        producer.send(new ProducerRecord<>(uploads, utf8("q-jpeg"), serializer.serialize(uploads,
            StreamFixtures.upload("q-jpeg", "image/jpeg", new byte[] {(byte) 0xff, (byte) 0xd8, 1, 2}, 0))));
        producer.flush();
      }

      Map<String, ProtectedImage> out = new HashMap<>();
      List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
      Map<String, Object> consumerConfig = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers(),
          ConsumerConfig.GROUP_ID_CONFIG, "quarkus-test-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
          ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      try (KafkaConsumer<String, ProtectedImage> consumer = new KafkaConsumer<>(consumerConfig,
          new StringDeserializer(), new ConfluentAvroDeserializer<>(registry, ProtectedImage.class));
          KafkaConsumer<byte[], byte[]> dlq = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
              new ByteArrayDeserializer())) {
        consumer.subscribe(List.of(config.protectedTopic()));
        dlq.subscribe(List.of(config.deadLetterTopic()));
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while ((out.size() < valid || dead.isEmpty()) && System.nanoTime() < deadline) {
          consumer.poll(Duration.ofMillis(200)).forEach(r -> out.put(r.key(), r.value()));
          dlq.poll(Duration.ofMillis(50)).forEach(dead::add);
        }
      }
      assertEquals(valid, out.size(), "protected: " + out.keySet());
      for (int i = 0; i < valid; i++) {
        ProtectedImage p = out.get("q-" + i);
        assertEquals(bundle.bundleId(), p.getBundleId());
        assertEquals("fast", p.getProfile());
        int delta = EpsilonBall.maxAbsDelta(data.image(i), PngCodec.decode(p.getPng().array(), 1).pixels());
        assertTrue(delta > 0 && delta <= 8, "ε-bound on the published PNG: " + delta);
      }
      assertEquals(1, dead.size());
      assertEquals("q-jpeg", new String(dead.get(0).key(), StandardCharsets.UTF_8));
      assertEquals(RejectedUpload.UNSUPPORTED_FORMAT, new String(
          dead.get(0).headers().lastHeader(DeadLetters.REASON).value(), StandardCharsets.UTF_8));
    } finally {
      deleteRecursively(ROOT);
    }
  }

  private static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
