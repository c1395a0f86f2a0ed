package io.sepshield.lifecycle;

import io.sepshield.avro.BundleUpdated;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.registry.SchemaRegistryException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The bundle-updates topic: Avro {@code BundleUpdated} events (see {@link BundleUpdate} for the contract), published
 * by the retraining side and followed by every service instance.
 *
 * <p>A broadcast, not work to share: every instance must load every update. So the follower is a plain consumer
 * without a group: it assigns itself all partitions, commits no offsets, and on start reads the topic from the
 * beginning to its end so that the newest update wins over the configured bundle. A Kafka Streams global store would
 * broadcast as well, but it restores its store without calling our code and is tied to the stream's start, while
 * the bundle has to be loaded before the stream may start. Events carry one constant key, so they stay in order on
 * one partition even if the topic has several.
 */
public final class BundleUpdates implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(BundleUpdates.class.getName());
  /** Key of every event: one partition, hence one order. */
  public static final byte[] KEY = "bundle".getBytes(StandardCharsets.UTF_8);
  private static final Duration POLL = Duration.ofMillis(500);
  private static final Duration RETRY = Duration.ofSeconds(5);

  private final String topic;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final ConfluentAvroDeserializer<BundleUpdated> events;
  /** A follower that has not completed a poll for this long is reported unhealthy. */
  static final Duration STALL_LIMIT = Duration.ofMinutes(2);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);

  private volatile boolean running = true;
  private volatile Thread follower;
  private volatile long lastPollNanos = System.nanoTime();

  public BundleUpdates(String bootstrapServers, String topic, SchemaRegistryClient registry) {
    this(bootstrapServers, Map.of(), topic, registry);
  }

  /**
   * @param clientProperties extra consumer settings (security, timeouts), as for the stream's own clients
   */
  public BundleUpdates(String bootstrapServers, Map<String, String> clientProperties, String topic,
      SchemaRegistryClient registry) {
    this.topic = topic;
    Map<String, Object> config = new HashMap<>(clientProperties);
    config.putAll(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
        ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false,
        ConsumerConfig.CLIENT_ID_CONFIG, "sep-shield-bundle-updates"));
    this.consumer = new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    this.events = new ConfluentAvroDeserializer<>(registry, BundleUpdated.class);
  }

  /** Publishes an update and waits until the broker has it. */
  public static void publish(String bootstrapServers, SchemaRegistryClient registry, String topic,
      BundleUpdate update) throws ExecutionException, InterruptedException {
    publish(bootstrapServers, Map.of(), registry, topic, update);
  }

  /**
   * @param clientProperties Kafka client settings (security, timeouts), as {@code serve}'s
   *     {@code sep-shield.stream.kafka.*}; they win over ours
   */
  public static void publish(String bootstrapServers, Map<String, String> clientProperties,
      SchemaRegistryClient registry, String topic, BundleUpdate update)
      throws ExecutionException, InterruptedException {
    ConfluentAvroSerializer<BundleUpdated> serializer = new ConfluentAvroSerializer<>(registry);
    serializer.configure(Map.of(), false);
    Map<String, Object> producerConfig = new java.util.HashMap<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers, ProducerConfig.ACKS_CONFIG, "all"));
    producerConfig.putAll(clientProperties);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig,
        new ByteArraySerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(topic, KEY, serializer.serialize(topic, update.toAvro()))).get();
    }
  }

  /**
   * Reads the topic from the beginning to its current end, on the calling thread.
   *
   * @param holder told about unreadable events (counted as refusals)
   * @return the readable updates, oldest first (by record timestamp across partitions); empty if the topic does
   *     not exist yet
   */
  public List<BundleUpdate> catchUp(BundleHolder holder, Duration timeout) {
    if (!assign()) {
      LOG.log(System.Logger.Level.WARNING, "topic {0} does not exist (yet); serving the configured bundle", topic);
      return List.of();
    }
    Map<TopicPartition, Long> end = consumer.endOffsets(consumer.assignment());
    record Published(long timestamp, BundleUpdate update) {}
    List<Published> published = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (end.entrySet().stream().anyMatch(e -> consumer.position(e.getKey()) < e.getValue())) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("could not read " + topic + " to its end within " + timeout);
      }
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(POLL)) {
        BundleUpdate update = decode(r, holder);
        if (update != null) {
          published.add(new Published(r.timestamp(), update));
        }
      }
    }
    return published.stream().sorted(Comparator.comparingLong(Published::timestamp)).map(Published::update)
        .toList();
  }

  /**
   * Follows the topic on a thread of its own from where {@link #catchUp} stopped, offering updates to the holder. An
   * unexpected failure (broker unreachable past the client's own retries, authorization) is logged at ERROR and
   * retried with backoff; {@link #followerHealthy()} reports whether updates are still being received.
   */
  public void follow(BundleHolder holder) {
    lastPollNanos = System.nanoTime();
    follower = new Thread(() -> {
      int failures = 0;
      while (running) {
        try {
          pollOnce(holder);
          failures = 0;
        } catch (WakeupException | InterruptedException stopping) {
          return; // close() ends the loop
        } catch (RuntimeException e) {
          long pause = Math.min(MAX_BACKOFF.toMillis(), RETRY.toMillis() << Math.min(failures++, 10));
          LOG.log(System.Logger.Level.ERROR, "following " + topic + " failed; bundle updates are paused, retrying in "
              + pause + " ms", e);
          try {
            Thread.sleep(pause);
          } catch (InterruptedException stopping) {
            return;
          }
        }
      }
    }, "sep-shield-bundle-updates");
    follower.setDaemon(true);
    follower.start();
  }

  /**
   * For the readiness check: false once the follower thread has died, or has not completed a poll for {@link
   * #STALL_LIMIT} (failing, or stuck), since updates then stop reaching this instance. True before {@link #follow}
   * and after {@link #close}.
   */
  public boolean followerHealthy() {
    Thread t = follower;
    if (t == null || !running) {
      return true;
    }
    return t.isAlive() && System.nanoTime() - lastPollNanos < STALL_LIMIT.toNanos();
  }

  private void pollOnce(BundleHolder holder) throws InterruptedException {
    if (consumer.assignment().isEmpty() && !assign()) {
      lastPollNanos = System.nanoTime(); // the topic may be created later: waiting for it is healthy
      Thread.sleep(RETRY.toMillis());
      return;
    }
    var records = consumer.poll(POLL);
    lastPollNanos = System.nanoTime();
    for (ConsumerRecord<byte[], byte[]> r : records) {
      BundleUpdate update;
      try {
        update = decode(r, holder);
      } catch (RuntimeException unreachable) { // decode lets only a registry outage through
        LOG.log(System.Logger.Level.WARNING, "schema registry unreachable; retrying " + topic + " in " + RETRY);
        consumer.seek(new TopicPartition(r.topic(), r.partition()), r.offset());
        Thread.sleep(RETRY.toMillis());
        return;
      }
      if (update != null) {
        LOG.log(System.Logger.Level.INFO, "bundle update {0} from {1}", update.bundleId(), update.directory());
        holder.offer(update);
      }
    }
  }

  /**
   * The update in a record, or null (after telling the holder) when the record is unreadable. A schema registry
   * outage is not bad data: it propagates so that the caller retries.
   */
  private BundleUpdate decode(ConsumerRecord<byte[], byte[]> r, BundleHolder holder) {
    String where = r.topic() + "-" + r.partition() + "@" + r.offset();
    try {
      if (r.value() == null) {
        throw new IllegalArgumentException("record has no value");
      }
      return BundleUpdate.from(events.deserialize(r.topic(), r.value()));
    } catch (RuntimeException e) {
      if (SchemaRegistryException.retriableCause(e)) {
        throw e;
      }
      holder.refuse("event " + where, "unreadable: " + e.getMessage());
      return null;
    }
  }

  private boolean assign() {
    List<PartitionInfo> partitions = consumer.partitionsFor(topic);
    if (partitions == null || partitions.isEmpty()) {
      return false;
    }
    List<TopicPartition> all = partitions.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
    consumer.assign(all);
    consumer.seekToBeginning(all);
    return true;
  }

  /** True while the follower thread runs: false before {@link #follow}, after {@link #close} or a fatal error. */
  public boolean following() {
    Thread t = follower;
    return t != null && t.isAlive();
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    if (follower != null) {
      consumer.wakeup();
      follower.join(Duration.ofSeconds(10).toMillis());
    }
    consumer.close();
  }
}
