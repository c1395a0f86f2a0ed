package io.sepshield.service;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sepshield.data.ImageMetadata;
import io.sepshield.demo.EmbeddedKafka;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProgressWatchdog;
import io.sepshield.lifecycle.ServedModel;
import io.sepshield.model.DjlRuntime;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.storage.ClaimCheck;
import io.sepshield.stream.ErrorStrategy;
import io.sepshield.stream.ProtectionService;
import io.sepshield.stream.ProtectionTopology;
import io.sepshield.stream.StreamSettings;
import io.sepshield.stream.TopicProvisioner;
import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The running streaming service, a CDI bean: the embedded broker and registry when asked for, the bundle (through
 * {@link ServedModel}, followed on the bundle-updates topic and hot-swapped), and Kafka Streams. {@code serve} and
 * {@code stream-demo} {@link #launch} it; Quarkus stops it ({@link PreDestroy}) on SIGTERM or when the command ends,
 * before {@link ServedModel} frees the engines. Its state is what the health checks ({@link ServiceHealth}) report.
 *
 * <p>Kafka Streams is run here rather than by the quarkus-kafka-streams extension, which does not fit: it builds and
 * starts its {@code KafkaStreams} when the application boots, so every batch command (train, protect, demo) would
 * connect to Kafka; it reads the bootstrap servers from configuration, but the embedded broker of
 * {@code stream-demo}/{@code --embedded} only has an address once started; the bundle must be loaded and the
 * bundle-updates topic read before the stream may start (the extension starts it on its own schedule); and its
 * configuration lives under {@code quarkus.kafka-streams.*}, not this service's {@code sep-shield.stream.*}.
 * Everything around it is Quarkus': configuration mapping, CDI lifecycle, SmallRye Health and Micrometer.
 *
 * <p>Outside a container (tests, tools) {@link #start(Options, PrintStream)} builds one with its own in-memory
 * meters and model, and {@link #close()} frees them.
 */
@ApplicationScoped
public class ProtectionServer implements AutoCloseable {
  public static final String EMBEDDED = "embedded";
  private static final String BOOTSTRAP_ENV = "SEP_SHIELD_STREAM_BOOTSTRAP_SERVERS";
  private static final String REGISTRY_ENV = "SEP_SHIELD_STREAM_SCHEMA_REGISTRY_URL";

  /** Everything {@link #launch} needs; {@link #from(StreamConfig, boolean)} reads it from the configuration. */
  public record Options(String bootstrapServers, String schemaRegistryUrl, String applicationId, String stateDir,
      StreamSettings stream, Path bundle, String bundleUpdatesTopic, String device, Method method, Profile profile,
      float eps255, long seed, Duration slowestBatch, Duration closeTimeout, Optional<Duration> progressTimeout,
      Cluster cluster) {
    /** With {@link Cluster#DEFAULTS} and the default progress timeout: what the embedded demo and tests need. */
    public Options(String bootstrapServers, String schemaRegistryUrl, String applicationId, String stateDir,
        StreamSettings stream, Path bundle, String bundleUpdatesTopic, String device, Method method, Profile profile,
        float eps255, long seed, Duration slowestBatch, Duration closeTimeout) {
      this(bootstrapServers, schemaRegistryUrl, applicationId, stateDir, stream, bundle, bundleUpdatesTopic, device,
          method, profile, eps255, seed, slowestBatch, closeTimeout, Optional.empty(), Cluster.DEFAULTS);
    }
  }

  /**
   * How to talk to a real cluster and registry (see {@link StreamConfig} for each setting).
   *
   * @param clientProperties extra Kafka client settings (security, timeouts); they win over ours
   * @param replicationFactor of created topics; empty: the broker's default
   * @param registryConfig the registry client's settings in Confluent's keys (basic auth, TLS, output schema policy,
   *     retries; {@link StreamConfig#schemaRegistryConfig()}); the URL in it is replaced by the resolved one
   */
  public record Cluster(Map<String, String> clientProperties, Optional<String> groupInstanceId, boolean createTopics,
      int topicPartitions, Optional<Short> replicationFactor, Map<String, Object> registryConfig) {
    public static final Cluster DEFAULTS = new Cluster(Map.of(), Optional.empty(), true, 1, Optional.empty(),
        Map.of("auto.register.schemas", true, "use.latest.version", false));

    public Cluster {
      clientProperties = Map.copyOf(clientProperties);
      registryConfig = Map.copyOf(registryConfig);
      if (topicPartitions < 1) {
        throw new IllegalArgumentException("topic-partitions must be at least 1, got " + topicPartitions);
      }
    }

    /** The registry client for {@code url}, with every setting of {@link #registryConfig()}. */
    SchemaRegistryClient registryClient(String url) {
      Map<String, Object> config = new HashMap<>(registryConfig);
      config.put("schema.registry.url", url);
      return SchemaRegistryClient.fromConfig(config);
    }

    /** Settings may hold SASL JAAS configs, registry credentials and key store passwords: never print them. */
    @Override
    public String toString() {
      return "Cluster[clientProperties=" + Secrets.toString(clientProperties) + ", groupInstanceId="
          + groupInstanceId + ", createTopics=" + createTopics + ", topicPartitions=" + topicPartitions
          + ", replicationFactor=" + replicationFactor + ", registryConfig=" + Secrets.toString(registryConfig) + "]";
    }
  }

  /**
   * The options {@code serve} runs with. A real deployment names its broker and registry; without them this fails
   * at once, naming the setting, rather than quietly running on an in-process broker that nothing else can reach.
   *
   * @param embedded run the in-process broker and registry ({@code serve --embedded})
   * @throws IllegalArgumentException when the broker or the registry is not configured
   */
  public static Options from(StreamConfig c, boolean embedded) {
    String bootstrap = embedded ? EMBEDDED : c.bootstrapServers().filter(s -> !s.isBlank()).orElseThrow(() ->
        new IllegalArgumentException("no Kafka bootstrap servers: set " + BOOTSTRAP_ENV
            + " (sep-shield.stream.bootstrap-servers), or run `serve --embedded` for an in-process broker and "
            + "registry (demo only)"));
    String registry = embedded ? EMBEDDED : c.schemaRegistryUrl().filter(s -> !s.isBlank())
        .orElseGet(() -> {
          if (EMBEDDED.equals(bootstrap)) {
            return EMBEDDED;
          }
          throw new IllegalArgumentException("no schema registry: set " + REGISTRY_ENV
              + " (sep-shield.stream.schema-registry-url)");
        });
    StreamSettings stream = new StreamSettings(c.uploadsTopic(), c.protectedTopic(), c.deadLetterTopic(),
        c.batchSize(), c.maxDelay(), c.allowedContentTypes(), c.maxBytes(), c.maxWidth(), c.maxHeight(),
        c.maxPixels(), ErrorStrategy.parse(c.errorStrategy()),
        StreamConfig.NONE.equals(c.failuresTopic()) ? null : c.failuresTopic())
        .withBatching(c.maxBatchPixels(), c.secondsPerMegapixel()).withSlowestBatch(c.slowestBatch())
        .withClaimCheck(new ClaimCheck.Settings(c.claimCheckAllowed().orElse(List.of()),
            c.claimCheckOutput().orElse(null), c.claimCheckOutputThreshold(), c.s3Endpoint().orElse(null),
            c.s3Region().orElse(null), c.s3PathStyle()))
        .withKeepMetadata(ImageMetadata.Kind.parseList(c.keepMetadata()));
    Cluster cluster = new Cluster(c.kafka(), c.groupInstanceId(), c.createTopics(), c.topicPartitions(),
        c.topicReplicationFactor(), withoutUrl(c.schemaRegistryConfig()));
    return new Options(bootstrap, registry, c.applicationId(), c.stateDir().orElse(null), stream,
        Path.of(c.bundle()), c.bundleUpdatesTopic(), c.device(), Method.parse(c.method()), Profile.parse(c.profile()),
        c.eps(), c.seed(), c.slowestBatch(), c.closeTimeout(), c.progressTimeout(), cluster);
  }

  /** The URL travels in {@link Options#schemaRegistryUrl()}, resolved at start (an embedded registry's port). */
  private static Map<String, Object> withoutUrl(Map<String, Object> registryConfig) {
    Map<String, Object> c = new HashMap<>(registryConfig);
    c.remove("schema.registry.url");
    return c;
  }

  private StreamMetrics metrics;
  private ServedModel model;
  private boolean ownsModel;
  private final Object lifecycle = new Object();
  private volatile boolean stopping;
  private volatile boolean launched;
  private EmbeddedKafka kafka;
  private InMemorySchemaRegistry registry;
  private ScheduledExecutorService gaugeRefresh;
  private volatile ProtectionService service;
  private volatile long streamStartedNanos;
  private volatile Duration progressTimeout = Duration.ofMinutes(5);
  private String bootstrapServers;
  private String registryUrl;
  private PrintStream log = System.err;

  /** The bean: meters on Quarkus' registry (scraped on /q/metrics), the model bean that outlives the stream. */
  @Inject
  ProtectionServer(MeterRegistry meters, ServedModel model) {
    this(meters, model, false);
  }

  private ProtectionServer(MeterRegistry meters, ServedModel model, boolean ownsModel) {
    this.metrics = new StreamMetrics(meters);
    this.model = model;
    this.ownsModel = ownsModel;
    metrics.followBundles(model::bundles);
  }

  /** Outside a container: a server with in-memory meters and a model of its own, freed by {@link #close()}. */
  public static ProtectionServer start(Options o, PrintStream log) throws Exception {
    return start(o, log, new SimpleMeterRegistry());
  }

  /** Outside a container, with its meters on {@code meters}. */
  public static ProtectionServer start(Options o, PrintStream log, MeterRegistry meters) throws Exception {
    ProtectionServer s = new ProtectionServer(meters, new ServedModel(), true);
    try {
      return s.launch(o, log);
    } catch (Exception | Error e) {
      s.close();
      throw e;
    }
  }

  /**
   * Starts everything, in order: broker and registry (when embedded), topics, the bundle (loaded, warmed up, the
   * updates topic followed), then the stream, and waits until it is RUNNING. Once only.
   */
  public ProtectionServer launch(Options o, PrintStream log) throws Exception {
    synchronized (lifecycle) {
      if (launched || stopping) {
        throw new IllegalStateException(stopping ? "the service is stopping" : "the service is already running");
      }
      launched = true;
      this.log = log;
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
    }
    SchemaRegistryClient registryClient = o.cluster().registryClient(registryUrl);
    long t0 = System.nanoTime();
    ServedModel.EngineSpec spec = new ServedModel.EngineSpec(DjlRuntime.device(o.device()), o.method(), o.profile(),
        o.eps255(), o.seed());
    // The newest published update wins over the configured bundle, so the topic is read before anything loads.
    BundleHolder bundles = model.start(o.bundle(), spec, new ServedModel.UpdatesTopic(bootstrapServers,
        o.cluster().clientProperties(), o.bundleUpdatesTopic(), registryClient), Duration.ofMinutes(1));
    try (BundleHolder.Lease lease = bundles.acquire()) {
      log.printf("bundle %s loaded on %s and warmed up in %d ms; %s; following %s for updates%n",
          lease.engine().bundleId(), spec.device(), (System.nanoTime() - t0) / 1_000_000, lease.engine().settings(),
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
    // Past max.poll.interval.ms Kafka hands a silent thread's partitions to another member: stuck by any measure.
    progressTimeout = o.progressTimeout().orElseGet(() -> Duration.ofMillis(Long.parseLong(String.valueOf(
        config.getOrDefault(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG), 300_000)))));
    synchronized (lifecycle) {
      if (stopping) {
        throw new IllegalStateException("stopped while starting");
      }
      service = new ProtectionService(bundles, o.stream(), config, registryClient, metrics, o.closeTimeout());
      streamStartedNanos = System.nanoTime();
      service.start();
      // The bundle gauge carries the id as a tag, so it is re-registered when the bundle changes; Prometheus
      // scrapes have no hook to do it, hence a refresh every second.
      gaugeRefresh = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sep-shield-gauges");
        t.setDaemon(true);
        return t;
      });
      gaugeRefresh.scheduleWithFixedDelay(metrics::refresh, 0, 1, TimeUnit.SECONDS);
    }
    awaitRunning(Duration.ofMinutes(2));
    log.printf("protecting %s -> %s (dead letters: %s), batches of %d or every %d ms%n", o.stream().uploadsTopic(),
        o.stream().protectedTopic(), o.stream().deadLetterTopic(), o.stream().batchSize(),
        o.stream().maxDelay().toMillis());
    return this;
  }

  private void awaitRunning(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (service.state() != KafkaStreams.State.RUNNING) {
      KafkaStreams.State state = service.state();
      if (stopping || (!state.isRunningOrRebalancing() && state != KafkaStreams.State.CREATED)) {
        throw new IllegalStateException("protection stream is " + state + (stopping ? " (stopping)" : ""));
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("protection stream not running after " + timeout + ": " + state);
      }
      Thread.sleep(50);
    }
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

  /** Startup: a bundle is loaded and warmed up. */
  public boolean started() {
    return model.loaded();
  }

  /** Readiness: the stream is RUNNING (not rebalancing, restoring or stopping) and bundle updates are followed. */
  public boolean ready() {
    ProtectionService s = service;
    return !stopping && s != null && s.state() == KafkaStreams.State.RUNNING && model.loaded()
        && model.followingUpdates();
  }

  /** The bundle-updates follower runs (a published bundle would be swapped in). */
  public boolean followingUpdates() {
    return model.followingUpdates();
  }

  /**
   * Liveness: why the process should be restarted, empty while it is making progress. A crafting call or a stream
   * thread stuck past {@link #progressTimeout()} (its Kafka Streams state stays RUNNING meanwhile), or a stream that
   * died (ERROR is final: only a new process brings it back).
   */
  public List<String> stuck() {
    Duration bound = progressTimeout;
    List<String> problems = new ArrayList<>();
    for (ProgressWatchdog.Overdue call : model.watchdog().overdue(bound)) {
      problems.add(call.toString());
    }
    ProtectionService s = service;
    if (s != null) {
      Duration alive = Duration.ofNanos(System.nanoTime() - streamStartedNanos);
      metrics.sinceLastPoll().forEach((thread, silent) -> {
        // A consumer that has not polled yet reports the time since the epoch: not stuck, just new.
        if (silent.compareTo(bound) > 0 && silent.compareTo(alive) < 0) {
          problems.add(thread + " has not polled Kafka for " + silent.toSeconds() + " s");
        }
      });
      if (s.state() == KafkaStreams.State.ERROR) {
        problems.add("the protection stream died (state ERROR)");
      }
    }
    return problems;
  }

  /** How long a crafting call or a stream thread may go without returning before liveness fails. */
  public Duration progressTimeout() {
    return progressTimeout;
  }

  public String bootstrapServers() {
    return bootstrapServers;
  }

  public String schemaRegistryUrl() {
    return registryUrl;
  }

  /** The served bundle: its id, hot swaps and refused updates (null before {@link #launch}). */
  public BundleHolder bundles() {
    return model.bundles();
  }

  public ProtectionService service() {
    return service;
  }

  /** Its meters (on Quarkus' registry in the application). */
  public StreamMetrics metrics() {
    return metrics;
  }

  /**
   * Stops the stream, which finishes the batch in hand and commits within the close timeout, then the broker and
   * registry if embedded. The engines are freed by {@link ServedModel} afterwards, or kept if the stream did not
   * stop in time (a stream thread may still use one). Idempotent; Quarkus calls it on shutdown.
   */
  @PreDestroy
  @Override
  public void close() {
    stopping = true;
    synchronized (lifecycle) {
      if (gaugeRefresh != null) {
        gaugeRefresh.shutdownNow();
      }
      ProtectionService s = service;
      if (s != null && s.state() != KafkaStreams.State.NOT_RUNNING) {
        log.println("stopping: closing the protection stream (close timeout applies)");
        long t0 = System.nanoTime();
        boolean stopped = s.stop();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        log.println(stopped ? "stopped in " + ms + " ms" : "gave up after " + ms + " ms with the stream "
            + s.state() + "; its open transaction is aborted and redone");
        if (!stopped) {
          model.retainEngines();
        }
      }
      model.stopFollowing(); // its consumer needs the broker, which may be ours and about to stop
      if (ownsModel) {
        model.close();
      }
      closeQuietly(registry);
      registry = null;
      closeQuietly(kafka);
      kafka = null;
    }
  }

  private static void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      System.getLogger(ProtectionServer.class.getName()).log(System.Logger.Level.WARNING, "closing " + c, e);
    }
  }
}
