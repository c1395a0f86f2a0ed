package io.sepshield.reliability;

import io.sepshield.service.ProtectionServer;
import io.sepshield.service.StreamConfig;
import io.quarkus.runtime.configuration.DurationConverter;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * A protection processor JVM for tests: the same {@code sep-shield.stream.*} settings (system properties) through the
 * same configuration mapping and {@link ProtectionServer} as {@code serve}, without Quarkus' packaging, which the test
 * phase does not have yet (the crash soak command starts the packaged {@code serve} instead). Runs until killed.
 */
public final class PlainProcessorMain {
  private PlainProcessorMain() {}

  public static void main(String[] args) throws Exception {
    SmallRyeConfig config = new SmallRyeConfigBuilder().addDefaultSources().addDefaultInterceptors()
        .withConverter(Duration.class, 200, new DurationConverter()) // "2s", "1000ms" as in Quarkus
        .withMapping(StreamConfig.class).build();
    ProtectionServer.start(ProtectionServer.from(config.getConfigMapping(StreamConfig.class), false), System.err);
    new CountDownLatch(1).await();
  }
}
