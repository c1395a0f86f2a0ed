package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.ChwImage;
import io.sepshield.data.ImageResize;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.EpsilonBall;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.test.TestRecord;
import org.apache.kafka.streams.errors.StreamsException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.service.StreamMetrics;
import io.sepshield.service.StreamStats;

class ProtectionTopologyTest {
  static final Duration MAX_DELAY = Duration.ofSeconds(2);
  static LabeledImages data;
  static CheckpointEnsemble ensemble;
  static ProtectionEngine engine;
  static BundleHolder bundles;
  static CheckpointEnsemble ensemble16;
  static InMemorySchemaRegistry registryServer;
  static SchemaRegistryClient registry;

  @TempDir
  Path stateDir;
  TopologyUnderTest topology;
  StreamMetrics metrics;
  StreamStats stats;

  @BeforeAll
  static void engineAndRegistry() throws Exception {
    data = StreamFixtures.data();
    ensemble = StreamFixtures.tinyEnsemble(data);
    engine = StreamFixtures.engine("tiny-test-bundle", ensemble, ensemble);
    bundles = BundleHolder.serving(engine);
    ensemble16 = StreamFixtures.tinyEnsemble(StreamFixtures.data16());
    registryServer = new InMemorySchemaRegistry().start();
    registry = new SchemaRegistryClient(registryServer.url());
  }

  @AfterAll
  static void close() throws Exception {
    engine.close();
    ensemble16.close();
    registryServer.close();
  }

  @AfterEach
  void closeDriver() {
    if (topology != null) {
      topology.close();
    }
  }

  void start(StreamSettings settings, SchemaRegistryClient processorRegistry) {
    start(settings, processorRegistry, bundles);
  }

  void start(StreamSettings settings, SchemaRegistryClient processorRegistry, BundleHolder holder) {
    metrics = new StreamMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    stats = metrics.stats();
    // The topics stay on the working registry when the processor's is unreachable.
    topology = TopologyUnderTest.start("sep-shield-test", stateDir, settings, TopologyUnderTest.SLOWEST_BATCH,
        ProtectionTopology.build(settings, holder, processorRegistry, metrics), registry);
  }

  void start(StreamSettings settings) {
    start(settings, registry);
  }

  byte[] bytes(UploadedImage upload) {
    return topology.serialize(upload);
  }

  void send(String key, byte[] value, String traceId) {
    Headers headers = new RecordHeaders().add("trace-id", traceId.getBytes(StandardCharsets.UTF_8));
    topology.uploads.pipeInput(new TestRecord<>(key.getBytes(StandardCharsets.UTF_8), value, headers));
  }

  @Test
  void fullBatchIsProtectedWithIdsHeadersAndEpsilonBound() throws Exception {
    start(StreamSettings.defaults(3, Duration.ofHours(1)));
    send("up-0", bytes(StreamFixtures.pngUpload(data, 0, "up-0")), "trace-0");
    UploadedImage unlabeled = StreamFixtures.pngUpload(data, 1, "up-1");
    unlabeled.setLabel(null);
    send("up-1", bytes(unlabeled), "trace-1");
    assertTrue(topology.protectedImages.isEmpty(), "two of three: still buffered");
    assertEquals(0, stats.batches());
    send("up-2", bytes(StreamFixtures.pngUpload(data, 2, "up-2")), "trace-2");

    List<TestRecord<String, ProtectedImage>> out = topology.protectedImages.readRecordsToList();
    assertEquals(List.of("up-0", "up-1", "up-2"), out.stream().map(TestRecord::key).toList());
    assertEquals(1, stats.batches());
    for (int i = 0; i < 3; i++) {
      ProtectedImage p = out.get(i).value();
      assertEquals("up-" + i, p.getId());
      assertEquals("trace-" + i, new String(out.get(i).headers().lastHeader("trace-id").value(),
          StandardCharsets.UTF_8), "headers are carried through");
      assertEquals("tiny-test-bundle", p.getBundleId());
      assertEquals("fast", p.getProfile());
      assertEquals("SEP-FA-VR", p.getMethod());
      assertEquals(StreamFixtures.EPS255, p.getEpsilon255(), 1e-4);
      assertEquals(i == 1, p.getLabelPredicted());
      if (i != 1) {
        assertEquals(data.label(i), p.getLabel());
      }
      assertEquals((p.getLabel() + 2) % 4, p.getTargetClass(), "g(y) = (y + K/2) mod K");
      assertEquals(12, p.getWidth());
      assertEquals(1, p.getChannels());
      ChwImage decoded = PngCodec.decode(toArray(p.getPng()), 1);
      int maxDelta = EpsilonBall.maxAbsDelta(data.image(i), decoded.pixels());
      assertEquals(p.getMaxAbsDelta255(), maxDelta, "reported max |δ| matches the decoded PNG");
      assertTrue(maxDelta <= StreamFixtures.EPS255, "ε-bound on the published PNG: " + maxDelta);
      assertTrue(maxDelta > 0, "the image was actually perturbed");
    }
    assertTrue(topology.deadLetters.isEmpty());
  }

