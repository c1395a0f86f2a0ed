package io.sepshield.bench;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.demo.EmbeddedKafka;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.service.ProtectionServer;
import io.sepshield.service.StreamMetrics;
import io.sepshield.stream.ProtectionService;
import io.sepshield.stream.ProtectionTopology;
import io.sepshield.stream.StreamSettings;
import io.sepshield.stream.TopicProvisioner;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The protection service end to end on the in-process broker and schema registry: the same topology, exactly-once
 * stream configuration and processor as {@code serve}, driven from outside by a paced producer of PNG uploads and a
 * {@code read_committed} consumer of the protected topic. Latency is from an upload's scheduled send time (see
 * {@link OfferedLoad}) to the moment its protected record is read, i.e. after the transaction that wrote it
 * committed. The engine is given (random weights or a bundle), so the figures can be set against the bare engine's
 * at the same profile and batch size in the same process.
 */
public final class ServiceBenchmark implements AutoCloseable {

  /** One phase's figures. */
  public record PhaseResult(OfferedLoad load, int sent, int received, int duplicates, double seconds,
      LatencyStats latency, long batches, long deadLettered, int epsilonViolations, int maxDelta255,
      String loadAverageStart, String loadAverageEnd, Instant date) {
    /** Protected images read per second, from the phase's start to the last one read. */
    public double imagesPerSecond() {
      return seconds > 0 ? received / seconds : Double.NaN;
    }

    /** Every upload came back once, protected within ε, none dead-lettered. */
    public boolean complete() {
      return received == sent && duplicates == 0 && deadLettered == 0 && epsilonViolations == 0;
    }
  }

  private final PrintStream log;
  private final ProtectionEngine engine;
  private final StreamSettings stream;
  private final EmbeddedKafka kafka;
  private final InMemorySchemaRegistry registry;
  private final SchemaRegistryClient registryClient;
  private final StreamMetrics metrics = new StreamMetrics();
  private final ProtectionService service;
  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaConsumer<String, byte[]> consumer;
  private int phases;

