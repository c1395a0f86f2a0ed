package io.sepshield.reliability;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.LabeledImages;
import io.sepshield.testing.TinyModels;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly once under SIGKILL ({@link CrashSoak}, smaller than {@code sep-shield soak}): processors run as child JVMs
 * and are killed mid-flush and while uploads sit in their batch buffer, then started again; with two instances the
 * survivor takes the killed one's partitions over (a rebalance that restores the buffer from the changelog). A
 * read_committed reader must then see exactly one result per upload and only ε-bounded protected images.
 */
class CrashRecoveryTest {
  @TempDir
  static Path dir;

  static Path bundle;

  @BeforeAll
  static void bundle() {
    bundle = TinyModels.bundle(TinyModels.textures(4, 16, 1, 31), dir.resolve("bundle"), 3, 5).bundleDir();
  }

  /**
   * Two instances, two kills: p0 while a transaction that already wrote results is open, then p1 while committed
   * uploads wait in its buffer. Each time the survivor takes the partitions over before the killed one comes back.
   * (One test rather than one per case: every processor start loads PyTorch and a bundle.)
   */
  @Test
  void killedMidFlushAndWhileBufferingWithARebalanceEachTime() throws Exception {
    CrashSoak.Result r = soak(2, 100, 2, List.of(CrashSoak.KillPoint.MID_FLUSH, CrashSoak.KillPoint.BUFFERED));
    assertExactlyOnce(r, 2);
    for (CrashSoak.Kill kill : r.killLog()) {
      assertEquals(Boolean.TRUE, kill.partitionsMoved(), "the survivor took the killed instance's partitions: "
          + kill);
      assertFalse(kill.partitions().isEmpty(), kill.toString());
    }
    // A rebalance while images are buffered: the BUFFERED kill waits for committed uploads in the buffer, but on a
    // fast machine the batch may craft between that sight and the SIGKILL (0 counted at the kill), so either kill
    // may be the one that leaves buffered uploads to the survivor.
    assertTrue(r.killLog().stream().anyMatch(k -> k.bufferedUploads() > 0),
        "uploads were buffered when an instance died: " + r.killLog());
  }

  private static void assertExactlyOnce(CrashSoak.Result r, int kills) {
    String report = r.toString();
    assertEquals(kills, r.kills(), report);
    assertTrue(r.killLog().stream().allMatch(CrashSoak.Kill::triggered), "every kill hit its moment: " + report);
    assertEquals(0, r.lost(), report);
    assertEquals(0, r.duplicated(), report);
    assertEquals(0, r.epsViolations(), report);
    assertEquals(0, r.unexpected(), report);
    assertEquals(0, r.failureEventsDuplicated(), report);
    assertEquals(List.of(), r.problems(), report);
    assertEquals(r.uploads() - r.corruptUploads(), r.protectedImages(), report);
    assertEquals(r.corruptUploads(), r.deadLettered(), report);
    assertTrue(r.maxAbsDelta255() > 0 && r.maxAbsDelta255() <= 8, "protected, within ε: " + report);
    assertEquals(r.instances() + kills, r.processorStarts(), report);
  }

  private static CrashSoak.Result soak(int instances, int uploads, int kills, List<CrashSoak.KillPoint> points) throws Exception {
    List<String> jvm = new ArrayList<>(List.of("-Xmx512m"));
    for (String key : new String[] {"ai.djl.offline", "PYTORCH_FLAVOR", "java.util.logging.manager"}) {
      String v = System.getProperty(key);
      if (v != null) {
        jvm.add("-D" + key + "=" + v);
      }
    }
    ProcessorJvm.Launcher plain = (properties, options) -> {
      List<String> cmd = new ArrayList<>(ProcessorJvm.Launcher.java(options));
      properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add(PlainProcessorMain.class.getName());
      return cmd;
    };
    LabeledImages uploadsFrom = TinyModels.textures(4, 8, 1, 99); // not the bundle's training images
    // Batches larger than a phase brings to a partition, so every upload waits out max-delay in the committed
    // buffer: the BUFFERED and MID_FLUSH moments occur whatever the machine's speed (a fast one crafted full
    // batches of 8 before the trigger could see them buffered).
    CrashSoak.Spec spec = new CrashSoak.Spec(uploads, kills, instances, 2, 32,
        Duration.ofSeconds(3), 20, Duration.ofSeconds(15), 8, 3, dir.resolve("soak-" + instances), bundle, plain, jvm,
        points, Duration.ofMinutes(5));
    return new CrashSoak(spec, System.err).run(uploadsFrom);
  }
}