  @Test
  void partialBatchIsFlushedByTheWallClockPunctuator() {
    start(StreamSettings.defaults(10, MAX_DELAY));
    send("a", bytes(StreamFixtures.pngUpload(data, 3, "a")), "t");
    topology.driver.advanceWallClockTime(Duration.ofMillis(1000));
    send("b", bytes(StreamFixtures.pngUpload(data, 4, "b")), "t");
    topology.driver.advanceWallClockTime(Duration.ofMillis(500));
    assertTrue(topology.protectedImages.isEmpty(), "younger than the max delay");
    topology.driver.advanceWallClockTime(Duration.ofMillis(600)); // "a" is now 2.1 s old
    assertEquals(List.of("a", "b"), keys(topology.protectedImages));
    assertEquals(1, stats.batches(), "both went in one batch");
    try (var buffered = topology.driver.getKeyValueStore(ProtectionTopology.BUFFER_STORE).all()) {
      assertFalse(buffered.hasNext(), "buffer emptied in the same step");
    }
    topology.driver.advanceWallClockTime(Duration.ofSeconds(10));
    assertTrue(topology.protectedImages.isEmpty(), "nothing is published twice");
  }

  @Test
  void imagesComeBackAtTheirOwnSizeAndColourWithAlphaWithinEpsilon() throws Exception {
    // 30×24 gray, and 20×14 RGB with alpha: crafted through the resize to the 12×12 gray bundle, delivered as sent.
    start(StreamSettings.defaults(1, MAX_DELAY));
    byte[] big = ImageResize.resize(data.image(5), 1, 12, 12, 30, 24);
    send("big", bytes(StreamFixtures.upload("big", "image/png", PngCodec.encode(big, 1, 30, 24), 1)), "t");
    ProtectedImage p = topology.protectedImages.readValue();
    // Crafted within the send (batch size 1): the record's time covers the crafting, not the cached loop time (the
    // driver's mock clock, which arrival uses, may lag the real one, so no upper bound here).
    assertTrue(p.getProcessingMillis() >= 1, p.getProcessingMillis() + " ms");
    assertEquals(30, p.getHeight());
    assertEquals(24, p.getWidth());
    assertEquals(1, p.getChannels());
    assertFalse(p.getHasAlpha());
    byte[] out = PngCodec.decode(toArray(p.getPng()), 1).pixels();
    int delta = EpsilonBall.maxAbsDelta(big, out);
    assertTrue(delta > 0 && delta <= StreamFixtures.EPS255, "ε-bound at full size: " + delta);

    java.awt.image.BufferedImage rgba = new java.awt.image.BufferedImage(20, 14,
        java.awt.image.BufferedImage.TYPE_INT_ARGB);
    java.util.Random random = new java.util.Random(5);
    for (int y = 0; y < 14; y++) {
      for (int x = 0; x < 20; x++) {
        rgba.setRGB(x, y, (x * 12) << 24 | random.nextInt(1 << 24));
      }
    }
    var buffer = new java.io.ByteArrayOutputStream();
    javax.imageio.ImageIO.write(rgba, "png", buffer);
    byte[] upload = buffer.toByteArray();
    send("rgba", bytes(StreamFixtures.upload("rgba", "image/png", upload, 2)), "t");
    ProtectedImage q = topology.protectedImages.readValue();
    assertEquals(List.of(14, 20, 3, true), List.of(q.getHeight(), q.getWidth(), q.getChannels(), q.getHasAlpha()));
    io.sepshield.data.DecodedUpload sent = io.sepshield.data.UploadDecoder.decode(upload,
        io.sepshield.data.UploadDecoder.Options.DEFAULT);
    io.sepshield.data.DecodedUpload delivered = io.sepshield.data.UploadDecoder.decode(toArray(q.getPng()),
        io.sepshield.data.UploadDecoder.Options.DEFAULT);
    assertArrayEquals(sent.alpha(), delivered.alpha(), "alpha passes through untouched");
    int rgbDelta = EpsilonBall.maxAbsDelta(sent.colour().pixels(), delivered.colour().pixels());
    assertTrue(rgbDelta > 0 && rgbDelta <= StreamFixtures.EPS255, "ε-bound on every channel: " + rgbDelta);
    assertEquals(rgbDelta, q.getMaxAbsDelta255());
  }


