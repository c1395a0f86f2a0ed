package io.sepshield.stream;

import io.sepshield.service.ProtectionServer;

/** The service contract against the in-process KRaft broker that `serve` starts for the embedded default. */
class EmbeddedKafkaStreamTest extends ProtectionServiceContract {
  @Override
  String bootstrapServers() {
    return ProtectionServer.EMBEDDED;
  }
}
