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
    // Quarkus' own converter reads "2s"-style durations; plain SmallRye does not.
    SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(StreamConfig.class)
        .withConverter(Duration.class, 200, new DurationConverter())
        .withSources(new PropertiesConfigSource(properties, "test", 500)).build();
    return ProtectionServer.from(config.getConfigMapping(StreamConfig.class));
  }

  @Test
  void defaultsRunTheEmbeddedService() {
    ProtectionServer.Options o = read(Map.of());
    assertEquals(ProtectionServer.EMBEDDED, o.bootstrapServers());
    assertEquals(ProtectionServer.Cluster.DEFAULTS, o.cluster());
  }

  @Test
  void clusterSettingsReachTheOptions() {
    ProtectionServer.Options o = read(Map.of(
        "sep-shield.stream.bootstrap-servers", "broker-0:9093",
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
    assertEquals("svc:secret", c.registryUserInfo());
  }

  @Test
  void closeTimeoutComesFromConfigurationWithADefault() {
    assertEquals(Duration.ofSeconds(20), read(Map.of()).closeTimeout());
    ProtectionServer.Options o = read(Map.of("sep-shield.stream.close-timeout", "45s",
        "sep-shield.stream.slowest-batch", "3m", "sep-shield.stream.health-port", "9100"));
    assertEquals(Duration.ofSeconds(45), o.closeTimeout());
    assertEquals(Duration.ofMinutes(3), o.slowestBatch());
    assertEquals(9100, o.healthPort());
  }

  @Test
  void zeroPartitionsIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> read(Map.of("sep-shield.stream.topic-partitions", "0")));
  }
}
