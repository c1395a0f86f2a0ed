package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.data.LabeledImages;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.reliability.BadInputCorpus;
import io.sepshield.reliability.CorpusImages;
import io.sepshield.service.StreamMetrics;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bad-input corpus through the protection topology (TopologyTestDriver: the processor runs on this thread, so
 * the heap it allocates per record is measured exactly). Every kind must get exactly its expected outcome, the
 * stream must keep protecting afterwards, and rejecting a kind must allocate little (a bomb is refused from its
 * header). With {@code -Dreliability.results=docs/results/reliability.json} the rows go to its
 * {@code bad_input_kinds} list.
 */
class BadInputCorpusTest {
  static final String COMMAND = "./mvnw -B -ntp -o test -Dtest=BadInputCorpusTest";
  /** Rejecting any kind may allocate at most this much heap (the largest record in the corpus is ~300 KB). */
  static final long MAX_REJECT_ALLOCATION = 32L << 20;
  static final BadInputCorpus.Limits LIMITS = new BadInputCorpus.Limits(256 << 10, 256, 256, 256 * 256, 4);
  /** skimage's sample files, where Debian's python3-skimage was extracted (optional check). */
  static final Path SKIMAGE = Path.of("/tmp/skimage/usr/lib/python3/dist-packages/skimage/data");

  static LabeledImages data;
  static ProtectionEngine engine;
  static BundleHolder bundles;
  static InMemorySchemaRegistry registryServer;
  static SchemaRegistryClient registry;

  @TempDir
  Path stateDir;
  TopologyUnderTest topology;
  StreamMetrics metrics;

  @BeforeAll
  static void engineAndRegistry() throws Exception {
    data = StreamFixtures.data();
    engine = StreamFixtures.tinyEngine(data);
    bundles = BundleHolder.serving(engine);
    registryServer = new InMemorySchemaRegistry().start();
    registry = new SchemaRegistryClient(registryServer.url());
  }

  @AfterAll
  static void close() throws Exception {
    engine.close();
    registryServer.close();
  }

  @AfterEach
  void closeDriver() {
    if (topology != null) {
      topology.close();
    }
  }

  void start(StreamSettings settings) {
    metrics = new StreamMetrics(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
    topology = TopologyUnderTest.start("sep-shield-corpus", stateDir, settings, bundles, registry, metrics);
  }

  static StreamSettings settings() {
    // Max-delay at the end crafts the valid kinds in a few batches (one per shape, one per processing loop);
    // rejections happen on arrival.
    return StreamSettings.defaults(64, Duration.ofSeconds(2)).withLimits(LIMITS.maxBytes(), LIMITS.maxWidth(),
        LIMITS.maxHeight(), LIMITS.maxPixels());
  }

  @Test
  void everyKindGetsItsOutcomeAndTheStreamKeepsProtecting() throws Exception {
    start(settings());
    List<BadInputCorpus.Case> cases = new BadInputCorpus(registry, ProtectionTopology.UPLOADS_TOPIC, LIMITS).cases();
    assertTrue(cases.size() >= 20, "at least 20 kinds: " + cases.size());
    BadInputCorpus.writeTo(cases, Path.of("target", "bad-input-corpus"));
    CorpusVerdicts verdicts = new CorpusVerdicts();
    List<String> thrown = new ArrayList<>();
    for (BadInputCorpus.Case c : cases) {
      for (BadInputCorpus.Upload u : c.uploads()) {
        long before = allocatedBytes();
        try {
          topology.uploads.pipeInput(new TestRecord<>(u.key(), u.value(), new RecordHeaders(u.headers())));
        } catch (RuntimeException e) {
          thrown.add(c.kind() + ": " + e);
        }
        if (!c.protects()) { // protected kinds include crafting, which is not what this bounds
          verdicts.allocated(c.kind(), allocatedBytes() - before);
        }
      }
    }
    StreamFixtures.drain(topology.driver, Duration.ofSeconds(3)); // max-delay flush of everything buffered
    collect(verdicts);

    // The service still protects after the whole corpus.
    byte[] good = io.sepshield.data.PngCodec.encode(data.image(0), 1, 12, 12);
    topology.uploads.pipeInput(new TestRecord<>("after".getBytes(StandardCharsets.UTF_8), new BadInputCorpus(registry,
        ProtectionTopology.UPLOADS_TOPIC, LIMITS).serialize(BadInputCorpus.upload("after-corpus", "image/png", good,
            data.label(0)))));
    StreamFixtures.drain(topology.driver, Duration.ofSeconds(3));
    List<TestRecord<String, ProtectedImage>> after = topology.protectedImages.readRecordsToList();

    List<Map<String, Object>> rows = verdicts.rows(cases, MAX_REJECT_ALLOCATION);
    CorpusVerdicts.write("bad_input_kinds", rows, COMMAND, "bad-input-kinds");
    System.out.println(CorpusVerdicts.table(rows));
    assertEquals(List.of(), thrown, "nothing may throw out of the processor");
    assertEquals(List.of(), verdicts.unmatched());
    assertEquals(List.of("after-corpus"), after.stream().map(TestRecord::key).toList(), "still protecting");
    List<String> bad = rows.stream().filter(r -> !(Boolean) r.get("ok")).map(r -> r.get("kind") + ": "
        + r.get("observed_reason") + " " + r.get("detail")).toList();
    assertEquals(List.of(), bad, CorpusVerdicts.table(rows));
  }

  /**
   * Decoding a PNG whose zTXt and iTXt chunks inflate to 48 MiB each: the metadata is stripped by default, so it is
   * never inflated (before the fix, one decode allocated about 450 MiB and the processor decodes every upload twice).
   */
  @Test
  void aMetadataBombIsNotInflated() throws Exception {
    byte[] bomb = CorpusImages.pngMetadataBomb(16, 12, 9, 48 << 20);
    long before = allocatedBytes();
    io.sepshield.data.DecodedUpload d = io.sepshield.data.UploadDecoder.decode(bomb,
        io.sepshield.data.UploadDecoder.Options.DEFAULT);
    long allocated = allocatedBytes() - before;
    assertEquals(16 * 12, d.colour().pixels().length);
    assertTrue(allocated < 4L << 20, "decoding allocated " + (allocated >> 20) + " MiB");
  }

  /** Every output read so far, matched to its kind. */
  private void collect(CorpusVerdicts verdicts) {
    for (TestRecord<byte[], byte[]> r : topology.deadLetters.readRecordsToList()) {
      verdicts.deadLetter(r.headers());
    }
    for (TestRecord<String, ProtectedImage> r : topology.protectedImages.readRecordsToList()) {
      verdicts.protectedImage(r.headers(), r.value());
    }
    for (TestRecord<String, ProtectionFailure> r : topology.failures.readRecordsToList()) {
      verdicts.failureEvent(r.headers(), r.value().getReason());
    }
  }

  private static long allocatedBytes() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
  }

