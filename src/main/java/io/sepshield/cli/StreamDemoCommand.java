package io.sepshield.cli;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.bundle.BundleException;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.demo.PhotoStreamDemo;
import io.sepshield.jobs.DatasetProtection;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.service.ProtectionServer;
import io.sepshield.stream.ErrorStrategy;
import io.sepshield.stream.ProtectionService;
import io.sepshield.stream.ProtectionTopology;
import io.sepshield.stream.StreamSettings;
import io.sepshield.train.TrainingConfig;
import jakarta.inject.Inject;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import io.sepshield.lifecycle.BundleHolder;

/**
 * The streaming demo: an in-process broker and schema registry, the protection service on a Fashion-MNIST bundle,
 * real test images produced as uploads and the protected topic consumed back, with throughput and latency.
 */
@Command(name = "stream-demo", mixinStandardHelpOptions = true,
    description = "Run the protection service on an embedded Kafka and stream Fashion-MNIST test images (or, with "
        + "--photos, your own photos at their own size) through it.")
public class StreamDemoCommand implements Callable<Integer> {
  @Option(names = "--out", defaultValue = "runs/stream-demo", description = "Output directory. Default: "
      + "${DEFAULT-VALUE}")
  Path out;

  @Option(names = "--bundle", defaultValue = "runs/demo/bundles",
      description = "Bundle to use; trained there when missing. Default: ${DEFAULT-VALUE}")
  Path bundle;

  @Option(names = "--data", defaultValue = "fashion-mnist:test",
      description = "Images to stream as uploads (data spec, as for protect). Default: ${DEFAULT-VALUE}")
  String data;

  @Option(names = "--train-data", defaultValue = "fashion-mnist:train",
      description = "Training data when a bundle must be trained. Default: ${DEFAULT-VALUE}")
  String trainData;

  @Option(names = "--images", defaultValue = "200", description = "Uploads to stream. Default: ${DEFAULT-VALUE}")
  int images;

  @Option(names = "--batch-size", defaultValue = "8", description = "Default: ${DEFAULT-VALUE}")
  int batchSize;

  @Option(names = "--max-delay-ms", defaultValue = "" + StreamSettings.DEFAULT_MAX_DELAY_MILLIS,
      description = "Longest wait of a partial batch (serve's default). Default: ${DEFAULT-VALUE}")
  long maxDelayMs;

  @Option(names = "--profile", defaultValue = "fast", description = "Default: ${DEFAULT-VALUE}")
  String profile;

  @Option(names = "--eps", defaultValue = "8", description = "ε in 1/255. Default: ${DEFAULT-VALUE}")
  float eps;

  @Option(names = "--train-images", defaultValue = "6000",
      description = "Training subset when a bundle must be trained. Default: ${DEFAULT-VALUE}")
  int trainImages;

  @Option(names = "--epochs", defaultValue = "5", description = "Epochs when training. Default: ${DEFAULT-VALUE}")
  int epochs;

  @Option(names = "--photos", paramLabel = "DIR", description = "Stream the image files of DIR (PNG, JPEG, GIF, BMP, "
      + "TIFF; any size and colour) one at a time at their own size instead of --data, and write each one's original, "
      + "protected image (as delivered) and amplified delta to OUT/photos/ with index.md and overview.png.")
  Path photos;

  @Option(names = "--max-pixels", defaultValue = "2097152", description = "With --photos: serve's max-pixels (and "
      + "max-batch-pixels); a larger photo is dead-lettered as TOO_LARGE. Default: ${DEFAULT-VALUE}")
  long maxPixels;

  @Option(names = "--claim-check-threshold", defaultValue = "524288", description = "With --photos: protected PNGs "
      + "larger than this (bytes) are delivered by claim check (a file under OUT/photos/claim-check/). Default: "
      + "${DEFAULT-VALUE}")
  long claimCheckThreshold;

  @Mixin
  Options.Runtime runtime;

