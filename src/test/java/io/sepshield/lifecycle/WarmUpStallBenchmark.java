package io.sepshield.lifecycle;

import ai.djl.Device;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.testing.TinyModels;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * A measurement, not a test (it asserts nothing and is skipped unless {@code -Dsepshield.bench=true}): how much a
 * hot swap's warm-up slows a batch crafted meanwhile on the serving engine, since both take the JVM-wide gradient
 * lock. Run: {@code mvn -B -ntp -o test -Dtest=WarmUpStallBenchmark -Dsepshield.bench=true}.
 */
@EnabledIfSystemProperty(named = "sepshield.bench", matches = "true")
class WarmUpStallBenchmark {
  @TempDir
  Path root;

  static ProtectionEngine engine(Path dir) {
    BundleLoader.LoadedBundle b = BundleLoader.load(dir, Device.cpu());
    return new ProtectionEngine(b.manifest().bundleId(), "fast", b.ensemble(),
        Profile.FAST.settings(Method.SEP_FA_VR, 8 / 255f, b.ensemble().size(), 1), b);
  }

  static long ms(Runnable r) {
    long t0 = System.nanoTime();
    r.run();
    return (System.nanoTime() - t0) / 1_000_000;
  }

  @Test
  void measure() throws Exception {
    LabeledImages data = TinyModels.textures(4, 8, 1, 3);
    RetrainingJob.Result a = TinyModels.bundle(data, root.resolve("a"), 3, 1);
    RetrainingJob.Result b = TinyModels.bundle(data, root.resolve("b"), 3, 2);
    LabeledImages batch = data.slice(0, 8);
    try (ProtectionEngine serving = engine(a.bundleDir()); ProtectionEngine incoming = engine(b.bundleDir())) {
      serving.warmUp();
      long[] alone = new long[5];
      for (int i = 0; i < alone.length; i++) {
        alone[i] = ms(() -> serving.protect(batch));
      }
      LabeledImages one = data.slice(0, 1);
      long fullProfileOneImage = ms(() -> incoming.protect(one)); // what warm-up used to do
      long warmUp = ms(incoming::warmUp);
      long[] during = new long[5];
      long[] warm = new long[5];
      for (int i = 0; i < during.length; i++) {
        CompletableFuture<Long> w = CompletableFuture.supplyAsync(() -> ms(incoming::warmUp));
        during[i] = ms(() -> serving.protect(batch));
        warm[i] = w.get();
      }
      Arrays.sort(alone);
      Arrays.sort(during);
      System.out.printf("warm-up stall (resnet8, 3 checkpoints, 1x12x12, fast profile T=5 M=3, %d cores)%n",
          Runtime.getRuntime().availableProcessors());
      System.out.printf("batch of 8 alone: median %d ms (min %d, max %d)%n", alone[2], alone[0], alone[4]);
      System.out.printf("batch of 8 during a warm-up: median %d ms (min %d, max %d)%n", during[2], during[0],
          during[4]);
      System.out.printf("warm-up: %d ms alone, %s ms concurrent; crafting 1 image with the full profile: %d ms%n",
          warmUp, Arrays.toString(warm), fullProfileOneImage);
    }
  }
}
