package io.sepshield.service;

import static org.junit.jupiter.api.Assertions.*;

import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code sep-shield.stream.*} as Quarkus reads it (same mapping, same duration syntax) into the server options. */
class StreamConfigTest {
  @Test
  void closeTimeoutComesFromConfigurationWithADefault() {
    assertEquals(Duration.ofSeconds(20), options(Map.of()).closeTimeout());
    ProtectionServer.Options o = options(Map.of("sep-shield.stream.close-timeout", "45s",
        "sep-shield.stream.slowest-batch", "3m", "sep-shield.stream.health-port", "9100"));
    assertEquals(Duration.ofSeconds(45), o.closeTimeout());
    assertEquals(Duration.ofMinutes(3), o.slowestBatch());
    assertEquals(9100, o.healthPort());
  }

  private static ProtectionServer.Options options(Map<String, String> properties) {
    SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(StreamConfig.class)
        .withConverter(Duration.class, 200, new DurationConverter())
        .withSources(new PropertiesConfigSource(properties, "test", 500)).build();
    return ProtectionServer.from(config.getConfigMapping(StreamConfig.class));
  }
}
