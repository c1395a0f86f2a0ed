package io.sepshield.bundle;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.testing.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bundles that must never reach the device, each refused with a message that names the problem. */
class BundleFaultsTest {
  @TempDir
  static Path root;
  static RetrainingJob.Result trained;

  @BeforeAll
  static void trainASmallBundle() {
    trained = TinyModels.bundle(TinyModels.textures(4, 12, 1, 5), root.resolve("bundles"), 2, 5);
  }

  private static String refusal(Path dir) {
    return assertThrows(BundleException.class, () -> BundleLoader.load(dir, Device.cpu()).close()).getMessage();
  }

  private static Path withManifest(Consumer<ObjectNode> edit) throws IOException {
    Path dir = TinyModels.copyBundle(trained.bundleDir(), root);
    var json = BundleWriter.json();
    ObjectNode manifest = (ObjectNode) json.readTree(dir.resolve(BundleManifest.FILE_NAME).toFile());
    edit.accept(manifest);
    json.writeValue(dir.resolve(BundleManifest.FILE_NAME).toFile(), manifest);
    return dir;
  }

  @Test
  void missingAndAlteredFilesAreNotReadyYet() throws IOException {
    Path missing = TinyModels.copyBundle(trained.bundleDir(), root);
    Files.delete(missing.resolve("checkpoints/epoch-002.params"));
    BundleException e = assertThrows(BundleException.class, () -> BundleLoader.verify(missing));
    assertInstanceOf(BundleNotReadyException.class, e, "may still be on its way");
    assertTrue(e.getMessage().contains("is missing checkpoints/epoch-002.params"), e.getMessage());

    Path altered = TinyModels.copyBundle(trained.bundleDir(), root);
    Files.write(altered.resolve("checkpoints/epoch-001.centers.npy"), new byte[] {1, 2, 3});
    e = assertThrows(BundleException.class, () -> BundleLoader.verify(altered));
    assertInstanceOf(BundleNotReadyException.class, e);
    assertTrue(e.getMessage().contains("checksum mismatch for checkpoints/epoch-001.centers.npy"), e.getMessage());

    Path noManifest = TinyModels.copyBundle(trained.bundleDir(), root);
    Files.delete(noManifest.resolve(BundleManifest.FILE_NAME));
    assertInstanceOf(BundleNotReadyException.class,
        assertThrows(BundleException.class, () -> BundleLoader.verify(noManifest)));
  }

  @Test
  void aWrongClassCountIsRefused() throws IOException {
    Path dir = withManifest(m -> ((ArrayNode) m.get("classNames")).add("class-4"));
    String reason = refusal(dir);
    assertTrue(reason.contains("do not fit architecture resnet8 with input shape [1, 12, 12] and 5 classes"), reason);
    assertFalse(assertThrows(BundleException.class, () -> BundleLoader.load(dir, Device.cpu()))
        instanceof BundleNotReadyException, "plainly wrong: refused at once");
  }

  @Test
  void aWrongInputShapeIsRefused() throws IOException {
    Path threeChannels = withManifest(m -> {
      m.putArray("inputShape").add(3).add(12).add(12);
      m.putArray("mean").add(0.5).add(0.5).add(0.5);
      m.putArray("std").add(0.25).add(0.25).add(0.25);
    });
    String reason = refusal(threeChannels);
    assertTrue(reason.contains("do not fit architecture resnet8 with input shape [3, 12, 12]"), reason);

    for (String shape : new String[] {"[1, 0, 12]", "[1, 12]", "[1, 12, 100000]"}) {
      Path dir = withManifest(m -> {
        ArrayNode a = m.putArray("inputShape");
        for (String d : shape.replaceAll("[\\[\\] ]", "").split(",")) {
          a.add(Integer.parseInt(d));
        }
      });
      assertTrue(refusal(dir).contains("input shape must be [C, H, W] with each in 1..8192, got " + shape),
          refusal(dir));
    }
    Path wrongNormalisation = withManifest(m -> m.putArray("mean").add(0.5).add(0.5));
    assertTrue(refusal(wrongNormalisation).contains("normalisation needs 1 values"), refusal(wrongNormalisation));
  }

  @Test
  void nanAndInfiniteCentersAreRefused() throws IOException {
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
      Path dir = TinyModels.copyBundle(trained.bundleDir(), root);
      Path file = dir.resolve("checkpoints/epoch-002.centers.npy");
      Npy.Matrix centers = Npy.read(Files.readAllBytes(file));
      float[] data = centers.data().clone();
      data[2 * centers.cols() + 5] = bad;
      byte[] npy = Npy.write(centers.rows(), centers.cols(), data);
      Files.write(file, npy);
      var json = BundleWriter.json();
      ObjectNode manifest = (ObjectNode) json.readTree(dir.resolve(BundleManifest.FILE_NAME).toFile());
      ((ObjectNode) manifest.get("sha256")).put("checkpoints/epoch-002.centers.npy", Sha256.of(npy));
      json.writeValue(dir.resolve(BundleManifest.FILE_NAME).toFile(), manifest);
      String reason = refusal(dir);
      assertTrue(reason.contains("centers of epoch 2 hold " + bad + " at class 2 ('class-2'), feature 5"), reason);
    }
  }
}
