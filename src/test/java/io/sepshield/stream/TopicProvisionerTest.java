package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import io.sepshield.demo.EmbeddedKafka;

/** Topic creation against the in-process broker, as `serve` does it on a real cluster. */
class TopicProvisionerTest {
  private static EmbeddedKafka kafka;

  @BeforeAll
  static void startBroker() throws Exception {
    kafka = EmbeddedKafka.start();
  }

  @AfterAll
  static void stopBroker() {
    kafka.close();
  }

  @Test
  void createsMissingTopicsWithTheirSettingsAndLeavesExistingOnesAlone() throws Exception {
    kafka.createTopics("existing:2");
    try (Admin admin = kafka.admin()) {
      TopicProvisioner provisioner = new TopicProvisioner(admin, Optional.empty());
      Map<String, Integer> partitions = provisioner.ensure(List.of(TopicProvisioner.TopicSpec.of("existing", 3),
          TopicProvisioner.TopicSpec.of("fresh", 3), TopicProvisioner.TopicSpec.compacted("latest-state")));

      assertEquals(Map.of("existing", 2, "fresh", 3, "latest-state", 1), partitions,
          "an existing topic keeps its partitions; new ones get the requested count");
      ConfigResource compacted = new ConfigResource(ConfigResource.Type.TOPIC, "latest-state");
      Config config = admin.describeConfigs(Set.of(compacted)).all().get().get(compacted);
      assertEquals(TopicConfig.CLEANUP_POLICY_COMPACT, config.get(TopicConfig.CLEANUP_POLICY_CONFIG).value());
      // A second start finds everything in place.
      assertEquals(partitions, provisioner.ensure(List.of(TopicProvisioner.TopicSpec.of("existing", 3),
          TopicProvisioner.TopicSpec.of("fresh", 3), TopicProvisioner.TopicSpec.compacted("latest-state"))));
    }
  }

  @Test
  void describingAMissingTopicFailsNamingIt() throws Exception {
    try (Admin admin = kafka.admin()) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> new TopicProvisioner(admin, Optional.empty()).describe(List.of("never-created")));
      assertTrue(e.getMessage().contains("never-created"), e.getMessage());
    }
  }

  @Test
  void aReplicationFactorTheClusterCannotMeetIsRefusedWithTheTopicName() throws Exception {
    try (Admin admin = kafka.admin()) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> new TopicProvisioner(admin, Optional.of((short) 3)).ensure(List.of(
              TopicProvisioner.TopicSpec.of("needs-three-brokers", 1))));
      assertTrue(e.getMessage().contains("needs-three-brokers"), e.getMessage());
      assertTrue(e.getMessage().contains("create-topics=false"), e.getMessage());
    }
  }
}