  @Test
  void badInputsGoToTheDeadLetterTopicWithOriginalBytesAndHeaders() {
    start(StreamSettings.defaults(2, MAX_DELAY).withLimits(1 << 20, 256, 256, 256 * 256));
    byte[] png = PngCodec.encode(data.image(0), 1, 12, 12);
    byte[] huge = PngCodec.encode(new byte[2000 * 300], 1, 300, 2000); // small file, too wide
    byte[] unknownSchemaId = {0, 0, 0, 0x7f, 0x7f, 2, 4, 6};
    byte[] truncated = Arrays.copyOf(png, 40); // PNG signature and IHDR only
    Map<String, byte[]> bad = new java.util.LinkedHashMap<>();
    bad.put("not-an-image", bytes(StreamFixtures.upload("not-an-image", "image/png",
        "hello, world".getBytes(StandardCharsets.UTF_8), null)));
    bad.put("oversized", bytes(StreamFixtures.upload("oversized", "image/png", huge, null)));
    bad.put("unknown-format", bytes(StreamFixtures.upload("unknown-format", "image/tiff", png, null)));
    bad.put("garbage-avro", "definitely not avro".getBytes(StandardCharsets.UTF_8));
    bad.put("unknown-schema", unknownSchemaId);
    bad.put("truncated", bytes(StreamFixtures.upload("truncated", "image/png", truncated, null)));
    bad.put("bad-label", bytes(StreamFixtures.upload("bad-label", "image/png", png, 9)));
    bad.put("long-id", bytes(StreamFixtures.upload("x".repeat(70_000), "image/png", png, 0)));
    Map<String, String> expectedReason = Map.of("not-an-image", "UNSUPPORTED_FORMAT", "oversized", "TOO_LARGE",
        "unknown-format", "UNSUPPORTED_FORMAT", "garbage-avro", "DESERIALIZATION_ERROR", "unknown-schema",
        "DESERIALIZATION_ERROR", "truncated", "DECODE_ERROR", "bad-label", "INVALID_LABEL", "long-id", "INVALID_ID");

    // Interleaved with good uploads, which must still come out protected.
    send("good-0", bytes(StreamFixtures.pngUpload(data, 0, "good-0")), "g0");
    bad.forEach((key, value) -> send(key, value, "trace-" + key));
    send("good-1", bytes(StreamFixtures.pngUpload(data, 1, "good-1")), "g1");

    assertEquals(List.of("good-0", "good-1"), keys(topology.protectedImages));
    List<TestRecord<byte[], byte[]>> dlq = topology.deadLetters.readRecordsToList();
    assertEquals(bad.size(), dlq.size(), "every bad record is dead-lettered, none dropped");
    long offset = 1; // good-0 is at offset 0
    for (TestRecord<byte[], byte[]> r : dlq) {
      String key = new String(r.key(), StandardCharsets.UTF_8);
      if (expectedReason.get(key).equals("TOO_LARGE")) { // by reference: coordinates and SHA-256, not the bytes
        assertNull(r.value(), key);
        assertEquals("true", header(r, DeadLetters.VALUE_OMITTED));
      } else {
        assertArrayEquals(bad.get(key), r.value(), "original bytes of " + key);
        assertNull(r.headers().lastHeader(DeadLetters.VALUE_OMITTED), key);
      }
      assertEquals(io.sepshield.bundle.Sha256.of(bad.get(key)), header(r, DeadLetters.SHA256), key);
      assertEquals(Integer.toString(bad.get(key).length), header(r, DeadLetters.SIZE), key);
      assertEquals(expectedReason.get(key), header(r, DeadLetters.REASON), key);
      assertFalse(header(r, DeadLetters.CAUSE).isBlank());
      assertEquals(ProtectionTopology.UPLOADS_TOPIC, header(r, DeadLetters.TOPIC));
      assertEquals("0", header(r, DeadLetters.PARTITION));
      assertEquals(Long.toString(offset++), header(r, DeadLetters.OFFSET), key);
      assertEquals("trace-" + key, header(r, "trace-id"), "original headers kept");
    }
    assertTrue(header(dlq.get(4), DeadLetters.CAUSE).contains("Unknown schema id"), header(dlq.get(4),
        DeadLetters.CAUSE));

    // The same failures as events for uploaders: keyed by upload id (or the record key where none could be read).
    List<TestRecord<String, ProtectionFailure>> events = topology.failures.readRecordsToList();
    assertEquals(List.copyOf(bad.keySet()), events.stream().map(TestRecord::key).toList());
    offset = 1;
    for (TestRecord<String, ProtectionFailure> r : events) {
      ProtectionFailure f = r.value();
      assertEquals(expectedReason.get(r.key()), f.getReason(), r.key());
      assertEquals(ProtectionTopology.UPLOADS_TOPIC, f.getTopic());
      assertEquals(0, f.getPartition());
      assertEquals(offset++, f.getOffset(), r.key());
      assertFalse(f.getCause().isBlank());
      assertEquals("trace-" + r.key(), header(r, "trace-id"), "original headers kept");
      boolean readable = !Set.of("garbage-avro", "unknown-schema", "long-id").contains(r.key());
      assertEquals(readable ? r.key() : null, f.getId(), "the id when the upload could be read: " + r.key());
    }
    assertEquals(bad.size(), stats.deadLettered());
    assertEquals(2, stats.protectedImages());
  }

