package io.sepshield.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import io.sepshield.data.Idx;
import io.sepshield.data.SyntheticImages;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The commands as a user runs them: train a bundle, protect with it, refuse a tampered one. */
@QuarkusMainTest
class CommandLineTest {
  private static final String DATA = "synthetic:classes=4,per-class=24,size=16,channels=1,seed=3";

  @Test
  void trainThenProtectWritesABundleAndProtectedImagesWithinEpsilon(QuarkusMainLauncher launcher,
      @TempDir Path dir) throws Exception {
    LaunchResult train = launcher.launch("train", "--data", DATA, "--test", DATA, "--arch", "resnet8", "--epochs",
        "2", "--checkpoints", "2", "--out", dir.resolve("bundles").toString(), "--device", "cpu");
    assertEquals(0, train.exitCode(), train.getErrorOutput());
    assertTrue(Files.isRegularFile(dir.resolve("bundles/LATEST")));

    LaunchResult protect = launcher.launch("protect", "--bundle", dir.resolve("bundles").toString(), "--data", DATA,
        "--profile", "fast", "--eps", "4", "--format", "idx", "--out", dir.resolve("protected").toString());
    assertEquals(0, protect.exitCode(), protect.getErrorOutput());
    assertTrue(protect.getOutput().contains("protected 96 images"), protect.getOutput());
    assertTrue(protect.getOutput().contains("max 4/255"), protect.getOutput());

    Idx.Images out = Idx.readImages(dir.resolve("protected/images-idx3-ubyte.gz"));
    byte[] clean = SyntheticImages.generate(4, 24, 1, 16, 16, 3).rawPixels();
    assertEquals(clean.length, out.pixels().length);
    int worst = 0;
    for (int i = 0; i < clean.length; i++) {
      worst = Math.max(worst, Math.abs((clean[i] & 0xff) - (out.pixels()[i] & 0xff)));
    }
    assertEquals(4, worst, "every pixel within 4/255, and the budget used");
    assertTrue(Files.size(dir.resolve("protected/before-after.png")) > 1000);
  }

  @Test
  void aMissingBundleIsAOneLineError(QuarkusMainLauncher launcher, @TempDir Path dir) {
    LaunchResult result = launcher.launch("protect", "--bundle", dir.toString(), "--data", DATA);
    assertEquals(1, result.exitCode());
    assertTrue(result.getErrorOutput().contains("error: no bundle at"), result.getErrorOutput());
  }
}
