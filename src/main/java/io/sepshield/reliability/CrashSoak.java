package io.sepshield.reliability;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.ChwImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.demo.EmbeddedKafka;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.stream.DeadLetters;
import io.sepshield.stream.ProtectionTopology;
import io.sepshield.stream.StreamSettings;
import io.sepshield.stream.TopicProvisioner;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The crash soak: the protection service under SIGKILL, checked for exactly-once output.
 *
 * <p>This JVM runs the infrastructure that must outlive the processors (an in-process KRaft broker and the schema
 * registry), produces uploads and reads the results. The processors run as child JVMs ({@link ProcessorJvm}), one or
 * more instances of the same application id on an uploads topic with several partitions. Each kill is a SIGKILL at
 * one of three moments ({@link KillPoint}): while a transaction that already wrote results is open (mid-flush), while
 * committed uploads sit in the killed instance's buffer, or at a random time; then the instance is started again
 * (with two or more, only after the survivors took its partitions over: a rebalance that restores the buffered
 * uploads from the changelog). Uploads are produced in as many phases as there are kills plus one: kill k waits
 * until (k + 0.5) / (kills + 1) of the uploads have their result and opens phase k + 1 as it starts waiting for its
 * moment, so the kills are spread over the run and every kill meets work in flight.
 *
 * <p>Afterwards a {@code read_committed} consumer must see exactly one result per upload id, protected or
 * dead-lettered (a few corrupt uploads are mixed in on purpose), and every protected PNG must decode to the upload's
 * shape within ε of the original on every pixel.
 */
public final class CrashSoak {
  /** Where a processor is killed. */
  public enum KillPoint {
    /** An output record of the instance is visible to a read_uncommitted reader: its transaction is open. */
    MID_FLUSH,
    /** The instance's partitions hold committed uploads in the batch buffer (the changelog says so). */
    BUFFERED,
    /** A random moment 0.5–4 s after the trigger wait starts. */
    RANDOM
  }

  /**
   * @param uploads uploads produced (ids u-000000 …)
   * @param kills SIGKILLs, spread over the run
   * @param instances processor JVMs running at once (same application id)
   * @param partitions of the uploads topic (and the others): at least {@code instances}
   * @param badEvery every n-th upload is a truncated PNG (dead-lettered as DECODE_ERROR); 0: none
   * @param transactionTimeout the processors' producer transaction timeout: how long a killed instance's open
   *     transaction blocks read_committed readers of its partitions before the broker aborts it
   * @param work logs and state directories
   * @param bundle the bundle the processors serve
   * @param points kill points, used in turn (kill k hits instance k mod instances at point k mod points)
   * @param deadline how long after the last kill every upload may take to be accounted for
   */
  public record Spec(int uploads, int kills, int instances, int partitions, int batchSize, Duration maxDelay,
      int badEvery, Duration transactionTimeout, float eps255, long seed, Path work, Path bundle,
      ProcessorJvm.Launcher launcher, List<String> jvmOptions, List<KillPoint> points, Duration deadline) {
    public Spec {
      points = List.copyOf(points);
      if (points.isEmpty()) {
        throw new IllegalArgumentException("no kill points");
      }
      if (uploads < 1 || kills < 0 || instances < 1 || partitions < instances || batchSize < 1) {
        throw new IllegalArgumentException("need uploads >= 1, kills >= 0, instances >= 1, partitions >= instances, "
            + "batch size >= 1");
      }
      jvmOptions = List.copyOf(jvmOptions);
    }
  }

  /** One SIGKILL and what it hit. */
  public record Kill(int number, String instance, KillPoint point, boolean triggered, double atSeconds,
      List<Integer> partitions, int bufferedUploads, Boolean transactionAborted, Boolean partitionsMoved,
      double restartSeconds, Double firstResultAfterSeconds) {}

  /**
   * The figures. {@code lost}: uploads with no result; {@code duplicated}: results beyond the first per upload
   * (protected and dead-lettered together); {@code epsViolations}: protected images that did not decode to the
   * upload's shape or moved a pixel by more than ε; {@code unexpected}: a good upload dead-lettered or a corrupt
   * one protected; {@code failureEventsDuplicated}: ProtectionFailure events beyond one per rejected upload.
   */
  public record Result(int uploads, int corruptUploads, int kills, int instances, int partitions, int protectedImages,
      int deadLettered, int lost, int duplicated, int epsViolations, int maxAbsDelta255, int unexpected,
      int unknownIds, int failureEventsDuplicated, int processorStarts, int abortedRecordsSeen, double seconds,
      List<Kill> killLog, List<String> problems) {
    public boolean ok() {
      return lost == 0 && duplicated == 0 && epsViolations == 0 && unexpected == 0 && unknownIds == 0
          && failureEventsDuplicated == 0 && problems.isEmpty();
    }
  }

