package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.service.StreamMetrics;
import io.sepshield.storage.ClaimCheck;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Engine failures: a batch the engine fails on is retried once, then bisected, one engine call per loop, so that only
 * an image that fails alone is dead-lettered; and crafting slower than its budget is counted.
 */
class EngineFailureTest {
  static LabeledImages data;
  static ProtectionEngine engine;
  static InMemorySchemaRegistry registryServer;
  static SchemaRegistryClient registry;

  @TempDir
  Path stateDir;
  TopologyUnderTest topology;
  StreamMetrics metrics;
  /** The ids of every batch the engine was asked to craft, in order. */
  final List<List<String>> calls = new ArrayList<>();

  @BeforeAll
  static void engineAndRegistry() throws Exception {
    data = StreamFixtures.data();
    engine = StreamFixtures.tinyEngine(data);
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

  void start(StreamSettings settings, ProtectionProcessor.EngineCall faulty) {
    metrics = new StreamMetrics();
    ProtectionProcessor.EngineCall recorded = (e, batch) -> {
      calls.add(batch.ids());
      return faulty.protect(e, batch);
    };
    // The settings' own slowest batch: one test is about the crafting budget.
    topology = TopologyUnderTest.start("sep-shield-faults", stateDir, settings, settings.slowestBatch(),
        ProtectionTopology.build(settings, BundleHolder.serving(engine), registry, metrics,
            new ClaimCheck(ClaimCheck.Settings.none()), recorded), registry);
  }

  void send(String id, int image) {
    topology.uploads.pipeInput(id.getBytes(StandardCharsets.UTF_8),
        topology.serialize(StreamFixtures.pngUpload(data, image, id)));
  }

  /** Runs loops (1 ms of wall clock each) until the engine has been called {@code n} times or 50 loops passed. */
  void loopsUntilCalls(int n) {
    for (int i = 0; i < 50 && calls.size() < n; i++) {
      topology.driver.advanceWallClockTime(Duration.ofMillis(1));
    }
  }

  @Test
  void oneImageTheEngineAlwaysFailsOnIsFoundByBisectionAndOnlyItIsDeadLettered() throws Exception {
    start(StreamSettings.defaults(4, Duration.ofHours(1)), (e, batch) -> {
      if (batch.ids().contains("poison")) {
        throw new IllegalStateException("native error on poison");
      }
      return e.protect(batch);
    });
    send("a", 0);
    send("poison", 1);
    send("c", 2);
    send("d", 3); // the buffer is full: the first attempt runs in this call
    assertEquals(1, calls.size(), "one engine call per loop");
    loopsUntilCalls(6);
    topology.driver.advanceWallClockTime(Duration.ofMillis(5)); // would show a seventh call
    assertEquals(List.of(List.of("a", "poison", "c", "d"), List.of("a", "poison", "c", "d"), List.of("a", "poison"),
        List.of("a"), List.of("poison"), List.of("c", "d")), calls, "retried once, then halves, then alone");

    List<TestRecord<String, ProtectedImage>> out = topology.protectedImages.readRecordsToList();
    assertEquals(List.of("a", "c", "d"), out.stream().map(TestRecord::key).toList(), "its batch mates protected");
    for (TestRecord<String, ProtectedImage> r : out) {
      int i = List.of("a", "poison", "c", "d").indexOf(r.key());
      byte[] delivered = PngCodec.decode(toArray(r.value().getPng()), 1).pixels();
      int delta = EpsilonBall.maxAbsDelta(data.image(i), delivered);
      assertTrue(delta > 0 && delta <= StreamFixtures.EPS255, r.key() + ": " + delta);
    }
    List<TestRecord<byte[], byte[]>> dlq = topology.deadLetters.readRecordsToList();
    assertEquals(1, dlq.size());
    assertEquals("poison", new String(dlq.get(0).key(), StandardCharsets.UTF_8));
    assertEquals(RejectedUpload.PROTECTION_ERROR, new String(dlq.get(0).headers().lastHeader(DeadLetters.REASON)
        .value(), StandardCharsets.UTF_8));
    assertTrue(new String(dlq.get(0).headers().lastHeader(DeadLetters.CAUSE).value(), StandardCharsets.UTF_8)
        .contains("native error on poison"));
    assertEquals(4, metrics.engineFailureCount(), "whole batch twice, the half with it, then it alone");
    try (var left = topology.driver.getKeyValueStore(ProtectionTopology.BUFFER_STORE).all()) {
      assertFalse(left.hasNext(), "nothing left behind");
    }
  }

  @Test
  void aTransientFailureIsRetriedOnceAndNothingIsDeadLettered() {
    AtomicInteger failuresLeft = new AtomicInteger(1);
    start(StreamSettings.defaults(3, Duration.ofHours(1)), (e, batch) -> {
      if (failuresLeft.getAndDecrement() > 0) {
        throw new RuntimeException("transient: native allocation failed");
      }
      return e.protect(batch);
    });
    send("x", 0);
    send("y", 1);
    send("z", 2);
    assertTrue(topology.protectedImages.isEmpty(), "the first attempt failed; nothing forwarded");
    try (var left = topology.driver.getKeyValueStore(ProtectionTopology.BUFFER_STORE).all()) {
      assertTrue(left.hasNext(), "the batch waits in the buffer for its retry");
    }
    loopsUntilCalls(2);
    assertEquals(List.of(List.of("x", "y", "z"), List.of("x", "y", "z")), calls);
    assertEquals(List.of("x", "y", "z"), topology.protectedImages.readRecordsToList().stream().map(TestRecord::key)
        .toList());
    assertTrue(topology.deadLetters.isEmpty());
    assertEquals(1, metrics.engineFailureCount());
    assertEquals(1, metrics.stats().batches());
  }

  @Test
  void craftingSlowerThanItsBudgetIsCounted() {
    // A budget of 1 ms (no floor, 1 ms per megapixel): even the tiny engine overruns it.
    StreamSettings tight = StreamSettings.defaults(2, Duration.ofHours(1))
        .withBatching(StreamSettings.DEFAULT_MAX_BATCH_PIXELS, Duration.ofMillis(1)).withSlowestBatch(Duration.ZERO);
    start(tight, ProtectionEngine::protect);
    send("s-0", 0);
    send("s-1", 1);
    assertEquals(1, metrics.stats().batches());
    assertEquals(1, metrics.overBudgetCount());
    var used = metrics.registry().get(StreamMetrics.BUDGET_USED).summary();
    assertEquals(1, used.count());
    assertTrue(used.max() > 1, "more than its budget: " + used.max());
    topology.close();

    // The default floor (2 min): the same batch is well within it.
    start(StreamSettings.defaults(2, Duration.ofHours(1)), ProtectionEngine::protect);
    send("s-0", 0);
    send("s-1", 1);
    assertEquals(0, metrics.overBudgetCount());
    used = metrics.registry().get(StreamMetrics.BUDGET_USED).summary();
    assertTrue(used.max() > 0 && used.max() < 1, "a fraction of its budget: " + used.max());
  }

  private static byte[] toArray(java.nio.ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