  /** The same service bean as `serve`, on the embedded broker and registry. */
  @Inject
  ProtectionServer server;

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(out);
    // Shares the batch demo's bundle: train it once (same recipe as `demo`), use it from both.
    Path bundleRoot = bundle;
    if (!usableBundle(bundleRoot)) {
      System.err.println("no bundle in " + bundle + "; training a small one into " + bundleRoot);
      LabeledImages train = Options.load(trainData, trainImages, runtime.seed);
      LabeledImages test = Options.load(data, 1000, runtime.seed);
      new RetrainingJob(System.err).run(new RetrainingJob.Spec(train, Options.describe(trainData, trainImages,
          train), test, Options.describe(data, 1000, test), "resnet8",
          TrainingConfig.shortRun(epochs, runtime.seed), epochs, bundleRoot, runtime.resolve()));
    } else {
      System.err.println("using the bundle in " + bundleRoot);
    }
    Path photoOut = out.resolve("photos");
    List<Path> photoFiles = photos == null ? List.of() : PhotoStreamDemo.photos(photos);
    LabeledImages clean = photos != null ? null : Options.load(data, 0, runtime.seed);
    if (clean != null) {
      clean = clean.slice(0, Math.min(images, clean.size()));
    }
    StreamSettings stream = photos != null
        ? PhotoStreamDemo.settings(maxPixels, photoOut.resolve("claim-check"), claimCheckThreshold)
        : StreamSettings.defaults(batchSize, Duration.ofMillis(maxDelayMs))
            .withErrorStrategy(ErrorStrategy.DEAD_LETTER_QUEUE);
    Path state = Files.createTempDirectory("sep-shield-stream-demo-state-");
    ProtectionServer.Options options = new ProtectionServer.Options(ProtectionServer.EMBEDDED,
        ProtectionServer.EMBEDDED, "sep-shield-stream-demo", state.toString(), stream, bundleRoot,
        ProtectionTopology.BUNDLE_UPDATES_TOPIC, runtime.device, Method.SEP_FA_VR, Profile.parse(profile), eps,
        runtime.seed, Duration.ofMinutes(2), ProtectionService.DEFAULT_CLOSE_TIMEOUT);
    try {
      server.launch(options, System.err);
      if (photos != null) {
        return runPhotos(server, stream, photoFiles, photoOut);
      }
      run(server, stream, clean);
    } finally {
      server.close(); // before its state directory goes; the model bean frees the engines when Quarkus stops
      // The buffer's state belongs to this run's throw-away broker; a later run could not use it.
      try (var files = Files.walk(state)) {
        for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
    return 0;
  }

  private void run(ProtectionServer server, StreamSettings stream, LabeledImages clean) throws Exception {
    SchemaRegistryClient registry = new SchemaRegistryClient(server.schemaRegistryUrl());
    ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
    serializer.configure(Map.of(), false);
    int n = clean.size();
    Map<String, Integer> index = new HashMap<>();
    long[] sentAt = new long[n];
    long start = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
        server.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < n; i++) {
        String id = clean.id(i);
        index.put(id, i);
        // Every fourth upload comes without a label, so the service predicts it.
        Integer label = i % 4 == 3 ? null : clean.label(i);
        UploadedImage upload = UploadedImage.newBuilder().setId(id).setContentType("image/png")
            .setImage(ByteBuffer.wrap(PngCodec.encode(clean.image(i), clean.channels(), clean.height(),
                clean.width())))
            .setLabel(label).setUploader("stream-demo").setSource(data).setMetadata(Map.of())
            .setUploadedAt(Instant.now()).build();
        ProducerRecord<byte[], byte[]> record = new ProducerRecord<>(stream.uploadsTopic(),
            id.getBytes(StandardCharsets.UTF_8), serializer.serialize(stream.uploadsTopic(), upload));
        record.headers().add("trace-id", UUID.randomUUID().toString().getBytes(StandardCharsets.UTF_8));
        sentAt[i] = System.nanoTime();
        producer.send(record);
      }
      producer.flush();
    }
    System.err.printf("produced %d uploads; waiting for protected images%n", n);