  static final String APPLICATION_ID = "sep-shield-soak";
  private static final String CHANGELOG = APPLICATION_ID + "-" + ProtectionTopology.BUFFER_STORE + "-changelog";
  private static final Duration READY_TIMEOUT = Duration.ofMinutes(3);

  private final Spec spec;
  private final PrintStream log;
  private final StreamSettings topics;
  private final Random random;
  private final long t0 = System.nanoTime();
  private final List<ProcessorJvm> processors = new java.util.concurrent.CopyOnWriteArrayList<>();

  // Filled by the producer.
  private final Map<String, Integer> uploadPartition = new ConcurrentHashMap<>();
  private final AtomicInteger sent = new AtomicInteger();
  private volatile int phasesOpen = 1;
  private final AtomicReference<Throwable> producerFailure = new AtomicReference<>();
  // Filled by the committed reader.
  private final Map<String, List<Outcome>> results = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> failureEvents = new ConcurrentHashMap<>();
  private final Set<String> committedCoordinates = ConcurrentHashMap.newKeySet();
  private final AtomicInteger unknownIds = new AtomicInteger();
  private volatile boolean stopReading;

  /** A result read with read_committed: topic, coordinates, value, reason (dead letters) and when it was read. */
  private record Outcome(String topic, int partition, long offset, byte[] value, String reason, long readNanos) {}

  public CrashSoak(Spec spec, PrintStream log) {
    this.spec = spec;
    this.log = log;
    this.topics = StreamSettings.defaults(spec.batchSize(), spec.maxDelay());
    this.random = new Random(spec.seed());
  }

  /** Runs the soak: infrastructure, processors, uploads, kills, and the exactly-once check. */
  public Result run(LabeledImages images) throws Exception {
    // Stopping the soak (Ctrl-C) must not leave processor JVMs behind.
    Thread cleanup = new Thread(() -> processors.forEach(p -> {
      try {
        p.kill();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }), "soak-cleanup");
    Runtime.getRuntime().addShutdownHook(cleanup);
    try {
      return soak(images);
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(cleanup);
      } catch (IllegalStateException e) {
        // shutting down: the hook runs
      }
      for (ProcessorJvm p : processors) { // whatever happened, no processor outlives the soak
        p.kill();
      }
    }
  }

