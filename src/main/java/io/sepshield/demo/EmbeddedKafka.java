package io.sepshield.demo;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A single-node Kafka cluster in this JVM: one KRaft server in combined broker + controller mode, bound to 127.0.0.1
 * on ephemeral ports, storage in a temporary directory deleted on {@link #close()}. Replication factors are 1, so
 * transactions (exactly-once) work with one broker. For the stream demo and integration tests, not production.
 *
 * <p>Start-up mirrors what {@code kafka-storage.sh format} and {@code kafka-server-start.sh} do: format the log
 * directory with a fresh cluster id, then run {@link KafkaRaftServer}.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(EmbeddedKafka.class.getName());
  private static final int NODE_ID = 1;
  private static final String CONTROLLER = "CONTROLLER";

  private final Path directory;
  private final KafkaRaftServer server;
  private final String bootstrapServers;
  private final Map<String, String> listenerAddresses;

  /**
   * A further client listener besides the broker's own PLAINTEXT one, e.g. {@code SASL_SSL} to try the service's
   * security settings against a real broker. Its own settings go into the overrides with Kafka's per-listener prefix
   * ({@code listener.name.<lower-case name>.ssl.keystore.location}, {@code ...scram-sha-512.sasl.jaas.config}).
   */
  public record Listener(String name, String securityProtocol) {}

  private EmbeddedKafka(Path directory, KafkaRaftServer server, String bootstrapServers,
      Map<String, String> listenerAddresses) {
    this.directory = directory;
    this.server = server;
    this.bootstrapServers = bootstrapServers;
    this.listenerAddresses = Map.copyOf(listenerAddresses);
  }

  /** Formats storage, starts the server and waits until it answers metadata requests. */
  public static EmbeddedKafka start() throws Exception {
    return start(Map.of());
  }

  /**
   * @param overrides broker settings applied last (e.g. {@code transaction.max.timeout.ms} or
   *     {@code message.max.bytes}); everything not given keeps Kafka's default
   */
  public static EmbeddedKafka start(Map<String, String> overrides) throws Exception {
    return start(overrides, List.of());
  }

  /**
   * @param overrides as in {@link #start(Map)}, including the extra listeners' own settings
   * @param extra client listeners besides PLAINTEXT, each on its own ephemeral port ({@link #bootstrapServers(String)})
   */
  public static EmbeddedKafka start(Map<String, String> overrides, List<Listener> extra) throws Exception {
    Path dir = Files.createTempDirectory("sep-shield-kafka-");
    try {
      // Ports are reserved and released just before the server binds them: the voter address must be known when
      // the configuration is written, so the controller cannot simply take port 0.
      int brokerPort = freePort();
      int controllerPort = freePort();
      String logDir = dir.resolve("log").toString();
      Map<String, String> props = new HashMap<>();
      props.put("process.roles", "broker,controller");
      props.put("node.id", Integer.toString(NODE_ID));
      props.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
      Map<String, String> addresses = new HashMap<>();
      StringBuilder listeners = new StringBuilder("PLAINTEXT://127.0.0.1:" + brokerPort);
      StringBuilder protocols = new StringBuilder("PLAINTEXT:PLAINTEXT");
      for (Listener l : extra) {
        String address = "127.0.0.1:" + freePort();
        addresses.put(l.name(), address);
        listeners.append(',').append(l.name()).append("://").append(address);
        protocols.append(',').append(l.name()).append(':').append(l.securityProtocol());
      }
      props.put("advertised.listeners", listeners.toString());
      props.put("listeners", listeners + "," + CONTROLLER + "://127.0.0.1:" + controllerPort);
      props.put("controller.listener.names", CONTROLLER);
      props.put("listener.security.protocol.map", protocols + "," + CONTROLLER + ":PLAINTEXT");
      props.put("inter.broker.listener.name", "PLAINTEXT");
      props.put("log.dirs", logDir);
      // One broker: every internal topic must live with replication factor 1 (transactions need this too).
      props.put("offsets.topic.replication.factor", "1");
      props.put("offsets.topic.num.partitions", "1");
      props.put("transaction.state.log.replication.factor", "1");
      props.put("transaction.state.log.min.isr", "1");
      props.put("transaction.state.log.num.partitions", "1");
      props.put("share.coordinator.state.topic.replication.factor", "1");
      props.put("share.coordinator.state.topic.min.isr", "1");
      props.put("group.initial.rebalance.delay.ms", "0");
      props.put("num.partitions", "1");
      props.put("auto.create.topics.enable", "false");
      // Small and quick: a demo broker on a shared machine.
      props.put("log.cleaner.dedupe.buffer.size", Integer.toString(2 << 20));
      props.put("num.network.threads", "2");
      props.put("num.io.threads", "2");
      // No size settings: message.max.bytes and the rest stay at Kafka's defaults (1 MiB), as on a stock cluster,
      // so the tests see what the service's topic and client settings do, not a broker raised to hide them.
      props.putAll(overrides);
      KafkaConfig config = new KafkaConfig(props, false);

      ByteArrayOutputStream formatLog = new ByteArrayOutputStream();
      new Formatter()
          .setPrintStream(new PrintStream(formatLog, true))
          .setNodeId(NODE_ID)
          .setClusterId(Uuid.randomUuid().toString())
          .setDirectories(List.of(logDir))
          .setMetadataLogDirectory(logDir)
          .setReleaseVersion(MetadataVersion.latestProduction())
          .setControllerListenerName(CONTROLLER)
          .run();

      KafkaRaftServer server = new KafkaRaftServer(config, Time.SYSTEM);
      server.startup();
      EmbeddedKafka kafka = new EmbeddedKafka(dir, server, "127.0.0.1:" + brokerPort, addresses);
      try {
        kafka.awaitReady(Duration.ofSeconds(60));
      } catch (Exception e) {
        kafka.close();
        throw e;
      }
      return kafka;
    } catch (Exception e) {
      deleteRecursively(dir);
      throw e;
    }
  }

  /** Temporary directory holding the broker's data; deleted on {@link #close()}. */
  public Path directory() {
    return directory;
  }

  /** The PLAINTEXT listener, which needs no credentials. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** The address of an extra listener given to {@link #start(Map, List)}. */
  public String bootstrapServers(String listener) {
    String address = listenerAddresses.get(listener);
    if (address == null) {
      throw new IllegalArgumentException("no listener " + listener + "; have " + listenerAddresses.keySet());
    }
    return address;
  }

  /** Creates topics (one partition each unless given as "name:partitions"); existing ones are left alone. */
  public void createTopics(String... names) throws InterruptedException, ExecutionException {
    List<NewTopic> topics = new ArrayList<>();
    for (String name : names) {
      String[] parts = name.split(":", 2);
      topics.add(new NewTopic(parts[0], parts.length == 2 ? Integer.parseInt(parts[1]) : 1, (short) 1));
    }
    try (Admin admin = admin()) {
      for (var entry : admin.createTopics(topics).values().entrySet()) {
        try {
          entry.getValue().get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
      }
    }
  }

  public Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers));
  }

  private void awaitReady(Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    try (Admin admin = admin()) {
      while (true) {
        try {
          if (!admin.describeCluster().nodes().get().isEmpty()) {
            return;
          }
        } catch (ExecutionException e) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("embedded Kafka did not come up in " + timeout, e.getCause());
          }
        }
        Thread.sleep(100);
      }
    }
  }

  @Override
  public void close() {
    try {
      server.shutdown();
      server.awaitShutdown();
    } catch (RuntimeException e) {
      LOG.log(System.Logger.Level.WARNING, "embedded Kafka did not shut down cleanly", e);
    } finally {
      deleteRecursively(directory);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress("127.0.0.1", 0));
      return socket.getLocalPort();
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }
}