  @Test
  void continueStrategyCountsAndFailStrategyStops() {
    start(StreamSettings.defaults(1, MAX_DELAY).withErrorStrategy(ErrorStrategy.CONTINUE));
    send("junk", "junk".getBytes(StandardCharsets.UTF_8), "t");
    send("ok", bytes(StreamFixtures.pngUpload(data, 0, "ok")), "t");
    assertTrue(topology.deadLetters.isEmpty());
    assertEquals(1, stats.skipped());
    assertEquals(List.of("ok"), keys(topology.protectedImages));
    assertEquals("DESERIALIZATION_ERROR", topology.failures.readValue().getReason(),
        "skipped, but the uploader is told");
    topology.close();

    start(StreamSettings.defaults(1, MAX_DELAY).withErrorStrategy(ErrorStrategy.CONTINUE).withFailuresTopic(null));
    send("junk", "junk".getBytes(StandardCharsets.UTF_8), "t");
    assertEquals(1, stats.skipped());
    assertTrue(topology.failures.isEmpty(), "failure events turned off");
    topology.close();

    start(StreamSettings.defaults(1, MAX_DELAY).withErrorStrategy(ErrorStrategy.FAIL));
    assertThrows(StreamsException.class, () -> send("junk", "junk".getBytes(StandardCharsets.UTF_8), "t"));
    assertTrue(topology.deadLetters.isEmpty());
    assertTrue(topology.failures.isEmpty(), "nothing is published for a record that stops the stream");
    assertEquals(1, metrics.registry().get(StreamMetrics.REJECTED).tag("action", "fail")
        .tag("reason", RejectedUpload.DESERIALIZATION_ERROR).counter().count(), "why the stream stopped is counted");
  }

