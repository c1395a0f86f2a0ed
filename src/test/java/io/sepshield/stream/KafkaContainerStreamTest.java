package io.sepshield.stream;

import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.kafka.KafkaContainer;

/**
 * The same service contract against Apache Kafka in a container, as on a real cluster: the service must create its
 * topics there itself. Skipped where there is no Docker engine (CI here has none; developer machines usually do).
 */
@Testcontainers(disabledWithoutDocker = true)
class KafkaContainerStreamTest extends ProtectionServiceContract {
  @Container
  static final KafkaContainer KAFKA = new KafkaContainer("apache/kafka:4.1.0");

  @Override
  String bootstrapServers() {
    return KAFKA.getBootstrapServers();
  }
}
