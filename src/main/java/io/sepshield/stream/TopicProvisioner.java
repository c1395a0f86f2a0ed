package io.sepshield.stream;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Creates the service's topics when they are missing, so that {@code serve} works against a fresh cluster, and
 * leaves existing topics alone (their partition count and settings belong to whoever created them).
 *
 * <p>Brokers usually run with {@code auto.create.topics.enable=false}; without this the stream would stop at start
 * with a missing-source-topic error. Clusters where the service account may not create topics set
 * {@code sep-shield.stream.create-topics=false} and provision them by other means (e.g. Strimzi KafkaTopic).
 */
public final class TopicProvisioner {
  private static final System.Logger LOG = System.getLogger(TopicProvisioner.class.getName());
  private static final long TIMEOUT_SECONDS = 60;

  /** A topic the service needs: name, partitions for a new one, and topic-level configs (e.g. compaction). */
  public record TopicSpec(String name, int partitions, Map<String, String> configs) {
    public static TopicSpec of(String name, int partitions) {
      return new TopicSpec(name, partitions, Map.of());
    }

    /** One partition, compacted: a log of the latest state rather than a stream of work. */
    public static TopicSpec compacted(String name) {
      return new TopicSpec(name, 1, Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
    }
  }

  private final Admin admin;
  private final Optional<Short> replicationFactor;

  /**
   * @param replicationFactor for new topics; empty = the broker's {@code default.replication.factor}
   */
  public TopicProvisioner(Admin admin, Optional<Short> replicationFactor) {
    this.admin = admin;
    this.replicationFactor = replicationFactor;
  }

  /**
   * Creates every missing topic and returns the partition count of each topic, created or existing.
   *
   * @throws IllegalStateException when the cluster cannot be reached or refuses the creation
   */
  public Map<String, Integer> ensure(List<TopicSpec> topics) throws InterruptedException {
    List<NewTopic> create = new ArrayList<>();
    for (TopicSpec t : topics) {
      create.add(new NewTopic(t.name(), Optional.of(t.partitions()), replicationFactor).configs(t.configs()));
    }
    List<String> created = new ArrayList<>();
    for (var entry : admin.createTopics(create).values().entrySet()) {
      try {
        entry.getValue().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        created.add(entry.getKey());
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException("cannot create topic " + entry.getKey() + ": " + e.getCause().getMessage()
              + " (set sep-shield.stream.create-topics=false and create it by other means if this account may "
              + "not)", e.getCause());
        }
      } catch (TimeoutException e) {
        throw new IllegalStateException("Kafka did not answer within " + TIMEOUT_SECONDS + " s while creating "
            + entry.getKey(), e);
      }
    }
    Map<String, Integer> partitions = describeAfterCreation(topics.stream().map(TopicSpec::name).toList());
    LOG.log(System.Logger.Level.INFO, "topics " + partitions + (created.isEmpty() ? "" : "; created " + created));
    return partitions;
  }

  /**
   * The controller acknowledges a creation before every broker's metadata cache has the topic, so a describe right
   * after it may see "unknown topic" for a moment: retried for a few seconds.
   */
  private Map<String, Integer> describeAfterCreation(List<String> names) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        return describe(names);
      } catch (IllegalStateException e) {
        if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(200);
      }
    }
  }

  /** Partition counts of existing topics; fails naming the first missing one. */
  public Map<String, Integer> describe(List<String> names) throws InterruptedException {
    Map<String, Integer> partitions = new LinkedHashMap<>();
    try {
      Map<String, TopicDescription> descriptions = admin.describeTopics(Set.copyOf(names)).allTopicNames()
          .get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
      for (String name : names) {
        partitions.put(name, descriptions.get(name).partitions().size());
      }
    } catch (ExecutionException e) {
      throw new IllegalStateException("missing or unreadable topic among " + names + ": " + e.getCause().getMessage(),
          e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException("Kafka did not answer within " + TIMEOUT_SECONDS + " s describing " + names, e);
    }
    return partitions;
  }
}