  @Test
  void metersMoveWithProcessingAndScrapeAsPrometheusText() {
    start(StreamSettings.defaults(2, MAX_DELAY));
    metrics.followBundle(engine::bundleId);
    String before = scrape();
    assertEquals(0, scraped(before, "sep_shield_images_protected_total"));
    assertEquals(0, scraped(before, "sep_shield_uploads_rejected_total{action=\"dead-letter-queue\","
        + "reason=\"TOO_LARGE\"}"), "every reason has a series before the first rejection");
    assertEquals(1, scraped(before, "sep_shield_model_bundle{bundle=\"tiny-test-bundle\"}"));

    // Uploaded a minute ago: the end-to-end latency starts at the upload's record timestamp.
    Instant uploadedAt = Instant.now().minusSeconds(60);
    topology.uploads.pipeInput(new TestRecord<>(utf8("m-0"), bytes(StreamFixtures.pngUpload(data, 0, "m-0")),
        new RecordHeaders(), uploadedAt));
    send("junk", "junk".getBytes(StandardCharsets.UTF_8), "t");
    topology.uploads.pipeInput(new TestRecord<>(utf8("m-1"), bytes(StreamFixtures.pngUpload(data, 1, "m-1")),
        new RecordHeaders(), uploadedAt));
    assertEquals(List.of("m-0", "m-1"), keys(topology.protectedImages));

    String after = scrape();
    assertEquals(2, scraped(after, "sep_shield_images_protected_total"));
    assertEquals(1, scraped(after, "sep_shield_uploads_rejected_total{action=\"dead-letter-queue\","
        + "reason=\"DESERIALIZATION_ERROR\"}"));
    assertEquals(0, scraped(after, "sep_shield_uploads_rejected_total{action=\"dead-letter-queue\","
        + "reason=\"TOO_LARGE\"}"));
    assertEquals(1, scraped(after, "sep_shield_batch_size_images_count"));
    assertEquals(2, scraped(after, "sep_shield_batch_size_images_sum"));
    assertEquals(1, scraped(after, "sep_shield_batch_crafting_seconds_count"));
    double crafting = scraped(after, "sep_shield_batch_crafting_seconds_sum");
    assertTrue(crafting > 0 && crafting < 60, "one tiny batch: " + crafting + " s");
    assertTrue(after.contains("sep_shield_batch_crafting_seconds_bucket{le=\"+Inf\"} 1"), "histogram buckets");
    assertEquals(2, scraped(after, "sep_shield_image_latency_seconds_count"));
    double latency = scraped(after, "sep_shield_image_latency_seconds_max");
    assertTrue(latency >= 59 && latency < 120, "from the upload's timestamp: " + latency + " s");
    assertEquals(1, stats.deadLettered());
    assertEquals(1, stats.batches());
  }

  private String scrape() {
    metrics.refresh();
    // simpleclient writes label sets as {a="x",}; the assertions use the plain {a="x"}.
    return ((PrometheusMeterRegistry) metrics.registry()).scrape().replace(",}", "}");
  }

