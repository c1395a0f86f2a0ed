package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import io.sepshield.avro.BundleUpdated;
import io.sepshield.bundle.BundleException;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.BundleUpdate;
import io.sepshield.lifecycle.ProtectionEngine;

/** Hot swap with real bundles: what is swapped in, what is refused, when the old engine is freed. */
class BundleHolderTest {
  @TempDir
  static Path root;
  static RetrainingJob.Result a;
  static RetrainingJob.Result b;
  static RetrainingJob.Result fiveClasses;

  final List<String> loaded = new ArrayList<>();
  final Set<String> closed = ConcurrentHashMap.newKeySet();
  BundleHolder holder;

  @BeforeAll
  static void trainBundles() {
    a = TinyModels.bundle(TinyModels.textures(4, 16, 1, 1), root.resolve("a"), 2, 1);
    b = TinyModels.bundle(TinyModels.textures(4, 16, 1, 2), root.resolve("b"), 2, 2);
    fiveClasses = TinyModels.bundle(TinyModels.textures(5, 12, 1, 3), root.resolve("c"), 1, 3);
    assertNotEquals(a.bundleId(), b.bundleId());
  }

  @AfterEach
  void close() throws InterruptedException {
    if (holder != null) {
      holder.close();
    }
  }

  /** Loads like the service does, and records which bundles reach the device and which are freed. */
  ProtectionEngine load(Path dir) {
    BundleLoader.LoadedBundle bundle = BundleLoader.load(dir, Device.cpu());
    String id = bundle.manifest().bundleId();
    loaded.add(id);
    return new ProtectionEngine(id, Profile.FAST.cliName(), bundle.ensemble(),
        Profile.FAST.settings(Method.SEP_FA_VR, 8 / 255f, bundle.ensemble().size(), 1), () -> {
          closed.add(id);
          bundle.close();
        });
  }

  BundleHolder startWith(RetrainingJob.Result configured, List<BundleUpdate> published) {
    holder = BundleHolder.forBundle(configured.bundleDir().getParent(), this::load);
    holder.start(published);
    return holder;
  }

  @Test
  void aGoodBundleIsSwappedInAndTheOldOneFreedWhenItsLastLeaseEnds() {
    startWith(a, List.of());
    assertEquals(a.bundleId(), holder.currentBundleId());
    BundleHolder.Lease processor = holder.acquire(); // a processor mid-batch on bundle a

    assertTrue(holder.apply(BundleUpdate.of(b.bundleDir())));
    assertEquals(b.bundleId(), holder.currentBundleId());
    assertEquals(1, holder.swaps());
    assertFalse(processor.isCurrent());
    assertEquals(a.bundleId(), processor.engine().bundleId(), "a lease keeps its engine");
    assertEquals(Set.of(), closed, "still leased, so still resident");

    processor.close();
    assertEquals(Set.of(a.bundleId()), closed, "freed with its last lease");
    try (BundleHolder.Lease next = holder.acquire()) {
      assertTrue(next.isCurrent());
      assertEquals(b.bundleId(), next.engine().bundleId());
    }
    assertEquals(Set.of(a.bundleId()), closed, "the current engine stays resident without leases");
    assertTrue(holder.apply(BundleUpdate.of(b.bundleDir())), "the same bundle again is a no-op");
    assertEquals(List.of(a.bundleId(), b.bundleId()), loaded);
    assertEquals(0, holder.refusals());
  }

