package io.sepshield.lifecycle;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.bundle.BundleManifest;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hot swap under faults: a shared volume that lags the event, an id republished with other content. */
class BundleSwapFaultsTest {
  @TempDir
  static Path root;
  static RetrainingJob.Result a;
  static RetrainingJob.Result b;

  BundleHolder holder;

  @BeforeAll
  static void trainBundles() {
    a = TinyModels.bundle(TinyModels.textures(4, 12, 1, 11), root.resolve("a"), 1, 11);
    b = TinyModels.bundle(TinyModels.textures(4, 12, 1, 12), root.resolve("b"), 1, 12);
  }

  @AfterEach
  void close() throws InterruptedException {
    if (holder != null) {
      holder.close();
    }
  }

  static ProtectionEngine load(Path dir) {
    BundleLoader.LoadedBundle bundle = BundleLoader.load(dir, Device.cpu());
    return new ProtectionEngine(bundle.manifest().bundleId(), Profile.FAST.cliName(), bundle.ensemble(),
        Profile.FAST.settings(Method.SEP_FA_VR, 8 / 255f, bundle.ensemble().size(), 1), bundle);
  }

  static void await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
  }

  /** Bundle b's directory as a lagging volume shows it: the manifest there, one checkpoint file not yet. */
  static Path lagging(Path held) throws IOException {
    Path dir = TinyModels.copyBundle(b.bundleDir(), root);
    Files.move(dir.resolve("checkpoints/epoch-001.params"), held, StandardCopyOption.REPLACE_EXISTING);
    return dir;
  }

  @Test
  void anUpdateWhoseFilesLagIsRetriedUntilTheyArrive() throws Exception {
    holder = BundleHolder.forBundle(a.bundleDir(), BundleSwapFaultsTest::load)
        .retryNotReadyUpdates(Duration.ofSeconds(30), Duration.ofMillis(50));
    holder.start(List.of());
    Path held = root.resolve("held.params");
    Path dir = lagging(held);
    BundleUpdate good = BundleUpdate.of(b.bundleDir());
    holder.offer(new BundleUpdate(good.bundleId(), dir, good.sha256(), null, good.createdAt()));
    Thread.sleep(300);
    assertEquals(a.bundleId(), holder.currentBundleId(), "not there yet: the old bundle keeps serving");
    assertEquals(0, holder.refusals(), "not refused while it may still arrive");

    Files.move(held, dir.resolve("checkpoints/epoch-001.params")); // the volume catches up
    await(() -> b.bundleId().equals(holder.currentBundleId()), Duration.ofSeconds(30));
    assertEquals(b.bundleId(), holder.currentBundleId());
    assertEquals(1, holder.swaps());
    assertEquals(0, holder.refusals());
  }

  @Test
  void anUpdateThatNeverArrivesIsRefusedAfterTheWindow() throws Exception {
    holder = BundleHolder.forBundle(a.bundleDir(), BundleSwapFaultsTest::load)
        .retryNotReadyUpdates(Duration.ofMillis(400), Duration.ofMillis(50));
    holder.start(List.of());
    Path dir = lagging(root.resolve("never.params"));
    BundleUpdate good = BundleUpdate.of(b.bundleDir());
    holder.offer(new BundleUpdate(good.bundleId(), dir, good.sha256(), null, good.createdAt()));
    await(() -> holder.refusals() > 0, Duration.ofSeconds(10));
    assertEquals(1, holder.refusals(), "counted once, not per attempt");
    assertTrue(holder.lastRefusal().contains("still not ready after"), holder.lastRefusal());
    assertEquals(a.bundleId(), holder.currentBundleId());
  }

  @Test
  void aNewerOfferSupersedesARetry() throws Exception {
    holder = BundleHolder.forBundle(a.bundleDir(), BundleSwapFaultsTest::load)
        .retryNotReadyUpdates(Duration.ofSeconds(30), Duration.ofMillis(200));
    holder.start(List.of());
    Path held = root.resolve("superseded.params");
    Path dir = lagging(held);
    BundleUpdate good = BundleUpdate.of(b.bundleDir());
    holder.offer(new BundleUpdate(good.bundleId(), dir, good.sha256(), null, good.createdAt()));
    Thread.sleep(100);
    holder.offer(BundleUpdate.of(a.bundleDir())); // the operator rolls back: a is what must be served
    Files.move(held, dir.resolve("checkpoints/epoch-001.params"));
    Thread.sleep(1_000); // well past the retry that would have loaded b
    assertEquals(a.bundleId(), holder.currentBundleId());
    assertEquals(0, holder.swaps());
  }

  @Test
  void theSameIdWithAnotherShaIsRefusedLoudlyAndTheSameShaIgnored() throws IOException {
    holder = BundleHolder.forBundle(a.bundleDir(), BundleSwapFaultsTest::load);
    holder.start(List.of());
    BundleUpdate served = BundleUpdate.of(a.bundleDir());
    assertTrue(holder.apply(served), "same id, same SHA: nothing to do");
    assertEquals(0, holder.refusals());

    // Someone rewrites bundle a in place and republishes it under the same id.
    Path rewritten = TinyModels.copyBundle(a.bundleDir(), root);
    Path manifest = rewritten.resolve(BundleManifest.FILE_NAME);
    Files.writeString(manifest, Files.readString(manifest).replace("\"createdAt\"", "\"note\":\"edited\",\"createdAt\""));
    BundleUpdate republished = BundleUpdate.of(rewritten);
    assertEquals(served.bundleId(), republished.bundleId());
    assertNotEquals(served.sha256(), republished.sha256());

    assertFalse(holder.apply(republished));
    assertEquals(1, holder.conflicts());
    assertEquals(1, holder.refusals());
    assertTrue(holder.lastRefusal().contains("was already served with manifest SHA-256 " + served.sha256()),
        holder.lastRefusal());

    // Also after another bundle took over: the id stays bound to its first content.
    assertTrue(holder.apply(BundleUpdate.of(b.bundleDir())));
    assertFalse(holder.apply(republished));
    assertEquals(2, holder.conflicts());
    assertTrue(holder.apply(served), "rolling back to the real a is fine");
    assertEquals(a.bundleId(), holder.currentBundleId());
  }
}
