package io.sepshield.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.Idx;
import io.sepshield.data.SyntheticImages;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.BundleUpdate;
import io.sepshield.lifecycle.BundleUpdates;
import io.sepshield.demo.EmbeddedKafka;

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

    // Feature alignment at an earlier layer of resnet8 (4 children before pooling), centers from these images.
    String bundles = dir.resolve("bundles").toString();
    LaunchResult atLayer = launcher.launch("protect", "--bundle", bundles, "--data", DATA, "--profile", "fast",
        "--eps", "4", "--format", "idx", "--feature-layer", "2", "--out", dir.resolve("layer-2").toString());
    assertEquals(0, atLayer.exitCode(), atLayer.getErrorOutput());
    assertTrue(atLayer.getErrorOutput().contains(" layer=2"), atLayer.getErrorOutput());
    assertTrue(atLayer.getOutput().contains("protected 96 images"), atLayer.getOutput());
    LaunchResult beyond = launcher.launch("protect", "--bundle", bundles, "--data", DATA, "--profile", "fast",
        "--feature-layer", "5", "--out", dir.resolve("layer-5").toString());
    assertNotEquals(0, beyond.exitCode());
    assertTrue(beyond.getErrorOutput().contains("outside 1..4"), beyond.getErrorOutput());
    LaunchResult crossEntropy = launcher.launch("protect", "--bundle", bundles, "--data", DATA, "--method", "sep",
        "--feature-layer", "2", "--out", dir.resolve("sep-2").toString());
    assertNotEquals(0, crossEntropy.exitCode());
    assertTrue(crossEntropy.getErrorOutput().contains("feature alignment only"), crossEntropy.getErrorOutput());
  }

  @Test
  void streamDemoRunsTheWholeServiceThroughQuarkus(QuarkusMainLauncher launcher, @TempDir Path dir)
      throws Exception {
    // No bundle yet: the demo trains one, starts broker, registry and service, streams uploads and reads them back.
    LaunchResult demo = launcher.launch("stream-demo", "--train-data", DATA, "--data", DATA, "--train-images", "48",
        "--epochs", "1", "--images", "6", "--batch-size", "4", "--max-delay-ms", "300", "--eps", "4", "--bundle",
        dir.resolve("bundles").toString(), "--out", dir.resolve("out").toString(), "--device", "cpu");
    assertEquals(0, demo.exitCode(), demo.getErrorOutput());
    String out = demo.getOutput();
    assertTrue(out.contains("streamed:     6 uploads, 6 protected, 0 dead-lettered"), out);
    assertTrue(out.contains("max |delta|:  4/255"), out);
    assertTrue(out.contains("throughput:") && out.contains("latency ms:   p50="), out);
    assertTrue(Files.isRegularFile(dir.resolve("bundles/LATEST")), "the trained bundle is kept for the next run");
    assertTrue(Files.size(dir.resolve("out/before-after.png")) > 1000);

    // --photos: files at their own size (a 30x20 colour PNG, a 2-page TIFF), the bundle reused.
    Path photos = Files.createDirectories(dir.resolve("photos"));
    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(30, 20,
        java.awt.image.BufferedImage.TYPE_3BYTE_BGR);
    java.util.Random random = new java.util.Random(5);
    for (int p = 0; p < 600; p++) {
      img.setRGB(p % 30, p / 30, random.nextInt(1 << 24));
    }
    javax.imageio.ImageIO.write(img, "png", photos.resolve("colour.png").toFile());
    Files.write(photos.resolve("multipage.tif"), io.sepshield.data.TiffFixtures.pages(img, img));
    LaunchResult photoDemo = launcher.launch("stream-demo", "--photos", photos.toString(), "--eps", "4",
        "--bundle", dir.resolve("bundles").toString(), "--out", dir.resolve("out").toString(), "--device", "cpu");
    assertEquals(0, photoDemo.exitCode(), photoDemo.getErrorOutput());
    String photoOut = photoDemo.getOutput();
    assertTrue(photoOut.contains("30x20 RGB") && photoOut.contains(" 4/255 (") && photoOut.contains(" 4: ok)"),
        photoOut); // max |δ| 4/255 (≤ ε 4: ok), without relying on the console's encoding for δ and ≤
    assertTrue(photoOut.contains("MULTI_FRAME: multi-page TIFF with 2 pages"), photoOut);
    assertTrue(photoOut.contains("2 files, 1 protected"), photoOut);
    assertEquals(List.of(20, 30), List.of(javax.imageio.ImageIO.read(dir.resolve("out/photos/colour.protected.png")
        .toFile()).getHeight(), javax.imageio.ImageIO.read(dir.resolve("out/photos/colour.protected.png").toFile())
        .getWidth()), "own size");
    assertTrue(Files.isRegularFile(dir.resolve("out/photos/colour.delta.png")));
    assertTrue(Files.isRegularFile(dir.resolve("out/photos/index.md")));
  }

  @Test
  void aMissingBundleIsAOneLineError(QuarkusMainLauncher launcher, @TempDir Path dir) {
    LaunchResult result = launcher.launch("protect", "--bundle", dir.toString(), "--data", DATA);
    assertEquals(1, result.exitCode());
    assertTrue(result.getErrorOutput().contains("error: no bundle at"), result.getErrorOutput());
  }

  @Test
  void trainPublishesTheBundleAsABundleUpdatedEvent(QuarkusMainLauncher launcher, @TempDir Path dir)
      throws Exception {
    LaunchResult incomplete = launcher.launch("train", "--data", DATA, "--publish-to", "127.0.0.1:1");
    assertNotEquals(0, incomplete.exitCode());
    assertTrue(incomplete.getErrorOutput().contains("--publish-to needs --schema-registry-url"),
        incomplete.getErrorOutput());

    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        InMemorySchemaRegistry registry = new InMemorySchemaRegistry().start()) {
      kafka.createTopics("updates");
      LaunchResult train = launcher.launch("train", "--data", DATA, "--test", "none", "--epochs", "1",
          "--checkpoints", "1", "--out", dir.resolve("bundles").toString(), "--device", "cpu", "--publish-to",
          kafka.bootstrapServers(), "--schema-registry-url", registry.url(), "--bundle-updates-topic", "updates");
      assertEquals(0, train.exitCode(), train.getErrorOutput());

      Path bundle = BundleLoader.resolve(dir.resolve("bundles"));
      BundleHolder counter = BundleHolder.forBundle(bundle, unused -> {
        throw new AssertionError("nothing is loaded here");
      });
      try (BundleUpdates updates = new BundleUpdates(kafka.bootstrapServers(), "updates",
          new SchemaRegistryClient(registry.url()))) {
        List<BundleUpdate> published = updates.catchUp(counter, Duration.ofSeconds(30));
        assertEquals(List.of(BundleUpdate.of(bundle)), published, "id, absolute location, manifest SHA-256");
      }
      assertEquals(0, counter.refusals());
      assertTrue(train.getOutput().contains("published bundle " + bundle.getFileName()), train.getOutput());
    }
  }
}
