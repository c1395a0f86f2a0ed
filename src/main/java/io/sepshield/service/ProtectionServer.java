package io.sepshield.service;

import ai.djl.Device;
import io.sepshield.model.DjlRuntime;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.stream.BundleHolder;
import io.sepshield.stream.BundleUpdates;
import io.sepshield.stream.EmbeddedKafka;
import io.sepshield.stream.ErrorStrategy;
import io.sepshield.stream.ProtectionEngine;
import io.sepshield.stream.ProtectionService;
import io.sepshield.stream.ProtectionTopology;
import io.sepshield.stream.StreamSettings;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The running streaming service: optional embedded broker and registry, the bundle (followed on the bundle-updates
 * topic and hot-swapped, see {@link BundleHolder}), Kafka Streams and the health endpoint. Ready once a bundle is
 * loaded and warmed up and the stream is RUNNING; a refused bundle update leaves it ready.
 *
 * <p>Kafka Streams is managed here rather than by the quarkus-kafka-streams extension: the extension starts its
 * topology when the application boots, and this application is a command-line tool whose batch commands (train,
 * protect, demo) must not connect to Kafka. Only {@code serve} and {@code stream-demo} create this object.
 */
public final class ProtectionServer implements AutoCloseable {
  public static final String EMBEDDED = "embedded";

  /** Everything {@link #start} needs; {@link #from(StreamConfig)} reads it from the Quarkus configuration. */
  public record Options(String bootstrapServers, String schemaRegistryUrl, String applicationId, String stateDir,
      StreamSettings stream, Path bundle, String bundleUpdatesTopic, String device, Method method, Profile profile, float eps255, long seed,
      Duration slowestBatch, String healthHost, int healthPort) {}

  public static Options from(StreamConfig c) {
    StreamSettings stream = new StreamSettings(c.uploadsTopic(), c.protectedTopic(), c.deadLetterTopic(),
        c.batchSize(), c.maxDelay(), c.allowedContentTypes(), c.maxBytes(), c.maxWidth(), c.maxHeight(),
        c.maxPixels(), ErrorStrategy.parse(c.errorStrategy()));
    return new Options(c.bootstrapServers(), c.schemaRegistryUrl(), c.applicationId(), c.stateDir().orElse(null),
        stream, Path.of(c.bundle()), c.bundleUpdatesTopic(), c.device(), Method.parse(c.method()), Profile.parse(c.profile()), c.eps(),
        c.seed(), c.slowestBatch(), c.healthHost(), c.healthPort());
  }

  private final HealthEndpoint health;
  private volatile boolean stopping;
  private EmbeddedKafka kafka;
  private InMemorySchemaRegistry registry;
  private BundleHolder bundles;
  private BundleUpdates updates;
  private ProtectionService service;
  private String bootstrapServers;
  private String registryUrl;

  private ProtectionServer(Options o) throws Exception {
    health = new HealthEndpoint(o.healthHost(), o.healthPort(), this::ready, this::live);
  }

  /** Starts everything; the health endpoint answers DOWN from the first moment until the service is ready. */
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
    log.println("health endpoint: http://" + o.healthHost() + ":" + health.port() + "/q/health/ready");
    bootstrapServers = o.bootstrapServers();
    if (EMBEDDED.equals(bootstrapServers)) {
      kafka = EmbeddedKafka.start();
      bootstrapServers = kafka.bootstrapServers();
      StreamSettings t = o.stream();
      kafka.createTopics(t.uploadsTopic(), t.protectedTopic(), t.deadLetterTopic(), o.bundleUpdatesTopic());
      log.println("embedded Kafka: " + bootstrapServers);
    }
    registryUrl = o.schemaRegistryUrl();
    if (EMBEDDED.equals(registryUrl)) {
      registry = new InMemorySchemaRegistry().start();
      registryUrl = registry.url();
      log.println("embedded schema registry: " + registryUrl);
    }
    Device device = DjlRuntime.device(o.device());
    SchemaRegistryClient registryClient = new SchemaRegistryClient(registryUrl);
    long t0 = System.nanoTime();
    bundles = BundleHolder.forBundle(o.bundle(),
        dir -> ProtectionEngine.load(dir, device, o.method(), o.profile(), o.eps255(), o.seed()));
    // The newest published update wins over the configured bundle, so read the topic before loading anything.
    updates = new BundleUpdates(bootstrapServers, o.bundleUpdatesTopic(), registryClient);
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
    service = new ProtectionService(bundles, o.stream(), config, registryClient).start();
    service.awaitRunning(Duration.ofMinutes(2));
    log.printf("protecting %s -> %s (dead letters: %s), batches of %d or every %d ms%n", o.stream().uploadsTopic(),
        o.stream().protectedTopic(), o.stream().deadLetterTopic(), o.stream().batchSize(),
        o.stream().maxDelay().toMillis());
  }

  public boolean ready() {
    return !stopping && bundles != null && bundles.hasEngine() && service != null
        && service.state() == KafkaStreams.State.RUNNING;
  }

  public boolean live() {
    return service == null || service.state().isRunningOrRebalancing() || service.state() == KafkaStreams.State.CREATED;
  }

  public int healthPort() {
    return health.port();
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
    if (service != null) {
      service.close();
    }
    if (bundles != null) {
      bundles.close(); // after the stream: no batch can use an engine any more
    }
    if (registry != null) {
      registry.close();
    }
    if (kafka != null) {
      kafka.close();
    }
    health.close();
  }
}