  @Test
  void badBundlesAreRefusedBeforeTheDeviceAndTheOldOneKeepsServing() throws IOException {
    startWith(a, List.of());
    BundleUpdate good = BundleUpdate.of(b.bundleDir());

    Path flipped = TinyModels.copyBundle(b.bundleDir(), root);
    Path params = flipped.resolve("checkpoints/epoch-001.params");
    byte[] bytes = Files.readAllBytes(params);
    bytes[bytes.length / 2] ^= 1;
    Files.write(params, bytes);
    Path missing = TinyModels.copyBundle(b.bundleDir(), root);
    Files.delete(missing.resolve("checkpoints/epoch-002.centers.npy"));

    List<BundleUpdate> bad = List.of(
        new BundleUpdate(good.bundleId(), flipped, good.sha256(), null, good.createdAt()),
        new BundleUpdate(good.bundleId(), missing, good.sha256(), null, good.createdAt()),
        new BundleUpdate(good.bundleId(), good.directory(), "0".repeat(64), null, good.createdAt()),
        new BundleUpdate("someone-else", good.directory(), good.sha256(), null, good.createdAt()),
        new BundleUpdate(good.bundleId(), good.directory(), good.sha256(), "vgg11s", good.createdAt()),
        new BundleUpdate(good.bundleId(), root.resolve("nowhere"), good.sha256(), null, good.createdAt()),
        BundleUpdate.of(fiveClasses.bundleDir()));
    List<String> reasons = List.of("checksum mismatch for checkpoints/epoch-001.params",
        "missing checkpoints/epoch-002.centers.npy", "manifest SHA-256 is", "the event someone-else",
        "architecture is resnet8, the event says vgg11s", "no manifest.json", "differ from the served");
    for (int i = 0; i < bad.size(); i++) {
      assertFalse(holder.apply(bad.get(i)), "refused: " + reasons.get(i));
      assertEquals(i + 1, holder.refusals());
      assertTrue(holder.lastRefusal().contains(reasons.get(i)), holder.lastRefusal());
      assertEquals(a.bundleId(), holder.currentBundleId());
    }
    assertTrue(holder.hasEngine());
    assertEquals(List.of(a.bundleId()), loaded, "no refused bundle reached the device");
    assertEquals(Set.of(), closed, "the serving engine is untouched");
    assertEquals(0, holder.swaps());
  }

  @Test
  void startTakesTheNewestAcceptablePublishedBundleOverTheConfiguredOne() {
    BundleUpdate good = BundleUpdate.of(b.bundleDir());
    BundleUpdate newestButBroken = new BundleUpdate(good.bundleId(), good.directory(), "f".repeat(64), null,
        good.createdAt());
    startWith(a, List.of(good, newestButBroken));
    assertEquals(b.bundleId(), holder.currentBundleId(), "the broken newest is skipped, not the configured a");
    assertEquals(1, holder.refusals());
    assertEquals(List.of(b.bundleId()), loaded, "the stale configured bundle is never loaded");
    assertEquals(0, holder.swaps());
  }

  @Test
  void offeredUpdatesLoadInTheBackground() throws Exception {
    startWith(a, List.of());
    holder.offer(BundleUpdate.of(b.bundleDir()));
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!b.bundleId().equals(holder.currentBundleId()) && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(b.bundleId(), holder.currentBundleId());
    assertEquals(Set.of(a.bundleId()), closed, "no lease held it, so it was freed at once");
    holder.close();
    assertEquals(Set.of(a.bundleId(), b.bundleId()), closed, "closing the holder frees what is resident");
  }

  @Test
  void eventsAreReadStrictly() {
    BundleUpdate good = BundleUpdate.of(b.bundleDir());
    BundleUpdated event = good.toAvro();
    assertEquals(good, BundleUpdate.from(event), "round trip through the Avro event");
    assertEquals(good.directory(), BundleUpdate.from(withUri(event, good.directory().toString())).directory(),
        "a plain absolute path works too");
    for (String uri : List.of("relative/bundle", "s3://bucket/bundle", "file:relative", "")) {
      BundleException e = assertThrows(BundleException.class, () -> BundleUpdate.from(withUri(event, uri)), uri);
      assertFalse(e.getMessage().isBlank());
    }
    event.setSha256("not-hex");
    assertThrows(BundleException.class, () -> BundleUpdate.from(event));
  }

  private static BundleUpdated withUri(BundleUpdated event, String uri) {
    return BundleUpdated.newBuilder(event).setUri(uri).build();
  }

  @Test
  void theConfiguredBundleMustBeValid() {
    Function<Path, ProtectionEngine> loader = this::load;
    assertThrows(BundleException.class, () -> BundleHolder.forBundle(root.resolve("nothing-here"), loader));
  }
}