  private Result soak(LabeledImages images) throws Exception {
    int n = spec.uploads();
    List<String> ids = new ArrayList<>(n);
    Map<String, byte[]> originals = new HashMap<>();
    Set<String> corrupt = new HashSet<>();
    Map<String, byte[]> uploadBytes = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String id = String.format("u-%06d", i);
      ids.add(id);
      int k = i % images.size();
      byte[] png = PngCodec.encode(images.image(k), images.channels(), images.height(), images.width());
      if (spec.badEvery() > 0 && i % spec.badEvery() == spec.badEvery() - 1) {
        png = Arrays.copyOf(png, png.length / 2); // header intact, data cut: accepted by the probe, refused by decode
        corrupt.add(id);
      } else {
        originals.put(id, images.image(k));
      }
      uploadBytes.put(id, png);
    }
    Map<String, String> brokerOverrides = Map.of(
        // The broker aborts a dead producer's transaction once it times out; look for those every second.
        "transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000");
    List<Kill> kills = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(brokerOverrides);
        InMemorySchemaRegistry registryServer = new InMemorySchemaRegistry().start();
        Admin admin = kafka.admin()) {
      log.printf("soak: broker %s, registry %s; %d uploads (%d corrupt), %d kills, %d instance(s), %d partitions%n",
          kafka.bootstrapServers(), registryServer.url(), n, corrupt.size(), spec.kills(), spec.instances(),
          spec.partitions());
      List<TopicProvisioner.TopicSpec> specs = new ArrayList<>(ProtectionTopology.topics(topics, spec.partitions()));
      specs.add(TopicProvisioner.TopicSpec.compacted(ProtectionTopology.BUNDLE_UPDATES_TOPIC));
      new TopicProvisioner(admin, Optional.empty()).ensure(specs);
      SchemaRegistryClient registry = new SchemaRegistryClient(registryServer.url());

      for (int i = 0; i < spec.instances(); i++) {
        processors.add(new ProcessorJvm("p" + i, spec.launcher(), processorProperties(kafka, registryServer, i),
            spec.jvmOptions(), spec.work().resolve("logs")));
      }
      for (ProcessorJvm p : processors) {
        p.start();
      }
      for (ProcessorJvm p : processors) {
        awaitReady(p);
      }
      log.printf("soak: %d processor(s) running (%.0f s)%n", processors.size(), seconds());

      Thread reader = new Thread(() -> readCommitted(kafka.bootstrapServers()), "soak-committed-reader");
      reader.setDaemon(true);
      reader.start();
      Thread producer = new Thread(() -> produce(kafka.bootstrapServers(), registry, ids, uploadBytes),
          "soak-producer");
      producer.setDaemon(true);
      producer.start();

      Map<Integer, String> triggerRecords = new HashMap<>();
      Map<Integer, Long> killTimes = new HashMap<>();
      try (KafkaConsumer<byte[], byte[]> uncommitted = consumer(kafka.bootstrapServers(), "read_uncommitted");
          KafkaConsumer<byte[], byte[]> changelog = consumer(kafka.bootstrapServers(), "read_committed")) {
        Map<Integer, Set<String>> buffered = new HashMap<>();
        List<TopicPartition> outputs = partitions(uncommitted, List.of(topics.protectedTopic(),
            topics.deadLetterTopic()));
        uncommitted.assign(outputs);
        changelog.assign(partitions(changelog, List.of(CHANGELOG)));
        changelog.seekToBeginning(changelog.assignment());
        for (int k = 0; k < spec.kills(); k++) {
          if (accounted() >= n) {
            problems.add("all uploads were done before kill " + (k + 1) + "; " + k + " kills made");
            break;
          }
          // Kills spread over the run: kill k waits until (k + 0.5) / (kills + 1) of the uploads have their result
          // (phase k, opened by the kill before, is under way), so the processors make progress between kills.
          long due = (long) ((k + 0.5) * n / (spec.kills() + 1));
          long progressDeadline = System.nanoTime() + spec.deadline().toNanos();
          while (accounted() < due && System.nanoTime() < progressDeadline) {
            Thread.sleep(100);
          }
          phasesOpen = k + 2; // the next phase's uploads flow while this kill waits for its moment
          ProcessorJvm target = processors.get(k % processors.size());
          KillPoint point = spec.points().get(k % spec.points().size());
          boolean triggered = false;
          ConsumerRecord<byte[], byte[]> trigger = null;
          Set<Integer> owned = Set.of();
          long waitUntil = System.nanoTime() + Duration.ofSeconds(90).toNanos();
          if (point == KillPoint.MID_FLUSH) {
            uncommitted.seekToEnd(outputs);
            outputs.forEach(uncommitted::position); // resolve the lazy seek now
          }
          long randomAt = System.nanoTime() + (long) ((0.5 + 3.5 * random.nextDouble()) * 1e9);
          long ownersAt = 0;
          while (!triggered && System.nanoTime() < waitUntil && accounted() < n) {
            if (System.nanoTime() - ownersAt > 500_000_000L) {
              owned = owners(admin).getOrDefault(target.name(), Set.of());
              ownersAt = System.nanoTime();
            }
            switch (point) {
              case MID_FLUSH -> {
                for (ConsumerRecord<byte[], byte[]> r : uncommitted.poll(Duration.ofMillis(20))) {
                  Integer p = r.key() == null ? null : uploadPartition.get(utf8(r.key()));
                  if (p != null && owned.contains(p)) {
                    trigger = r;
                    triggered = true;
                    break;
                  }
                }
              }
              case BUFFERED -> {
                track(changelog, buffered, Duration.ofMillis(20));
                if (owned.stream().anyMatch(p -> !buffered.getOrDefault(p, Set.of()).isEmpty())) {
                  // The view may lag: the flush that emptied that buffer can be committed further on. Only a buffer
                  // still full at the committed end is a moment to kill in (an idle CI run once killed on a stale one).
                  trackToEnd(changelog, buffered);
                  triggered = owned.stream().anyMatch(p -> !buffered.getOrDefault(p, Set.of()).isEmpty());
                }
              }
              case RANDOM -> {
                triggered = !owned.isEmpty() && System.nanoTime() >= randomAt;
                Thread.sleep(20);
              }
            }
          }
          double at = seconds();
          long killedAt = System.nanoTime();
          target.kill(); // first: a mid-flush transaction commits within ~100 ms
          trackToEnd(changelog, buffered); // the committed buffer: what the next owner restores
          Set<Integer> ownedAtKill = owned;
          int bufferedNow = owned.stream().mapToInt(p -> buffered.getOrDefault(p, Set.of()).size()).sum();
          if (trigger != null) {
            triggerRecords.put(k + 1, trigger.topic() + "-" + trigger.partition() + "@" + trigger.offset());
          }
          log.printf("soak: kill %d/%d: SIGKILL %s %s at %.1f s (%s; partitions %s, %d committed uploads buffered"
              + " there)%n", k + 1, spec.kills(), target.name(), point, at, triggered ? "triggered" : "trigger timed out",
              new TreeSet<>(owned), bufferedNow);
          Boolean moved = null;
          if (processors.size() > 1) {
            // A rebalance: the survivors take the dead member's partitions once its session expires, restoring
            // their buffers from the changelog; only then does it come back.
            moved = awaitOwnedByOthers(admin, target.name(), ownedAtKill, Duration.ofSeconds(90));
            log.printf("soak:   partitions %s %s (%.1f s)%n", new TreeSet<>(owned), moved
                ? "moved to the survivor" : "did NOT move within 90 s", seconds());
          } else {
            Thread.sleep((long) (2000 * random.nextDouble()));
          }
          long restart = System.nanoTime();
          target.start();
          awaitReady(target);
          double restartSeconds = (System.nanoTime() - restart) / 1e9;
          kills.add(new Kill(k + 1, target.name(), point, triggered, round1(at), List.copyOf(new TreeSet<>(owned)),
              bufferedNow, trigger == null ? null : Boolean.FALSE, moved, round1(restartSeconds), null));
          killTimes.put(k + 1, killedAt);
          log.printf("soak:   %s running again after %.1f s; %d sent, %d accounted%n", target.name(),
              restartSeconds, sent.get(), accounted());
        }
        phasesOpen = Integer.MAX_VALUE;

        long deadline = System.nanoTime() + spec.deadline().toNanos();
        long lastReport = 0;
        while (accounted() < n && System.nanoTime() < deadline) {
          if (producerFailure.get() != null) {
            throw new IllegalStateException("producer failed", producerFailure.get());
          }
          for (ProcessorJvm p : processors) {
            if (!p.alive()) { // not a planned kill: the processor died by itself; note it and bring it back
              problems.add(p.name() + " exited by itself at " + round1(seconds()) + " s: " + p.tail(5));
              p.start();
              awaitReady(p);
            }
          }
          if (System.nanoTime() - lastReport > 10e9) {
            lastReport = System.nanoTime();
            log.printf("soak: %.0f s: %d/%d sent, %d accounted (%d protected, %d dead-lettered)%n", seconds(),
                sent.get(), n, accounted(), count(topics.protectedTopic()), count(topics.deadLetterTopic()));
          }
          Thread.sleep(200);
        }
        // A late duplicate (a redone transaction) would show up now: give the processors a few commit intervals.
        Thread.sleep(5000);
        for (ProcessorJvm p : processors) {
          p.stop(Duration.ofSeconds(60));
        }
        stopReading = true; // the reader reads on to the end offsets, then stops
        reader.join(120_000);
        if (reader.isAlive()) {
          problems.add("the committed reader did not reach the end of the result topics");
        }
      } finally {
        for (ProcessorJvm p : processors) {
          p.kill();
        }
      }
      // Whether the output each mid-flush kill saw was aborted (the kill hit an open transaction), and how long
      // read_committed readers waited for the next result: a killed instance's open transaction holds back every
      // partition it wrote to until the broker aborts it (transaction timeout), since a restarted Kafka Streams
      // instance without persistent stores gets a new process id, hence a new transactional.id that fences nothing.
      for (int i = 0; i < kills.size(); i++) {
        Kill kill = kills.get(i);
        String seen = triggerRecords.get(kill.number());
        long killedAt = killTimes.get(kill.number());
        long next = results.values().stream().flatMap(List::stream).mapToLong(Outcome::readNanos)
            .filter(t -> t > killedAt).min().orElse(-1);
        kills.set(i, new Kill(kill.number(), kill.instance(), kill.point(), kill.triggered(), kill.atSeconds(),
            kill.partitions(), kill.bufferedUploads(), seen == null ? null : !committedCoordinates.contains(seen),
            kill.partitionsMoved(), kill.restartSeconds(), next < 0 ? null : round1((next - killedAt) / 1e9)));
      }
      return verify(registry, ids, originals, corrupt, kills, problems, processors);
    }
  }

  private Result verify(SchemaRegistryClient registry, List<String> ids, Map<String, byte[]> originals,
      Set<String> corrupt, List<Kill> kills, List<String> problems, List<ProcessorJvm> processors) {
    int lost = 0;
    int duplicated = 0;
    int epsViolations = 0;
    int unexpected = 0;
    int protectedImages = 0;
    int deadLettered = 0;
    int maxDelta = 0;
    int bound = (int) Math.floor(spec.eps255() + 1e-6);
    ConfluentAvroDeserializer<ProtectedImage> deserializer = new ConfluentAvroDeserializer<>(registry,
        ProtectedImage.class);
    List<String> examples = new ArrayList<>();
    for (String id : ids) {
      List<Outcome> outcomes = results.getOrDefault(id, List.of());
      if (outcomes.isEmpty()) {
        lost++;
        note(examples, "lost: " + id);
        continue;
      }
      duplicated += outcomes.size() - 1;
      if (outcomes.size() > 1) {
        note(examples, "duplicated: " + id + " " + outcomes.stream().map(o -> o.topic() + "-" + o.partition() + "@"
            + o.offset()).toList());
      }
      for (Outcome o : outcomes) {
        if (o.topic().equals(topics.deadLetterTopic())) {
          deadLettered++;
          if (!corrupt.contains(id)) {
            unexpected++;
            note(examples, "good upload dead-lettered: " + id + " " + o.reason());
          }
          continue;
        }
        protectedImages++;
        if (corrupt.contains(id)) {
          unexpected++;
          note(examples, "corrupt upload protected: " + id);
          continue;
        }
        byte[] original = originals.get(id);
        try {
          ProtectedImage image = deserializer.deserialize(o.topic(), o.value());
          byte[] png = new byte[image.getPng().remaining()];
          image.getPng().duplicate().get(png);
          ChwImage decoded = PngCodec.decode(png, image.getChannels());
          int delta = maxAbsDelta(original, decoded.pixels());
          if (decoded.pixels().length != original.length || delta > bound) {
            epsViolations++;
            note(examples, "ε violation: " + id + " max |δ| " + delta + " (bound " + bound + "), "
                + decoded.pixels().length + " bytes vs " + original.length);
          }
          maxDelta = Math.max(maxDelta, delta);
        } catch (Exception e) {
          epsViolations++;
          note(examples, "protected image of " + id + " does not decode: " + e);
        }
      }
    }
    int failureDuplicates = 0;
    for (var e : failureEvents.entrySet()) {
      failureDuplicates += Math.max(0, e.getValue().get() - 1);
    }
    List<String> all = new ArrayList<>(problems);
    all.addAll(examples);
    int starts = processors.stream().mapToInt(ProcessorJvm::starts).sum();
    int aborted = (int) kills.stream().filter(k -> Boolean.TRUE.equals(k.transactionAborted())).count();
    return new Result(ids.size(), corrupt.size(), kills.size(), spec.instances(), spec.partitions(), protectedImages,
        deadLettered, lost, duplicated, epsViolations, maxDelta, unexpected, unknownIds.get(), failureDuplicates,
        starts, aborted, round1(seconds()), List.copyOf(kills), all);
  }

  private static void note(List<String> examples, String s) {
    if (examples.size() < 20) {
      examples.add(s);
    }
  }

  private static int maxAbsDelta(byte[] a, byte[] b) {
    int max = 0;
    for (int i = 0; i < Math.min(a.length, b.length); i++) {
      max = Math.max(max, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
    }
    return max;
  }

  /** The settings {@code serve} reads, as system properties of the child JVM. */
  private Map<String, String> processorProperties(EmbeddedKafka kafka, InMemorySchemaRegistry registry, int i) {
    Map<String, String> p = new LinkedHashMap<>();
    String s = "sep-shield.stream.";
    p.put(s + "bootstrap-servers", kafka.bootstrapServers());
    p.put(s + "schema-registry-url", registry.url());
    p.put(s + "application-id", APPLICATION_ID);
    p.put(s + "state-dir", spec.work().resolve("state-p" + i).toAbsolutePath().toString());
    p.put(s + "bundle", spec.bundle().toAbsolutePath().toString());
    p.put(s + "device", "cpu");
    p.put(s + "profile", "fast");
    p.put(s + "eps", Float.toString(spec.eps255()));
    p.put(s + "seed", Long.toString(spec.seed()));
    p.put(s + "batch-size", Integer.toString(spec.batchSize()));
    p.put(s + "max-delay", spec.maxDelay().toMillis() + "ms");
    p.put(s + "topic-partitions", Integer.toString(spec.partitions()));
    p.put(s + "close-timeout", "30s");
    // Kafka client settings (they win over the service's own): a recognisable client id per instance for the group
    // description, a short session so a dead member's partitions move in seconds, and the transaction timeout that
    // bounds how long a dead instance's open transaction blocks read_committed readers.
    String k = s + "kafka.";
    p.put(k + "\"client.id\"", "soak-p" + i);
    p.put(k + "\"consumer.session.timeout.ms\"", "6000");
    p.put(k + "\"consumer.heartbeat.interval.ms\"", "1500");
    p.put(k + "\"producer.transaction.timeout.ms\"", Long.toString(spec.transactionTimeout().toMillis()));
    return p;
  }

  private void awaitReady(ProcessorJvm p) throws Exception {
    for (int attempt = 1; ; attempt++) {
      if (p.awaitReady(READY_TIMEOUT)) {
        return;
      }
      String why = p.alive() ? "not running after " + READY_TIMEOUT : "exited";
      if (attempt >= 3) {
        throw new IllegalStateException(p.name() + " " + why + " (3 attempts); log " + p.log() + ":\n" + p.tail(30));
      }
      log.printf("soak: %s %s, starting it again; log %s%n", p.name(), why, p.log());
      p.kill();
      p.start();
    }
  }

  /** Uploads partitions owned by each instance (from the group description; client ids start "soak-pN-"). */
  private static Map<String, Set<Integer>> owners(Admin admin) throws Exception {
    Map<String, Set<Integer>> owners = new HashMap<>();
    ConsumerGroupDescription group;
    try {
      group = admin.describeConsumerGroups(List.of(APPLICATION_ID)).all().get().get(APPLICATION_ID);
    } catch (java.util.concurrent.ExecutionException e) {
      return owners;
    }
    for (MemberDescription m : group.members()) {
      String client = m.clientId();
      if (!client.startsWith("soak-")) {
        continue;
      }
      String instance = client.substring("soak-".length(), client.indexOf('-', "soak-".length()));
      for (TopicPartition tp : m.assignment().topicPartitions()) {
        if (tp.topic().equals(ProtectionTopology.UPLOADS_TOPIC)) {
          owners.computeIfAbsent(instance, x -> new HashSet<>()).add(tp.partition());
        }
      }
    }
    return owners;
  }

  private static boolean awaitOwnedByOthers(Admin admin, String dead, Set<Integer> partitions, Duration timeout)
      throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      Map<String, Set<Integer>> owners = owners(admin);
      Set<Integer> others = new HashSet<>();
      owners.forEach((instance, owned) -> {
        if (!instance.equals(dead)) {
          others.addAll(owned);
        }
      });
      if (!owners.containsKey(dead) && others.containsAll(partitions)) {
        return true;
      }
      Thread.sleep(250);
    }
    return false;
  }

  /** Follows the committed buffer: keys put and not yet deleted, per partition (= uploads partition). */
  private static void track(KafkaConsumer<byte[], byte[]> changelog, Map<Integer, Set<String>> buffered,
      Duration timeout) {
    for (ConsumerRecord<byte[], byte[]> r : changelog.poll(timeout)) {
      Set<String> keys = buffered.computeIfAbsent(r.partition(), p -> new HashSet<>());
      String key = utf8(r.key());
      if (r.value() == null) {
        keys.remove(key);
      } else {
        keys.add(key);
      }
    }
  }

  /** {@link #track} up to the last stable offsets (read_committed): everything committed so far. */
  private static void trackToEnd(KafkaConsumer<byte[], byte[]> changelog, Map<Integer, Set<String>> buffered) {
    Map<TopicPartition, Long> end = changelog.endOffsets(changelog.assignment());
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline
        && end.entrySet().stream().anyMatch(e -> changelog.position(e.getKey()) < e.getValue())) {
      track(changelog, buffered, Duration.ofMillis(50));
    }
  }

  /**
   * Produces the uploads in phases (phase i opens when kill i-1 is done), keeping at most a few batches per partition
   * outstanding so that the processors always have work but the backlog stays short.
   */
  private void produce(String bootstrap, SchemaRegistryClient registry, List<String> ids,
      Map<String, byte[]> uploadBytes) {
    ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
    serializer.configure(Map.of(), false);
    int window = 4 * spec.batchSize() * spec.partitions();
    int phases = spec.kills() + 1;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap, ProducerConfig.ACKS_CONFIG, "all",
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < ids.size(); i++) {
        int phase = (int) ((long) i * phases / ids.size());
        while (phase >= phasesOpen || sent.get() - accounted() >= window) {
          Thread.sleep(20);
        }
        String id = ids.get(i);
        UploadedImage upload = UploadedImage.newBuilder().setId(id).setContentType("image/png")
            .setImage(ByteBuffer.wrap(uploadBytes.get(id))).setLabel(null).setUploader("soak").setSource("soak")
            .setMetadata(Map.of()).setUploadedAt(Instant.now()).build();
        var metadata = producer.send(new ProducerRecord<>(topics.uploadsTopic(), utf8(id),
            serializer.serialize(topics.uploadsTopic(), upload))).get();
        uploadPartition.put(id, metadata.partition());
        sent.incrementAndGet();
      }
    } catch (Throwable e) {
      producerFailure.set(e);
    }
  }

  /** Reads protected images, dead letters and failure events with read_committed from the beginning. */
  private void readCommitted(String bootstrap) {
    try (KafkaConsumer<byte[], byte[]> c = consumer(bootstrap, "read_committed")) {
      List<TopicPartition> all = partitions(c, List.of(topics.protectedTopic(), topics.deadLetterTopic(),
          topics.failuresTopic()));
      c.assign(all);
      c.seekToBeginning(all);
      Map<TopicPartition, Long> end = null;
      while (true) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
          take(r);
        }
        if (stopReading && end == null) {
          end = c.endOffsets(all); // read_committed: the last stable offsets, now that the processors stopped
        }
        if (end != null && end.entrySet().stream().allMatch(e -> c.position(e.getKey()) >= e.getValue())) {
          return;
        }
      }
    }
  }

  private void take(ConsumerRecord<byte[], byte[]> r) {
    committedCoordinates.add(r.topic() + "-" + r.partition() + "@" + r.offset());
    String id = r.key() == null ? null : utf8(r.key());
    if (id == null || !id.startsWith("u-")) {
      unknownIds.incrementAndGet();
      return;
    }
    if (r.topic().equals(topics.failuresTopic())) {
      failureEvents.computeIfAbsent(id, x -> new AtomicInteger()).incrementAndGet();
      return;
    }
    Header reason = r.headers().lastHeader(DeadLetters.REASON);
    results.computeIfAbsent(id, x -> java.util.Collections.synchronizedList(new ArrayList<>())).add(new Outcome(
        r.topic(), r.partition(), r.offset(), r.value(), reason == null ? null : utf8(reason.value()),
        System.nanoTime()));
  }

  private int accounted() {
    return results.size();
  }

  private long count(String topic) {
    return results.values().stream().flatMap(List::stream).filter(o -> o.topic().equals(topic)).count();
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap, String isolation) {
    return new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation, ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
  }

  private static List<TopicPartition> partitions(KafkaConsumer<?, ?> c, List<String> names) {
    List<TopicPartition> all = new ArrayList<>();
    for (String name : names) {
      c.partitionsFor(name, Duration.ofSeconds(60)).forEach(p -> all.add(new TopicPartition(name, p.partition())));
    }
    return all;
  }

  private double seconds() {
    return (System.nanoTime() - t0) / 1e9;
  }

  private static double round1(double v) {
    return Math.round(v * 10) / 10.0;
  }

  private static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
