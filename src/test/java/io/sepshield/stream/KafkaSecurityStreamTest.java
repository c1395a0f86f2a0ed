package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.demo.EmbeddedKafka;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.service.ProtectionServer;
import io.sepshield.testing.TestCertificates;
import io.sepshield.testing.TinyModels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service against a broker that only lets clients in over SASL_SSL with SCRAM-SHA-512, configured exactly as
 * the Helm chart and the kustomize base configure it: {@code security.protocol}, {@code sasl.mechanism}, a PEM CA file
 * as trust store, and the JAAS line from a Secret, all as {@code kafka.*} client settings. Every client of the
 * service (admin for topics, the bundle-update follower, the stream's consumers and producers) must use them: the
 * service is given only the SASL_SSL address, where a client without them is turned away.
 */
class KafkaSecurityStreamTest {
  private static final String LISTENER = "SECURE";
  private static final String STORE_PASSWORD = "broker-store-pass";
  private static final String USER = "sep-shield";
  private static final String PASSWORD = "s3cret-scram-pass";

  @TempDir
  static Path dir;
  static EmbeddedKafka kafka;
  static LabeledImages data;
  static Path bundles;

  @BeforeAll
  static void secureBrokerAndBundle() throws Exception {
    data = TinyModels.textures(4, 24, 1, 31);
    bundles = dir.resolve("bundles");
    TinyModels.bundle(data, bundles, 3, 4);
    TestCertificates.keyPair(dir, "broker", "localhost", "dns:localhost,ip:127.0.0.1", STORE_PASSWORD);
    String prefix = "listener.name." + LISTENER.toLowerCase() + ".";
    kafka = EmbeddedKafka.start(Map.of(
        prefix + "sasl.enabled.mechanisms", "SCRAM-SHA-512",
        prefix + "scram-sha-512.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required;",
        prefix + "ssl.keystore.type", "PKCS12",
        prefix + "ssl.keystore.location", dir.resolve("broker.p12").toString(),
        prefix + "ssl.keystore.password", STORE_PASSWORD,
        prefix + "ssl.key.password", STORE_PASSWORD),
        List.of(new EmbeddedKafka.Listener(LISTENER, "SASL_SSL")));
    // SCRAM credentials live in the cluster metadata; the broker's own PLAINTEXT listener sets them.
    try (Admin admin = kafka.admin()) {
      admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(USER,
          new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), PASSWORD))).all().get();
    }
  }

  @AfterAll
  static void stop() {
    if (kafka != null) {
      kafka.close();
    }
  }

  /** The chart's client settings (helm/sep-shield/templates/configmap.yaml, k8s/base/configmap.yaml + Secret). */
  private static Map<String, String> chartClientSettings(String password) {
    return Map.of(
        "security.protocol", "SASL_SSL",
        "sasl.mechanism", "SCRAM-SHA-512",
        "ssl.truststore.type", "PEM",
        "ssl.truststore.location", dir.resolve("broker.pem").toString(),
        "sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + USER
            + "\" password=\"" + password + "\";");
  }

  private static ProtectionServer.Options options(Map<String, String> client) {
    StreamSettings settings = StreamSettings.defaults(2, Duration.ofMillis(300));
    ProtectionServer.Cluster cluster = new ProtectionServer.Cluster(client, Optional.empty(), true, 1,
        Optional.empty(), ProtectionServer.Cluster.DEFAULTS.registryConfig());
    return new ProtectionServer.Options(kafka.bootstrapServers(LISTENER), ProtectionServer.EMBEDDED,
        "sep-shield-sasl-" + System.nanoTime(), dir.resolve("state-" + System.nanoTime()).toString(), settings,
        bundles, ProtectionTopology.BUNDLE_UPDATES_TOPIC, "cpu", Method.SEP_FA_VR, Profile.FAST, 8, 1,
        Duration.ofSeconds(30), Duration.ofSeconds(20), Optional.empty(), cluster);
  }

  @Test
  void protectsOverSaslSslWithTheChartsSettings() throws Exception {
    Map<String, String> client = chartClientSettings(PASSWORD);
    ProtectionServer.Options o = options(client);
    int uploads = 3;
    try (ProtectionServer server = ProtectionServer.start(o, new PrintStream(new ByteArrayOutputStream()))) {
      assertTrue(server.ready());
      SchemaRegistryClient registry = new SchemaRegistryClient(server.schemaRegistryUrl());
      ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
      serializer.configure(Map.of(), false);
      Map<String, Object> producerConfig = new HashMap<>(client);
      producerConfig.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(LISTENER));
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
          new ByteArraySerializer())) {
        for (int i = 0; i < uploads; i++) {
          producer.send(new ProducerRecord<>(o.stream().uploadsTopic(), utf8("s-" + i),
              serializer.serialize(o.stream().uploadsTopic(), StreamFixtures.pngUpload(data, i, "s-" + i)))).get();
        }
      }
      Map<String, Object> consumerConfig = new HashMap<>(client);
      consumerConfig.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(LISTENER));
      consumerConfig.put(ConsumerConfig.GROUP_ID_CONFIG, "sasl-reader");
      consumerConfig.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      consumerConfig.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      Map<String, ProtectedImage> out = new HashMap<>();
      try (KafkaConsumer<String, ProtectedImage> consumer = new KafkaConsumer<>(consumerConfig,
          new StringDeserializer(), new ConfluentAvroDeserializer<>(registry, ProtectedImage.class))) {
        consumer.subscribe(List.of(o.stream().protectedTopic()));
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (out.size() < uploads && System.nanoTime() < deadline) {
          for (ConsumerRecord<String, ProtectedImage> r : consumer.poll(Duration.ofMillis(200))) {
            out.put(r.key(), r.value());
          }
        }
      }
      assertEquals(uploads, out.size(), "protected over SASL_SSL: " + out.keySet());
      for (int i = 0; i < uploads; i++) {
        byte[] pixels = PngCodec.decode(out.get("s-" + i).getPng().array(), 1).pixels();
        int delta = EpsilonBall.maxAbsDelta(data.image(i), pixels);
        assertTrue(delta > 0 && delta <= 8, "ε-bound on the published PNG: " + delta);
      }
    }
  }

  @Test
  void aWrongPasswordStopsStartUpNamingAuthenticationWithoutPrintingIt() throws Exception {
    String wrong = "not-the-password-42";
    ProtectionServer.Options o = options(chartClientSettings(wrong));
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    Exception e = assertThrows(Exception.class, () -> {
      try (ProtectionServer server = ProtectionServer.start(o, new PrintStream(log, true))) {
        fail("started with a wrong SCRAM password");
      }
    });
    String chain = describe(e);
    assertTrue(chain.contains("Authentication failed") || chain.contains("SaslAuthenticationException"), chain);
    assertFalse(chain.contains(wrong), "the password appears in the error: " + chain);
    assertFalse(log.toString(StandardCharsets.UTF_8).contains(wrong), "the password appears in the log");
  }

  private static String describe(Throwable e) {
    StringBuilder s = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      s.append(t.getClass().getName()).append(": ").append(t.getMessage()).append('\n');
    }
    return s.toString();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
