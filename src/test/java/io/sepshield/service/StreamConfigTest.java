package io.sepshield.service;

import static org.junit.jupiter.api.Assertions.*;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code sep-shield.stream.*} as Quarkus reads it (same mapping, same duration syntax) into the server options. */
class StreamConfigTest {
  private static ProtectionServer.Options read(Map<String, String> properties) {
    return read(properties, false);
  }

  private static ProtectionServer.Options read(Map<String, String> properties, boolean embedded) {
    // Quarkus' own converter reads "2s"-style durations; plain SmallRye does not. The default interceptors expand
    // ${...} expressions, as Quarkus does.
    SmallRyeConfig config = new SmallRyeConfigBuilder().addDefaultInterceptors().withMapping(StreamConfig.class)
        .withConverter(Duration.class, 200, new DurationConverter())
        .withSources(new PropertiesConfigSource(properties, "test", 500)).build();
    return ProtectionServer.from(config.getConfigMapping(StreamConfig.class), embedded);
  }

  private static final Map<String, String> CLUSTER = Map.of("sep-shield.stream.bootstrap-servers", "broker-0:9093",
      "sep-shield.stream.schema-registry-url", "http://registry:8081");

  @Test
  void withoutABrokerServeRefusesToStartAndNamesTheSetting() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> read(Map.of()));
    assertTrue(e.getMessage().contains("SEP_SHIELD_STREAM_BOOTSTRAP_SERVERS"), e.getMessage());
    IllegalArgumentException noRegistry = assertThrows(IllegalArgumentException.class,
        () -> read(Map.of("sep-shield.stream.bootstrap-servers", "broker-0:9093")));
    assertTrue(noRegistry.getMessage().contains("SEP_SHIELD_STREAM_SCHEMA_REGISTRY_URL"), noRegistry.getMessage());
  }

  @Test
  void theEmbeddedBrokerAndRegistryOnlyWhenAskedFor() {
    ProtectionServer.Options flag = read(Map.of(), true); // serve --embedded
    assertEquals(ProtectionServer.EMBEDDED, flag.bootstrapServers());
    assertEquals(ProtectionServer.EMBEDDED, flag.schemaRegistryUrl());
    ProtectionServer.Options dev = read(Map.of("sep-shield.stream.bootstrap-servers", "embedded")); // %dev
    assertEquals(ProtectionServer.EMBEDDED, dev.schemaRegistryUrl(), "an embedded broker brings its registry");
    ProtectionServer.Options real = read(CLUSTER);
    assertEquals("broker-0:9093", real.bootstrapServers());
    assertEquals(ProtectionServer.Cluster.DEFAULTS, real.cluster());
  }

  @Test
  void clusterSettingsReachTheOptions() {
    ProtectionServer.Options o = read(Map.of(
        "sep-shield.stream.bootstrap-servers", "broker-0:9093",
        "sep-shield.stream.schema-registry-url", "http://registry:8081",
        "sep-shield.stream.kafka.\"security.protocol\"", "SASL_SSL",
        "sep-shield.stream.kafka.\"sasl.mechanism\"", "SCRAM-SHA-512",
        "sep-shield.stream.group-instance-id", "sep-shield-0",
        "sep-shield.stream.create-topics", "false",
        "sep-shield.stream.topic-partitions", "6",
        "sep-shield.stream.topic-replication-factor", "3",
        "sep-shield.stream.schema-registry-basic-auth-user-info", "svc:secret"));
    ProtectionServer.Cluster c = o.cluster();
    assertEquals("broker-0:9093", o.bootstrapServers());
    assertEquals(Map.of("security.protocol", "SASL_SSL", "sasl.mechanism", "SCRAM-SHA-512"), c.clientProperties());
    assertEquals(Optional.of("sep-shield-0"), c.groupInstanceId());
    assertFalse(c.createTopics());
    assertEquals(6, c.topicPartitions());
    assertEquals(Optional.of((short) 3), c.replicationFactor());
    assertEquals("svc:secret", c.registryConfig().get("basic.auth.user.info"));
  }

  @Test
  void closeTimeoutFollowsQuarkusShutdownTimeoutUnlessSet() {
    assertEquals(Duration.ofSeconds(20), read(CLUSTER).closeTimeout());
    assertEquals(Duration.ofSeconds(50), read(with("quarkus.shutdown.timeout", "50s")).closeTimeout());
    ProtectionServer.Options o = read(with("sep-shield.stream.close-timeout", "45s",
        "sep-shield.stream.slowest-batch", "3m", "sep-shield.stream.progress-timeout", "7m"));
    assertEquals(Duration.ofSeconds(45), o.closeTimeout());
    assertEquals(Duration.ofMinutes(3), o.slowestBatch());
    assertEquals(Optional.of(Duration.ofMinutes(7)), o.progressTimeout());
    assertEquals(Optional.empty(), read(CLUSTER).progressTimeout(), "derived from the poll interval at start");
  }

  private static Map<String, String> with(String... keyValues) {
    Map<String, String> m = new java.util.HashMap<>(CLUSTER);
    for (int i = 0; i < keyValues.length; i += 2) {
      m.put(keyValues[i], keyValues[i + 1]);
    }
    return m;
  }

  @Test
  void metadataIsStrippedUnlessTheKeepListNamesItAndTiffIsAccepted() {
    io.sepshield.stream.StreamSettings defaults = read(CLUSTER).stream();
    assertEquals(java.util.Set.of(), defaults.keepMetadata(), "everything stripped by default");
    assertTrue(defaults.allowedContentTypes().contains("image/tiff"));
    assertEquals(java.util.EnumSet.of(io.sepshield.data.ImageMetadata.Kind.EXIF,
        io.sepshield.data.ImageMetadata.Kind.TEXT),
        read(with("sep-shield.stream.keep-metadata", "exif, text")).stream().keepMetadata());
    assertEquals(java.util.Set.of(), read(with("sep-shield.stream.keep-metadata", "none")).stream().keepMetadata());
    IllegalArgumentException gps = assertThrows(IllegalArgumentException.class,
        () -> read(with("sep-shield.stream.keep-metadata", "exif,gps")));
    assertTrue(gps.getMessage().contains("gps"), "serve refuses to start, naming the kind: " + gps.getMessage());
  }

  @Test
  void zeroPartitionsIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> read(with("sep-shield.stream.topic-partitions", "0")));
  }
}