  private ServiceBenchmark(PrintStream log, ProtectionEngine engine, StreamSettings stream, EmbeddedKafka kafka,
      InMemorySchemaRegistry registry, Duration slowestBatch) throws Exception {
    this.log = log;
    this.engine = engine;
    this.stream = stream;
    this.kafka = kafka;
    this.registry = registry;
    // The registry settings `serve` uses by default (auto-registration of the output schema).
    Map<String, Object> registryConfig = new HashMap<>(ProtectionServer.Cluster.DEFAULTS.registryConfig());
    registryConfig.put("schema.registry.url", registry.url());
    this.registryClient = SchemaRegistryClient.fromConfig(registryConfig);
    try (Admin admin = kafka.admin()) {
      new TopicProvisioner(admin, Optional.empty()).ensure(ProtectionTopology.topics(stream, 1));
    }
    Properties config = ProtectionTopology.streamsConfig("sep-shield-bench", kafka.bootstrapServers(), stream,
        slowestBatch);
    config.put(StreamsConfig.STATE_DIR_CONFIG, kafka.directory().resolve("streams-state").toString());
    service = new ProtectionService(BundleHolder.serving(engine), stream, config, registryClient, metrics,
        ProtectionService.DEFAULT_CLOSE_TIMEOUT);
    service.start();
    service.awaitRunning(Duration.ofMinutes(2));
    producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        // Sent when due: batching in the client would add up to linger.ms to every paced upload.
        ProducerConfig.LINGER_MS_CONFIG, 0, ProducerConfig.MAX_REQUEST_SIZE_CONFIG, stream.recordLimit()),
        new ByteArraySerializer(), new ByteArraySerializer());
    consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "sep-shield-bench-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG,
        "earliest", ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
        ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, stream.recordLimit()),
        new StringDeserializer(), new ByteArrayDeserializer());
    consumer.subscribe(List.of(stream.protectedTopic()));
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (consumer.assignment().isEmpty()) { // joined before the first upload: no group join in any latency
      consumer.poll(Duration.ofMillis(100));
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the benchmark's consumer got no partition in 60 s");
      }
    }
  }

  /**
   * Starts a broker, a registry and the protection stream serving {@code engine}.
   *
   * @param slowestBatch floor of a flush's crafting time (poll interval and transaction timeout are sized from it)
   */
  public static ServiceBenchmark start(ProtectionEngine engine, StreamSettings stream, Duration slowestBatch,
      PrintStream log) throws Exception {
    EmbeddedKafka kafka = EmbeddedKafka.start();
    InMemorySchemaRegistry registry = null;
    try {
      registry = new InMemorySchemaRegistry().start();
      return new ServiceBenchmark(log, engine, stream, kafka, registry, slowestBatch);
    } catch (Exception | Error e) {
      if (registry != null) {
        registry.close();
      }
      kafka.close();
      throw e;
    }
  }

  /**
   * Offers {@code uploads} PNG uploads (cycling through {@code images}, with their labels) at {@code load} and waits
   * until every protected record is read or {@code timeout} has passed after the last scheduled send. Afterwards
   * (not timed) every protected PNG is decoded and checked against the ε bound.
   */
  public PhaseResult run(OfferedLoad load, LabeledImages images, int uploads, float eps255, Duration timeout)
      throws Exception {
    int phase = ++phases;
    ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registryClient);
    serializer.configure(Map.of(), false);
    // Everything a send needs is built before the clock starts: the producer thread only waits and sends.
    @SuppressWarnings("unchecked")
    ProducerRecord<byte[], byte[]>[] records = new ProducerRecord[uploads];
    Map<String, Integer> index = new HashMap<>();
    byte[][] pngs = new byte[images.size()][];
    for (int i = 0; i < uploads; i++) {
      int k = i % images.size();
      if (pngs[k] == null) {
        pngs[k] = PngCodec.encode(images.image(k), images.channels(), images.height(), images.width());
      }
      String id = String.format(Locale.ROOT, "bench-%d-%06d", phase, i);
      index.put(id, i);
      UploadedImage upload = UploadedImage.newBuilder().setId(id).setContentType("image/png")
          .setImage(ByteBuffer.wrap(pngs[k])).setLabel(images.label(k)).setUploader("bench").setSource("bench")
          .setMetadata(Map.of()).setUploadedAt(Instant.now()).build();
      records[i] = new ProducerRecord<>(stream.uploadsTopic(), id.getBytes(StandardCharsets.UTF_8),
          serializer.serialize(stream.uploadsTopic(), upload));
    }
    long[] due = load.scheduleNanos(uploads);
    long batchesBefore = metrics.stats().batches();
    double[] stagesBefore = stageSeconds();
    double commitsBefore = service.threadMetric("commit-total");
    long deadBefore = metrics.stats().deadLettered();
    String loadStart = EngineBenchmark.loadAverage();
    AtomicInteger sent = new AtomicInteger();
    AtomicReference<Exception> sendFailure = new AtomicReference<>();
    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    long start = System.nanoTime() + Duration.ofMillis(20).toNanos();
    Thread sender = new Thread(() -> {
      for (int i = 0; i < uploads && !stop.get(); i++) {
        long at = start + due[i];
        for (long wait = at - System.nanoTime(); wait > 0; wait = at - System.nanoTime()) {
          LockSupport.parkNanos(wait);
        }
        if (stop.get()) {
          break;
        }
        producer.send(records[i], (meta, e) -> {
          if (e != null) {
            sendFailure.compareAndSet(null, e);
          }
        });
        sent.incrementAndGet();
      }
      producer.flush();
    }, "bench-producer");
    sender.setDaemon(true);
    sender.start();

    double[] latency = new double[uploads];
    byte[][] outputs = new byte[uploads][];
    int received = 0;
    int duplicates = 0;
    long last = start;
    long deadline = start + due[uploads - 1] + timeout.toNanos();
    while (received < uploads && System.nanoTime() < deadline && sendFailure.get() == null) {
      for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(20))) {
        long now = System.nanoTime();
        Integer i = index.get(r.key());
        if (i == null) {
          continue; // an earlier phase's record read late (cannot happen: each phase drains)
        }
        if (outputs[i] != null) {
          duplicates++; // exactly-once would be broken: reported, not hidden
          continue;
        }
        outputs[i] = r.value();
        latency[i] = (now - (start + due[i])) / 1e6;
        received++;
        last = now;
      }
    }
    stop.set(true); // on a timeout: no upload of this phase may reach the next one
    sender.join(Duration.ofSeconds(10).toMillis());
    if (sendFailure.get() != null) {
      throw new IllegalStateException("an upload could not be sent", sendFailure.get());
    }
    double seconds = (last - start) / 1e9;
    String loadEnd = EngineBenchmark.loadAverage();
    double[] stages = stageSeconds();
    for (int s = 0; s < stages.length; s++) {
      stages[s] -= stagesBefore[s];
    }
    double commits = service.threadMetric("commit-total") - commitsBefore;
    double[] measured = new double[received];
    int m = 0;
    int violations = 0;
    int maxDelta = 0;
    try (ConfluentAvroDeserializer<ProtectedImage> deserializer = new ConfluentAvroDeserializer<>(registryClient,
        ProtectedImage.class)) {
      for (int i = 0; i < uploads; i++) {
        if (outputs[i] == null) {
          continue;
        }
        measured[m++] = latency[i];
        ProtectedImage p = deserializer.deserialize(stream.protectedTopic(), outputs[i]);
        byte[] pixels = PngCodec.decode(p.getPng().array(), images.channels()).pixels();
        int delta = EpsilonBall.maxAbsDelta(images.image(i % images.size()), pixels);
        maxDelta = Math.max(maxDelta, delta);
        if (delta > Math.round(engine.settings().epsilon() * 255f)) {
          violations++;
        }
      }
    }
    PhaseResult result = new PhaseResult(load, sent.get(), received, duplicates, seconds, LatencyStats.of(measured),
        metrics.stats().batches() - batchesBefore, metrics.stats().deadLettered() - deadBefore, violations,
        maxDelta, loadStart, loadEnd, Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    log.printf(Locale.ROOT, "service %-9s %d/%d protected in %.1f s: %.2f images/s, latency ms p50 %.0f p95 %.0f "
        + "p99 %.0f max %.0f, %d batches, %d dead-lettered, max |delta| %d/255, load %s -> %s%n", load.label(),
        received, uploads, seconds, result.imagesPerSecond(), result.latency().percentile(50),
        result.latency().percentile(95), result.latency().percentile(99), result.latency().max(), result.batches(),
        result.deadLettered(), maxDelta, loadStart, loadEnd);
    // Where the stream thread's time went: what the processor spent per stage, and the rest (Kafka's poll and
    // commit, waiting for records and for the commit to become visible to the reader).
    double rest = seconds - java.util.Arrays.stream(stages).sum();
    log.printf(Locale.ROOT, "service %-9s time: engine %.0f%%, arrival %.0f%%, prepare %.0f%%, deliver %.0f%%, other "
        + "(Kafka poll/commit, waits) %.0f%% of %.1f s; %.0f commits (avg %.0f ms)%n", load.label(),
        100 * stages[0] / seconds, 100 * stages[1] / seconds, 100 * stages[2] / seconds, 100 * stages[3] / seconds,
        100 * rest / seconds, seconds, commits, service.threadMetric("commit-latency-avg"));
    return result;
  }

  /** Engine, arrival, prepare and deliver seconds so far. */
  private double[] stageSeconds() {
    return new double[] {metrics.craftingSeconds(), metrics.stageSeconds(StreamMetrics.Stage.ARRIVAL),
        metrics.stageSeconds(StreamMetrics.Stage.PREPARE), metrics.stageSeconds(StreamMetrics.Stage.DELIVER)};
  }

  /**
   * Rows of docs/results/performance.json, one per phase: {@code where} "service", the required fields,
   * {@code p50_ms}/{@code p95_ms}/{@code p99_ms}, {@code offered_per_s} (null at saturation, where
   * {@code saturation} is true), and the bare engine's images/s from the same run: at saturation with the ratio
   * service/engine ({@code service_to_engine}), below it with the offered load as a fraction of the engine's rate
   * ({@code offered_to_engine}).
   *
   * @param engineImagesPerSecond the bare engine at the same settings, batch size and upload size, same process
   * @param passesPerImage forward+backward passes the engine executes per image
   * @param passFlopsPerImage FLOPs of one pass for one image ({@link FlopCounter})
   */
  public static List<Map<String, Object>> records(List<PhaseResult> phases, double engineImagesPerSecond,
      long passesPerImage, double passFlopsPerImage, MachinePeak peak, Map<String, Object> common) {
    List<Map<String, Object>> rows = new java.util.ArrayList<>();
    for (PhaseResult p : phases) {
      Map<String, Object> row = new java.util.LinkedHashMap<>();
      row.put("where", "service");
      row.putAll(common);
      row.put("offered_per_s", p.load().saturating() ? null : p.load().perSecond());
      row.put("saturation", p.load().saturating());
      double images = p.imagesPerSecond();
      row.put("images_per_s", SweepBenchmark.round(images, 3));
      double passes = images * passesPerImage;
      row.put("passes_per_image", passesPerImage);
      row.put("passes_per_s", SweepBenchmark.round(passes, 1));
      double gflops = passes * passFlopsPerImage / 1e9;
      row.put("gflops_per_s", SweepBenchmark.round(gflops, 2));
      row.put("peak_gflops_estimate", SweepBenchmark.round(peak.gflops(), 1));
      row.put("peak_fraction", SweepBenchmark.round(gflops / peak.gflops(), 4));
      row.put("p50_ms", SweepBenchmark.round(p.latency().percentile(50), 1));
      row.put("p95_ms", SweepBenchmark.round(p.latency().percentile(95), 1));
      row.put("p99_ms", SweepBenchmark.round(p.latency().percentile(99), 1));
      row.put("max_ms", SweepBenchmark.round(p.latency().max(), 1));
      row.put("latency_from", "scheduled send time to protected record read (read_committed)");
      row.put("engine_images_per_s", SweepBenchmark.round(engineImagesPerSecond, 3));
      if (p.load().saturating()) {
        // Only at saturation is the service's rate its capacity; below it, it is the offered rate.
        row.put("service_to_engine", SweepBenchmark.round(images / engineImagesPerSecond, 3));
      } else {
        row.put("offered_to_engine", SweepBenchmark.round(p.load().perSecond() / engineImagesPerSecond, 3));
      }
      row.put("uploads", p.sent());
      row.put("protected", p.received());
      row.put("duplicates", p.duplicates());
      row.put("batches", p.batches());
      row.put("dead_lettered", p.deadLettered());
      row.put("epsilon_violations", p.epsilonViolations());
      row.put("max_delta_255", p.maxDelta255());
      row.put("seconds", SweepBenchmark.round(p.seconds(), 2));
      row.put("load_average_start", p.loadAverageStart());
      row.put("load_average_end", p.loadAverageEnd());
      row.put("machine", peak.describe());
      row.put("date", p.date().toString());
      rows.add(row);
    }
    return rows;
  }

  public StreamMetrics metrics() {
    return metrics;
  }

  @Override
  public void close() {
    try {
      consumer.close();
      producer.close();
      service.close();
    } finally {
      registry.close();
      kafka.close();
    }
  }
}
