package io.sepshield.service;

import ai.djl.Device;
import io.sepshield.model.DjlRuntime;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.storage.ClaimCheck;
import io.sepshield.stream.BundleHolder;
import io.sepshield.stream.BundleUpdates;
import io.sepshield.stream.EmbeddedKafka;
import io.sepshield.stream.ErrorStrategy;
import io.sepshield.stream.ProtectionEngine;
import io.sepshield.stream.ProtectionService;
import io.sepshield.stream.ProtectionTopology;
import io.sepshield.stream.StreamSettings;
import io.sepshield.stream.TopicProvisioner;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The running streaming service: optional embedded broker and registry, the bundle (followed on the bundle-updates
 * topic and hot-swapped, see {@link BundleHolder}), Kafka Streams and the operations endpoint (health probes,
 * metrics). Started once a bundle is loaded and warmed up and the stream first reached RUNNING; ready while it is
 * RUNNING; a refused bundle update leaves it ready.
 *
 * <p>Kafka Streams is managed here rather than by the quarkus-kafka-streams extension: the extension starts its
 * topology when the application boots, and this application is a command-line tool whose batch commands (train,
 * protect, demo) must not connect to Kafka. Only {@code serve} and {@code stream-demo} create this object.
 */
public final class ProtectionServer implements AutoCloseable, OpsEndpoint.Probes {
  public static final String EMBEDDED = "embedded";

  /** Everything {@link #start} needs; {@link #from(StreamConfig)} reads it from the Quarkus configuration. */
  public record Options(String bootstrapServers, String schemaRegistryUrl, String applicationId, String stateDir,
      StreamSettings stream, Path bundle, String bundleUpdatesTopic, String device, Method method, Profile profile,
      float eps255, long seed, Duration slowestBatch, Duration closeTimeout, String healthHost, int healthPort,
      Cluster cluster) {
    /** With {@link Cluster#DEFAULTS}: what the embedded default and tests need. */
    public Options(String bootstrapServers, String schemaRegistryUrl, String applicationId, String stateDir,
        StreamSettings stream, Path bundle, String bundleUpdatesTopic, String device, Method method, Profile profile,
        float eps255, long seed, Duration slowestBatch, Duration closeTimeout, String healthHost, int healthPort) {
      this(bootstrapServers, schemaRegistryUrl, applicationId, stateDir, stream, bundle, bundleUpdatesTopic, device,
          method, profile, eps255, seed, slowestBatch, closeTimeout, healthHost, healthPort, Cluster.DEFAULTS);
    }
  }

  /**
   * How to talk to a real cluster and registry (see {@link StreamConfig} for each setting).
   *
   * @param clientProperties extra Kafka client settings (security, timeouts); they win over ours
   * @param replicationFactor of created topics; empty: the broker's default
   * @param registryUserInfo {@code user:password} for the registry, or null
   */
  public record Cluster(Map<String, String> clientProperties, Optional<String> groupInstanceId, boolean createTopics,
      int topicPartitions, Optional<Short> replicationFactor, String registryUserInfo) {
    public static final Cluster DEFAULTS = new Cluster(Map.of(), Optional.empty(), true, 1, Optional.empty(), null);

    public Cluster {
      clientProperties = Map.copyOf(clientProperties);
      if (topicPartitions < 1) {
        throw new IllegalArgumentException("topic-partitions must be at least 1, got " + topicPartitions);
      }
    }
  }

  public static Options from(StreamConfig c) {
    StreamSettings stream = new StreamSettings(c.uploadsTopic(), c.protectedTopic(), c.deadLetterTopic(),
        c.batchSize(), c.maxDelay(), c.allowedContentTypes(), c.maxBytes(), c.maxWidth(), c.maxHeight(),
        c.maxPixels(), ErrorStrategy.parse(c.errorStrategy()),
        StreamConfig.NONE.equals(c.failuresTopic()) ? null : c.failuresTopic())
        .withBatching(c.maxBatchPixels(), c.secondsPerMegapixel())
        .withClaimCheck(new ClaimCheck.Settings(c.claimCheckAllowed().orElse(List.of()),
            c.claimCheckOutput().orElse(null), c.claimCheckOutputThreshold(), c.s3Endpoint().orElse(null),
            c.s3Region().orElse(null), c.s3PathStyle()));
    Cluster cluster = new Cluster(c.kafka(), c.groupInstanceId(), c.createTopics(), c.topicPartitions(),
        c.topicReplicationFactor(), c.schemaRegistryBasicAuthUserInfo().orElse(null));
    return new Options(c.bootstrapServers(), c.schemaRegistryUrl(), c.applicationId(), c.stateDir().orElse(null),
        stream, Path.of(c.bundle()), c.bundleUpdatesTopic(), c.device(), Method.parse(c.method()),
        Profile.parse(c.profile()), c.eps(), c.seed(), c.slowestBatch(), c.closeTimeout(), c.healthHost(),
        c.healthPort(), cluster);
  }

  private final ServiceMetrics metrics;
  private final OpsEndpoint ops;
  private volatile boolean stopping;
  private volatile boolean started;
  private EmbeddedKafka kafka;
  private InMemorySchemaRegistry registry;
  private volatile BundleHolder bundles; // read by the metrics endpoint's thread
  private BundleUpdates updates;
  private ProtectionService service;
  private String bootstrapServers;
  private String registryUrl;

  private ProtectionServer(Options o) throws Exception {
    metrics = new ServiceMetrics(() -> bundles);
    try {
      ops = new OpsEndpoint(o.healthHost(), o.healthPort(), this, metrics::scrape);
    } catch (IOException | RuntimeException e) {
      metrics.close();
      throw e;
    }
  }