  /** The value of one series in Prometheus text, e.g. {@code name{tag="v"}}; fails when it is missing. */
  private static double scraped(String text, String series) {
    return text.lines().filter(l -> l.startsWith(series + " ")).mapToDouble(l -> Double.parseDouble(
        l.substring(series.length() + 1).trim())).findFirst().orElseThrow(() -> new AssertionError(series
            + " not in\n" + text));
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void registryOutageFailsInsteadOfDeadLettering() throws Exception {
    InMemorySchemaRegistry gone = new InMemorySchemaRegistry().start();
    SchemaRegistryClient unreachable = new SchemaRegistryClient(gone.url());
    gone.close();
    start(StreamSettings.defaults(1, MAX_DELAY), unreachable);
    byte[] valid = bytes(StreamFixtures.pngUpload(data, 0, "x"));
    RuntimeException e = assertThrows(RuntimeException.class, () -> send("x", valid, "t"));
    assertTrue(ProtectionProcessor.registryUnreachable(e), "the outage is what surfaced: " + e);
    assertTrue(topology.deadLetters.isEmpty(), "an outage is not bad data");
    assertTrue(topology.protectedImages.isEmpty());
  }

  @Test
  void aNewBundleTakesOverAtTheNextBatchBoundaryAndTheOldOneIsFreed() throws Exception {
    // Both engines are views over ensembles shared with other tests: closing them only records it.
    AtomicInteger oldClosed = new AtomicInteger();
    BundleHolder holder = BundleHolder.serving(StreamFixtures.engine("bundle-12px", ensemble,
        oldClosed::incrementAndGet));
    AtomicInteger newClosed = new AtomicInteger();
    start(StreamSettings.defaults(2, MAX_DELAY), registry, holder);
    LabeledImages data16 = StreamFixtures.data16();

    send("a", bytes(StreamFixtures.pngUpload(data, 0, "a")), "t");
    holder.install(StreamFixtures.engine("bundle-16px", ensemble16, newClosed::incrementAndGet)); // mid-batch
    assertEquals(0, oldClosed.get(), "a is buffered for the old engine's shape");
    send("b", bytes(StreamFixtures.pngUpload(data16, 1, "b")), "t"); // crafted by the old engine too
    topology.driver.advanceWallClockTime(Duration.ofMillis(1)); // one batch per loop: b (another shape) on the next one
    send("c", bytes(StreamFixtures.pngUpload(data, 2, "c")), "t"); // after the boundary: the new engine
    send("d", bytes(StreamFixtures.pngUpload(data16, 3, "d")), "t");
    topology.driver.advanceWallClockTime(Duration.ofMillis(1));

    List<TestRecord<String, ProtectedImage>> out = topology.protectedImages.readRecordsToList();
    assertEquals(List.of("a", "b", "c", "d"), out.stream().map(TestRecord::key).toList());
    for (int i = 0; i < 4; i++) {
      ProtectedImage p = out.get(i).value();
      int side = i % 2 == 0 ? 12 : 16; // each at its own size, whichever bundle crafted it
      assertEquals(i < 2 ? "bundle-12px" : "bundle-16px", p.getBundleId(), p.getId());
      assertEquals(side, p.getWidth(), p.getId());
      assertEquals(side * side, PngCodec.decode(toArray(p.getPng()), 1).pixels().length, p.getId());
      assertTrue(p.getMaxAbsDelta255() > 0 && p.getMaxAbsDelta255() <= StreamFixtures.EPS255);
    }
    assertEquals(4, stats.batches(), "two full buffers of two shapes each: one batch per shape");
    assertEquals(1, oldClosed.get(), "freed once the batch that used it was done");
    assertEquals(0, newClosed.get());
    assertEquals("bundle-16px", holder.currentBundleId());

    // No traffic: the punctuation tick adopts a new bundle without waiting for an upload.
    holder.install(StreamFixtures.engine("bundle-16px-2", ensemble16, newClosed::incrementAndGet));
    assertEquals(0, newClosed.get(), "leased by the processor");
    topology.driver.advanceWallClockTime(MAX_DELAY);
    assertEquals(1, newClosed.get());
  }

  @Test
  void imagesRestoredFromAnOlderChangelogFormatAreDecodedAgain() throws Exception {
    // An instance restarted with a newer bundle of another input shape, its buffer restored from a changelog written
    // by an older version: format 2 (pixels of the old 12×12 shape) and format 1 (pixels without a shape).
    BundleHolder holder = BundleHolder.serving(StreamFixtures.engine("bundle-16px", ensemble16, () -> {}));
    start(StreamSettings.defaults(3, MAX_DELAY), registry, holder);
    byte[] original = bytes(StreamFixtures.pngUpload(data, 0, "restored"));
    var store = topology.driver.<String, byte[]>getKeyValueStore(ProtectionTopology.BUFFER_STORE);
    store.put("restored", legacyPendingImage(2, "restored", data.label(0), 99, original, data.image(0)));
    byte[] v1 = bytes(StreamFixtures.pngUpload(data, 2, "restored-v1"));
    store.put("restored-v1", legacyPendingImage(1, "restored-v1", data.label(2), 97, v1, data.image(2)));
    byte[] badLabel = bytes(StreamFixtures.upload("bad-label", "image/png", PngCodec.encode(data.image(1), 1, 12,
        12), 7));
    store.put("bad-label", legacyPendingImage(2, "bad-label", 7, 98, badLabel, data.image(1)));
    send("new", bytes(StreamFixtures.pngUpload(StreamFixtures.data16(), 0, "new")), "t");
    topology.driver.advanceWallClockTime(MAX_DELAY.plusMillis(1)); // the oldest shape first (the restored 12×12)...
    topology.driver.advanceWallClockTime(Duration.ofMillis(1)); // ...16×16 on the next loop

    Map<String, ProtectedImage> out = new java.util.HashMap<>();
    topology.protectedImages.readRecordsToList().forEach(r -> out.put(r.key(), r.value()));
    assertEquals(java.util.Set.of("restored", "restored-v1", "new"), out.keySet());
    for (ProtectedImage p : out.values()) { // each at its own size, crafted by the 16×16 bundle
      int side = p.getId().equals("new") ? 16 : 12;
      assertEquals(side, p.getWidth(), p.getId());
      assertEquals(side * side, PngCodec.decode(toArray(p.getPng()), 1).pixels().length, p.getId());
      assertEquals("bundle-16px", p.getBundleId());
    }
    assertEquals(2, stats.batches(), "one batch per image shape: 12×12 (two restored), 16×16");
    List<TestRecord<byte[], byte[]>> dlq = topology.deadLetters.readRecordsToList();
    assertEquals(1, dlq.size(), "a restored image that no longer fits is dead-lettered, not dropped");
    assertEquals("INVALID_LABEL", header(dlq.get(0), DeadLetters.REASON));
    assertArrayEquals(badLabel, dlq.get(0).value());
    try (var left = store.all()) {
      assertFalse(left.hasNext(), "buffer empty after the flush");
    }
  }

  @Test
  void theBufferKeepsTheRecordNotPixels() {
    start(StreamSettings.defaults(2, MAX_DELAY));
    byte[] value = bytes(StreamFixtures.pngUpload(data, 0, "one"));
    send("one", value, "t");
    try (var buffered = topology.driver.<String, byte[]>getKeyValueStore(ProtectionTopology.BUFFER_STORE).all()) {
      byte[] stored = buffered.next().value;
      assertTrue(stored.length < value.length + 200, "record plus coordinates: " + stored.length + " vs "
          + value.length);
      PendingImage p = PendingImage.fromBytes(stored);
      assertArrayEquals(value, p.originalValue());
      assertEquals(12 * 12, p.pixelCount());
      assertEquals(0, p.offset());
    }
  }

  @Test
  void batchesAreBoundedByPixels() {
    // 12×12 images, at most 300 pixels a batch: the third upload (432 pixels buffered) fills the buffer, which is
    // drained in batches of 2 + 1, one per loop: the last one on the next loop, not after max-delay.
    start(StreamSettings.defaults(8, MAX_DELAY).withBatching(300, Duration.ofSeconds(1)));
    for (int i = 0; i < 3; i++) {
      send("p-" + i, bytes(StreamFixtures.pngUpload(data, i, "p-" + i)), "t");
    }
    assertEquals(List.of("p-0", "p-1"), keys(topology.protectedImages));
    assertEquals(1, stats.batches());
    topology.driver.advanceWallClockTime(Duration.ofMillis(1));
    assertEquals(List.of("p-2"), keys(topology.protectedImages));
    assertEquals(2, stats.batches());
  }

  /** A buffered upload as versions with store formats 1 and 2 wrote it (decoded pixels in the record). */
  private static byte[] legacyPendingImage(int format, String id, int label, long offset, byte[] value,
      byte[] pixels) throws java.io.IOException {
    var buffer = new java.io.ByteArrayOutputStream();
    try (var out = new java.io.DataOutputStream(buffer)) {
      out.writeByte(format);
      out.writeUTF(id);
      out.writeInt(label);
      out.writeLong(0);
      out.writeUTF(ProtectionTopology.UPLOADS_TOPIC);
      out.writeInt(0);
      out.writeLong(offset);
      out.writeLong(0);
      byte[] key = utf8(id);
      out.writeInt(key.length);
      out.write(key);
      out.writeInt(value.length);
      out.write(value);
      out.writeInt(0); // headers
      if (format == 2) {
        out.writeInt(1);
        out.writeInt(12);
        out.writeInt(12);
      }
      out.writeInt(pixels.length);
      out.write(pixels);
    }
    return buffer.toByteArray();
  }

  private static List<String> keys(TestOutputTopic<String, ProtectedImage> topic) {
    return topic.readRecordsToList().stream().map(TestRecord::key).toList();
  }

  private static String header(TestRecord<?, ?> r, String name) {
    var h = r.headers().lastHeader(name);
    assertNotNull(h, "header " + name);
    return new String(h.value(), StandardCharsets.UTF_8);
  }

  private static byte[] toArray(java.nio.ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