    long[] latencyMs = new long[n];
    byte[] protectedPixels = new byte[n * clean.imageBytes()];
    int received = 0;
    int predicted = 0;
    int maxDelta = 0;
    long lastReceived = start;
    Map<String, Object> consumerConfig = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "stream-demo-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    long deadline = System.nanoTime() + Duration.ofSeconds(120 + 5L * n).toNanos();
    try (KafkaConsumer<String, ProtectedImage> consumer = new KafkaConsumer<>(consumerConfig,
        new StringDeserializer(), new ConfluentAvroDeserializer<>(registry, ProtectedImage.class))) {
      consumer.subscribe(List.of(stream.protectedTopic()));
      boolean[] seen = new boolean[n];
      while (received < n && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, ProtectedImage> r : consumer.poll(Duration.ofMillis(200))) {
          Integer i = index.get(r.key());
          if (i == null || seen[i]) {
            continue;
          }
          long now = System.nanoTime();
          seen[i] = true;
          received++;
          lastReceived = now;
          latencyMs[i] = (now - sentAt[i]) / 1_000_000;
          ProtectedImage p = r.value();
          byte[] pixels = PngCodec.decode(p.getPng().array(), clean.channels()).pixels();
          System.arraycopy(pixels, 0, protectedPixels, i * clean.imageBytes(), clean.imageBytes());
          maxDelta = Math.max(maxDelta, EpsilonBall.maxAbsDelta(clean.image(i), pixels));
          predicted += p.getLabelPredicted() ? 1 : 0;
        }
      }
    }
    double seconds = (lastReceived - start) / 1e9;
    long[] sorted = Arrays.stream(latencyMs).limit(n).filter(l -> l > 0).sorted().toArray();
    try (BundleHolder.Lease lease = server.bundles().acquire()) {
      System.out.printf("bundle:       %s (%s, %s)%n", lease.engine().bundleId(), profile, lease.engine().settings());
    }
    System.out.printf("streamed:     %d uploads, %d protected, %d dead-lettered, %d batches%n", n, received,
        server.service().stats().deadLettered(), server.service().stats().batches());
    System.out.printf("throughput:   %.2f images/s (%.1f s from first upload to last protected image)%n",
        received / seconds, seconds);
    // The share of the run the engine was crafting: what overlapping the rest with crafting could gain at most.
    double crafting = server.service().stats().craftingSeconds();
    System.out.printf("engine busy:  %.1f s of %.1f s (%.0f%%)%n", crafting, seconds, 100 * crafting / seconds);
    if (sorted.length > 0) {
      System.out.printf("latency ms:   p50=%d p90=%d p99=%d max=%d (upload sent -> protected image read, "
          + "batch size %d, max delay %d ms)%n", percentile(sorted, 50), percentile(sorted, 90),
          percentile(sorted, 99), sorted[sorted.length - 1], batchSize, maxDelayMs);
    }
    System.out.printf("max |delta|:  %d/255 on the decoded PNGs (eps %.0f/255); %d labels predicted%n", maxDelta, eps,
        predicted);
    if (received == n) {
      LabeledImages protectedImages = clean.withPixels(protectedPixels);
      Path strip = DatasetProtection.writeBeforeAfter(clean, protectedImages, eps, 8,
          out.resolve("before-after.png"), "stream-demo; bundle " + server.bundles().currentBundleId());
      for (int i = 0; i < Math.min(4, n); i++) {
        Files.write(out.resolve(String.format("before-%02d.png", i)), PngCodec.encode(clean.image(i),
            clean.channels(), clean.height(), clean.width()));
        Files.write(out.resolve(String.format("after-%02d.png", i)), PngCodec.encode(protectedImages.image(i),
            clean.channels(), clean.height(), clean.width()));
      }
      System.out.println("outputs:      " + strip + ", " + out + "/before-0*.png, " + out + "/after-0*.png");
    } else {
      throw new IllegalStateException("only " + received + " of " + n + " images came back in time");
    }
  }

  private int runPhotos(ProtectionServer server, StreamSettings stream, List<Path> files, Path dir) throws Exception {
    String bundleId;
    String settings;
    try (BundleHolder.Lease lease = server.bundles().acquire()) {
      bundleId = lease.engine().bundleId();
      settings = lease.engine().settings().toString();
    }
    System.out.printf("bundle:       %s (%s, %s)%n", bundleId, profile, settings);
    String caption = String.format(java.util.Locale.ROOT, "stream-demo --photos %s: bundle %s, SEP-FA-VR profile %s, "
        + "eps %.0f/255, max-pixels %d, claim-check threshold %d bytes, seed %d", photos, bundleId, profile, eps,
        maxPixels, claimCheckThreshold, runtime.seed);
    // Generous: a 2-megapixel photo took 8.4 s with `fast` on an idle 2-core VM, but minutes under load.
    Duration perPhoto = Duration.ofMinutes(20);
    PhotoStreamDemo.Result result = new PhotoStreamDemo(System.out, System.err).run(server, stream, files, dir, eps,
        perPhoto, caption);
    if (!result.allWithinEpsilon()) {
      System.err.println("a protected photo failed the output check or did not come back (see above)");
      return 1;
    }
    return 0;
  }

  private static long percentile(long[] sorted, int p) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
  }

  private static boolean usableBundle(Path root) {
    try {
      return Files.exists(root) && BundleLoader.verify(BundleLoader.resolve(root)) != null;
    } catch (BundleException e) {
      return false;
    }
  }
}