  /** Starts everything; the health probes answer DOWN from the first moment until the service is started. */
  public static ProtectionServer start(Options o, PrintStream log) throws Exception {
    ProtectionServer s = new ProtectionServer(o);
    try {
      s.startUp(o, log);
      return s;
    } catch (Exception | Error e) {
      s.close();
      throw e;
    }
  }

  private void startUp(Options o, PrintStream log) throws Exception {
    log.println("operations endpoint: http://" + o.healthHost() + ":" + ops.port() + "/q/health, /q/metrics");
    bootstrapServers = o.bootstrapServers();
    if (EMBEDDED.equals(bootstrapServers)) {
      kafka = EmbeddedKafka.start();
      bootstrapServers = kafka.bootstrapServers();
      log.println("embedded Kafka: " + bootstrapServers);
    }
    provisionTopics(o, log);
    registryUrl = o.schemaRegistryUrl();
    if (EMBEDDED.equals(registryUrl)) {
      registry = new InMemorySchemaRegistry().start();
      registryUrl = registry.url();
      log.println("embedded schema registry: " + registryUrl);
    }
    Device device = DjlRuntime.device(o.device());
    SchemaRegistryClient registryClient = new SchemaRegistryClient(registryUrl, o.cluster().registryUserInfo());
    long t0 = System.nanoTime();
    bundles = BundleHolder.forBundle(o.bundle(),
        dir -> ProtectionEngine.load(dir, device, o.method(), o.profile(), o.eps255(), o.seed()));
    // The newest published update wins over the configured bundle, so read the topic before loading anything.
    updates = new BundleUpdates(bootstrapServers, o.cluster().clientProperties(), o.bundleUpdatesTopic(),
        registryClient);
    bundles.start(updates.catchUp(bundles, Duration.ofMinutes(1)));
    updates.follow(bundles);
    try (BundleHolder.Lease lease = bundles.acquire()) {
      log.printf("bundle %s loaded on %s and warmed up in %d ms; %s; following %s for updates%n",
          lease.engine().bundleId(), device, (System.nanoTime() - t0) / 1_000_000, lease.engine().settings(),
          o.bundleUpdatesTopic());
    }
    if (kafka != null) {
      log.printf("publish a bundle update: ./sep-shield train ... --publish-to %s --schema-registry-url %s%n",
          bootstrapServers, registryUrl);
    }
    Properties config = ProtectionTopology.streamsConfig(o.applicationId(), bootstrapServers, o.stream(),
        o.slowestBatch());
    if (o.stateDir() != null) {
      config.put(StreamsConfig.STATE_DIR_CONFIG, o.stateDir());
    } else if (kafka != null) {
      // An embedded broker is new on every start; state left from an earlier one would not match its topics.
      config.put(StreamsConfig.STATE_DIR_CONFIG, kafka.directory().resolve("streams-state").toString());
    }
    o.cluster().groupInstanceId().ifPresent(id -> config.put(
        StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), id));
    config.putAll(o.cluster().clientProperties());
    service = new ProtectionService(bundles, o.stream(), config, registryClient, metrics.stream(), o.closeTimeout())
        .start();
    service.awaitRunning(Duration.ofMinutes(2));
    started = true;
    log.printf("protecting %s -> %s (dead letters: %s), batches of %d or every %d ms%n", o.stream().uploadsTopic(),
        o.stream().protectedTopic(), o.stream().deadLetterTopic(), o.stream().batchSize(),
        o.stream().maxDelay().toMillis());
  }

  /** Creates missing topics (or, with create-topics off, checks that they exist) before the stream needs them. */
  private void provisionTopics(Options o, PrintStream log) throws InterruptedException {
    Map<String, Object> adminConfig = new HashMap<>(o.cluster().clientProperties());
    adminConfig.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    StreamSettings t = o.stream();
    // Sized to the one record limit (max.message.bytes), see ProtectionTopology.topics.
    List<TopicProvisioner.TopicSpec> topics = new ArrayList<>(ProtectionTopology.topics(t,
        o.cluster().topicPartitions()));
    // Every event has the same key: compaction keeps the newest bundle, which is what a starting instance wants.
    topics.add(TopicProvisioner.TopicSpec.compacted(o.bundleUpdatesTopic()));
    try (Admin admin = Admin.create(adminConfig)) {
      TopicProvisioner provisioner = new TopicProvisioner(admin, o.cluster().replicationFactor());
      Map<String, Integer> partitions = kafka != null || o.cluster().createTopics() ? provisioner.ensure(topics)
          : provisioner.describe(topics.stream().map(TopicProvisioner.TopicSpec::name).toList());
      log.println("topics (partitions): " + partitions);
    }
  }

  @Override
  public boolean started() {
    return started;
  }

  @Override
  public boolean ready() {
    return !stopping && bundles != null && bundles.hasEngine() && service != null
        && service.state() == KafkaStreams.State.RUNNING;
  }

  @Override
  public boolean live() {
    return service == null || service.state().isRunningOrRebalancing() || service.state() == KafkaStreams.State.CREATED;
  }

  public int healthPort() {
    return ops.port();
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String schemaRegistryUrl() {
    return registryUrl;
  }

  /** The served bundle: its id, hot swaps and refused updates. */
  public BundleHolder bundles() {
    return bundles;
  }

  public ProtectionService service() {
    return service;
  }

  @Override
  public void close() throws Exception {
    // Reverse order of start: the stream commits and leaves before the broker goes away.
    stopping = true;
    if (updates != null) {
      updates.close();
    }
    boolean streamStopped = service == null || service.stop();
    if (bundles != null && streamStopped) {
      // After the stream, so no batch can use an engine any more; not under a stream thread still crafting past the
      // close timeout: it would use freed memory.
      bundles.close();
    }
    if (registry != null) {
      registry.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    ops.close();
    metrics.close();
  }
}
