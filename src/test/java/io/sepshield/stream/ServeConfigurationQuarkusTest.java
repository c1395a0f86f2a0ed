package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.model.Gradients;
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
import java.lang.reflect.Field;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
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
 * The service as {@code serve --embedded} runs it, inside Quarkus: the {@code sep-shield.stream.*} mapping (defaults,
 * overrides, the {@code kafka."<setting>"} pass-through) turned into the running service bean on the in-process
 * broker and registry; SmallRye Health and Micrometer answering on Quarkus' HTTP server, bound to all interfaces and
 * asked on the machine's own (pod-facing) address; uploads protected within ε, a disallowed content type
 * dead-lettered; and a crafting call held up past the progress timeout turning liveness DOWN, then UP again.
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
      return Map.ofEntries(
          Map.entry("sep-shield.stream.bundle", ROOT.resolve("bundles").toString()),
          Map.entry("sep-shield.stream.state-dir", ROOT.resolve("state").toString()),
          Map.entry("sep-shield.stream.application-id", "sep-shield-quarkus-test"),
          Map.entry("sep-shield.stream.device", "cpu"),
          Map.entry("sep-shield.stream.batch-size", "2"),
          Map.entry("sep-shield.stream.max-delay", "300ms"),
          Map.entry("sep-shield.stream.allowed-content-types", "image/png"),
          Map.entry("sep-shield.stream.progress-timeout", "3s"),
          Map.entry("sep-shield.stream.kafka.\"max.poll.records\"", "40"),
          // What `serve` gets from CommandDefaults; all interfaces, as in production; a free port.
          Map.entry("quarkus.http.host-enabled", "true"),
          Map.entry("quarkus.http.host", "0.0.0.0"),
          Map.entry("quarkus.http.test-port", "0"));
    }
  }

  @Inject
  StreamConfig config;

  @Inject
  ProtectionServer server;

  @TestHTTPResource("/")
  URL root;

  private final HttpClient http = HttpClient.newHttpClient();

  @Test
  void theServeBeanAnswersProbesAndMetricsOnThePodAddressAndLivenessCatchesAStuckCraftingCall() throws Exception {
    // What the mapping reads: overrides, defaults of application.properties/StreamConfig, quoted client keys.
    assertEquals(2, config.batchSize());
    assertEquals(Duration.ofMillis(300), config.maxDelay());
    assertEquals("40", config.kafka().get("max.poll.records"));
    assertEquals("sep-fa-vr", config.method());
    assertTrue(config.bootstrapServers().isEmpty(), "no broker configured: only --embedded starts one");
    ProtectionServer.Options options = ProtectionServer.from(config, true);
    assertEquals(Method.SEP_FA_VR, options.method());
    assertEquals(Profile.FAST, options.profile());
    assertEquals(8f, options.eps255());

    // The pod IP, not loopback: kubelet probes the address other machines reach. A machine with no such
    // interface (a sandbox with loopback only) can only be asked on loopback, which then is all it has.
    InetAddress podAddress = nonLoopbackAddress();
    String base = "http://" + podAddress.getHostAddress() + ":" + root.getPort();
    assertEquals(503, get(base + "/q/health/started").statusCode(), "no bundle loaded yet");

    deleteRecursively(ROOT);
    LabeledImages data = TinyModels.textures(4, 24, 1, 31);
    RetrainingJob.Result bundle = TinyModels.bundle(data, ROOT.resolve("bundles"), 3, 5);
    int valid = 3;
    try {
      server.launch(options, new PrintStream(new ByteArrayOutputStream()));
      for (String probe : List.of("/q/health/started", "/q/health/ready", "/q/health/live")) {
        HttpResponse<String> r = get(base + probe);
        assertEquals(200, r.statusCode(), probe + " on " + base + ": " + r.body());
        assertTrue(r.body().replace(" ", "").contains("\"status\":\"UP\""), r.body());
      }
      String ready = get(base + "/q/health/ready").body();
      assertTrue(ready.contains("sep-shield-stream") && ready.contains("RUNNING") && ready.contains("following")
          && ready.contains(bundle.bundleId()), ready);

      SchemaRegistryClient registry = new SchemaRegistryClient(server.schemaRegistryUrl());
      ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
      serializer.configure(Map.of(), false);
      String uploads = config.uploadsTopic();
      Map<String, ProtectedImage> out = new HashMap<>();
      List<ConsumerRecord<byte[], byte[]>> dead = new ArrayList<>();
      Map<String, Object> consumerConfig = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers(),
          ConsumerConfig.GROUP_ID_CONFIG, "quarkus-test-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
          ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
              ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers()), new ByteArraySerializer(),
              new ByteArraySerializer());
          KafkaConsumer<String, ProtectedImage> consumer = new KafkaConsumer<>(consumerConfig,
              new StringDeserializer(), new ConfluentAvroDeserializer<>(registry, ProtectedImage.class));
          KafkaConsumer<byte[], byte[]> dlq = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
              new ByteArrayDeserializer())) {
        for (int i = 0; i < valid; i++) {
          producer.send(new ProducerRecord<>(uploads, utf8("q-" + i),
              serializer.serialize(uploads, StreamFixtures.pngUpload(data, i, "q-" + i))));
        }
        // A real JPEG would be fine elsewhere; this deployment allows PNG only.
        producer.send(new ProducerRecord<>(uploads, utf8("q-jpeg"), serializer.serialize(uploads,
            StreamFixtures.upload("q-jpeg", "image/jpeg", new byte[] {(byte) 0xff, (byte) 0xd8, 1, 2}, 0))));
        producer.flush();
        consumer.subscribe(List.of(config.protectedTopic()));
        dlq.subscribe(List.of(config.deadLetterTopic()));
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while ((out.size() < valid || dead.isEmpty()) && System.nanoTime() < deadline) {
          consumer.poll(Duration.ofMillis(200)).forEach(r -> out.put(r.key(), r.value()));
          dlq.poll(Duration.ofMillis(50)).forEach(dead::add);
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

        // Quarkus' Prometheus endpoint: the service's meters, the Kafka Streams and client metrics, the JVM's.
        String metrics = await(base + "/q/metrics", r -> r.body().contains("sep_shield_model_bundle{"), "bundle gauge")
            .body();
        assertTrue(metrics.contains("sep_shield_uploads_rejected_total{action=\"dead-letter-queue\","
            + "reason=\"UNSUPPORTED_FORMAT\",} 1.0") || metrics.contains("sep_shield_uploads_rejected_total{"
            + "action=\"dead-letter-queue\",reason=\"UNSUPPORTED_FORMAT\"} 1.0"), metrics);
        for (String name : List.of("sep_shield_images_protected_total", "sep_shield_batch_crafting_seconds_bucket{",
            "sep_shield_image_latency_seconds_count", "sep_shield_bundle_swaps_total", "kafka_stream_thread_",
            "kafka_consumer_fetch_manager_records_lag_max{", "jvm_memory_used_bytes{")) {
          assertTrue(metrics.contains(name), name + " missing from\n" + metrics);
        }

        // A crafting call that does not come back: hold the JVM-wide gradient lock that every crafting step takes,
        // as a wedged device call would. Kafka Streams stays RUNNING; the watchdog sees the call's age.
        ReentrantLock gradients = gradientLock();
        gradients.lock();
        try {
          producer.send(new ProducerRecord<>(uploads, utf8("q-stuck"),
              serializer.serialize(uploads, StreamFixtures.pngUpload(data, 0, "q-stuck")))).get();
          HttpResponse<String> down = await(base + "/q/health/live", r -> r.statusCode() == 503, "liveness DOWN");
          assertTrue(down.body().contains("crafting 1 images with bundle " + bundle.bundleId()), down.body());
          assertEquals(200, get(base + "/q/health/ready").statusCode(), "the stream itself still says RUNNING");
        } finally {
          gradients.unlock();
        }
        await(base + "/q/health/live", r -> r.statusCode() == 200, "liveness UP once the call returned");
        long deadline2 = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!out.containsKey("q-stuck") && System.nanoTime() < deadline2) {
          consumer.poll(Duration.ofMillis(200)).forEach(r -> out.put(r.key(), r.value()));
        }
        assertTrue(out.containsKey("q-stuck"), "the held-up upload is protected once the call returns");
      }
    } finally {
      server.close(); // also what Quarkus does at shutdown; here before the files go
      deleteRecursively(ROOT);
    }
  }

  private static InetAddress nonLoopbackAddress() throws IOException {
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(nic.getInetAddresses())) {
        if (a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
          return a;
        }
      }
    }
    return InetAddress.getLoopbackAddress();
  }

  /** The lock in {@link Gradients} that serialises gradient collection (crafting) in this JVM. */
  private static ReentrantLock gradientLock() throws ReflectiveOperationException {
    Field f = Gradients.class.getDeclaredField("LOCK");
    f.setAccessible(true);
    return (ReentrantLock) f.get(null);
  }

  private HttpResponse<String> get(String url) throws IOException, InterruptedException {
    return http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> await(String url, Predicate<HttpResponse<String>> condition, String what)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    HttpResponse<String> r = get(url);
    while (!condition.test(r)) {
      assertTrue(System.nanoTime() < deadline, "timed out waiting for " + what + "; last answer " + r.statusCode()
          + " " + r.body());
      Thread.sleep(250);
      r = get(url);
    }
    return r;
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