  /**
   * The real awkward files that ship with scikit-image, where they were extracted (skipped otherwise): each gets a
   * definite outcome from its allowed set. TIFF is accepted only where the service is configured for it.
   */
  @Test
  void skimageSampleFilesWhenPresent() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(SKIMAGE), "no skimage data at " + SKIMAGE);
    start(StreamSettings.defaults(1, Duration.ofSeconds(2)));
    Map<String, Set<String>> allowed = new java.util.LinkedHashMap<>();
    allowed.put("truncated.jpg", Set.of("DECODE_ERROR"));
    allowed.put("foo3x5x4indexed.png", Set.of(BadInputCorpus.PROTECTED));
    allowed.put("green_palette.png", Set.of(BadInputCorpus.PROTECTED));
    allowed.put("palette_color.png", Set.of(BadInputCorpus.PROTECTED));
    allowed.put("palette_gray.png", Set.of(BadInputCorpus.PROTECTED));
    allowed.put("checker_bilevel.png", Set.of(BadInputCorpus.PROTECTED));
    allowed.put("logo.png", Set.of(BadInputCorpus.PROTECTED));
    allowed.put("no_time_for_that_tiny.gif", Set.of("MULTI_FRAME"));
    allowed.put("chessboard_GRAY_U16.tif", Set.of("UNSUPPORTED_FORMAT", BadInputCorpus.PROTECTED));
    allowed.put("chessboard_GRAY_U16B.tif", Set.of("UNSUPPORTED_FORMAT", BadInputCorpus.PROTECTED));
    allowed.put("multipage.tif", Set.of("UNSUPPORTED_FORMAT", "MULTI_FRAME"));
    allowed.put("multipage_rgb.tif", Set.of("UNSUPPORTED_FORMAT", "MULTI_FRAME"));
    BadInputCorpus corpus = new BadInputCorpus(registry, ProtectionTopology.UPLOADS_TOPIC, LIMITS);
    List<String> problems = new ArrayList<>();
    StringBuilder table = new StringBuilder();
    for (var e : allowed.entrySet()) {
      Path file = SKIMAGE.resolve(e.getKey());
      if (!Files.isRegularFile(file)) {
        continue;
      }
      String name = e.getKey();
      String ext = name.substring(name.lastIndexOf('.') + 1);
      String type = switch (ext) {
        case "jpg" -> "image/jpeg";
        case "tif" -> "image/tiff";
        default -> "image/" + ext;
      };
      byte[] value = corpus.serialize(BadInputCorpus.upload(name, type, Files.readAllBytes(file), null));
      try {
        topology.uploads.pipeInput(new TestRecord<>(name.getBytes(StandardCharsets.UTF_8), value));
      } catch (RuntimeException ex) {
        problems.add(name + " threw " + ex);
        continue;
      }
      List<String> outcomes = new ArrayList<>();
      topology.deadLetters.readRecordsToList().forEach(r -> outcomes.add(CorpusVerdicts.header(r.headers(),
          DeadLetters.REASON) + " (" + CorpusVerdicts.header(r.headers(), DeadLetters.CAUSE) + ")"));
      topology.protectedImages.readRecordsToList().forEach(r -> outcomes.add(BadInputCorpus.PROTECTED + " ("
          + r.value().getWidth() + "x" + r.value().getHeight() + "x" + r.value().getChannels()
          + (r.value().getHasAlpha() ? "+alpha" : "") + " " + r.value().getReductions() + ")"));
      table.append(name).append(" -> ").append(outcomes).append('\n');
      if (outcomes.size() != 1 || !e.getValue().contains(outcomes.get(0).split(" ", 2)[0])) {
        problems.add(name + ": " + outcomes + ", allowed " + e.getValue());
      }
    }
    System.out.println(table);
    assertEquals(List.of(), problems);
  }
}
