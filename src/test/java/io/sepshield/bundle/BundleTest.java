package io.sepshield.bundle;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.model.DjlRuntime;
import io.sepshield.sep.Checkpoint;
import io.sepshield.testing.TinyModels;
import io.sepshield.train.ClassCenters;
import io.sepshield.train.ClassifierMetrics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BundleTest {
  @TempDir
  static Path root;
  static Path bundle;
  static LabeledImages data;
  static RetrainingJob.Result trained;

  @BeforeAll
  static void trainASmallBundle() {
    data = TinyModels.textures(4, 24, 1, 21);
    trained = TinyModels.bundle(data, root.resolve("bundles"), 3, 4);
    bundle = trained.bundleDir();
  }

  @Test
  void roundTripGivesTheSameModelsCentersAndAccuracy() throws Exception {
    BundleManifest m = BundleLoader.verify(bundle);
    assertEquals(trained.bundleId(), m.bundleId());
    assertEquals(java.util.List.of(1, 2, 3), m.checkpoints().stream().map(BundleManifest.CheckpointEntry::epoch)
        .toList());
    assertTrue(m.sha256().containsKey("training-curve.png"));
    java.awt.image.BufferedImage curve = javax.imageio.ImageIO.read(bundle.resolve("training-curve.png").toFile());
    assertEquals(io.sepshield.report.Charts.WIDTH, curve.getWidth(), "the chart rendered into the bundle");
    assertEquals(io.sepshield.report.Charts.HEIGHT, curve.getHeight());
    try (BundleLoader.LoadedBundle loaded = BundleLoader.load(root.resolve("bundles"), Device.cpu());
        NDManager scratch = DjlRuntime.engine().newBaseManager(Device.cpu())) {
      assertEquals(bundle, loaded.directory(), "LATEST resolves to the newest bundle");
      assertEquals(3, loaded.ensemble().size());
      for (int k = 0; k < 3; k++) {
        Checkpoint c = loaded.ensemble().get(k);
        var ps = new ai.djl.training.ParameterStore(scratch, false);
        double acc = ClassifierMetrics.accuracy(c.model(), ps, scratch, data, 32);
        assertEquals(m.checkpoints().get(k).testAccuracy(), acc, 1e-9, "accuracy recorded at epoch " + c.epoch());
        float[] recomputed = ClassCenters.compute(c.model(), ps, scratch, data, 32).toFloatArray();
        assertArrayEquals(recomputed, c.centers().toFloatArray(), 1e-4f, "centers of epoch " + c.epoch());
      }
    }
  }

  private static Path copy() throws IOException {
    return TinyModels.copyBundle(bundle, root);
  }

  private static String refusal(Path dir) {
    return assertThrows(BundleException.class, () -> BundleLoader.load(dir, Device.cpu()).close()).getMessage();
  }

  @Test
  void aFlippedByteIsRefused() throws IOException {
    Path dir = copy();
    Path params = dir.resolve("checkpoints/epoch-002.params");
    byte[] bytes = Files.readAllBytes(params);
    bytes[bytes.length / 2] ^= 1;
    Files.write(params, bytes);
    assertTrue(refusal(dir).contains("checksum mismatch for checkpoints/epoch-002.params"));
  }

  @Test
  void aMissingFileIsRefused() throws IOException {
    Path dir = copy();
    Files.delete(dir.resolve("checkpoints/epoch-001.centers.npy"));
    assertTrue(refusal(dir).contains("missing checkpoints/epoch-001.centers.npy"));
  }

  @Test
  void manifestEditsAreRefused() throws IOException {
    var json = BundleWriter.json();
    Path dir = copy();
    ObjectNode manifest = (ObjectNode) json.readTree(dir.resolve("manifest.json").toFile());
    ((ObjectNode) manifest.get("sha256")).remove("checkpoints/epoch-003.params");
    json.writeValue(dir.resolve("manifest.json").toFile(), manifest);
    assertTrue(refusal(dir).contains("has no checksum"));

    Path other = copy();
    ObjectNode m2 = (ObjectNode) json.readTree(other.resolve("manifest.json").toFile());
    m2.put("architecture", "resnet20");
    json.writeValue(other.resolve("manifest.json").toFile(), m2);
    assertTrue(refusal(other).contains("do not fit architecture resnet20"), refusal(other));

    Path third = copy();
    ObjectNode m3 = (ObjectNode) json.readTree(third.resolve("manifest.json").toFile());
    m3.put("formatVersion", 99);
    json.writeValue(third.resolve("manifest.json").toFile(), m3);
    assertTrue(refusal(third).contains("format 99 is not supported"));
  }

  @Test
  void wrongCenterShapesAreRefused() throws IOException {
    Path dir = copy();
    byte[] npy = Npy.write(3, 64, new float[3 * 64]);
    Files.write(dir.resolve("checkpoints/epoch-001.centers.npy"), npy);
    var json = BundleWriter.json();
    ObjectNode manifest = (ObjectNode) json.readTree(dir.resolve("manifest.json").toFile());
    ((ObjectNode) manifest.get("sha256")).put("checkpoints/epoch-001.centers.npy", Sha256.of(npy));
    json.writeValue(dir.resolve("manifest.json").toFile(), manifest);
    assertTrue(refusal(dir).contains("centers of epoch 1 are 3x64, expected 4x64"), refusal(dir));
  }

  @Test
  void theTrainingDataClassMeansTravelWithTheBundle() throws IOException {
    BundleManifest m = BundleLoader.verify(bundle);
    assertEquals("input-class-means.npy", m.inputClassMeans());
    assertTrue(m.sha256().containsKey(m.inputClassMeans()), "covered by the checksums");
    float[] expected = data.classMeans();
    try (BundleLoader.LoadedBundle loaded = BundleLoader.load(bundle, Device.cpu())) {
      assertArrayEquals(expected, loaded.ensemble().inputClassMeans(), 0f);
    }
    // By hand: class 1's mean at pixel 5.
    double sum = 0;
    int count = 0;
    for (int i = 0; i < data.size(); i++) {
      if (data.label(i) == 1) {
        sum += data.image(i)[5] & 0xFF;
        count++;
      }
    }
    assertEquals(sum / count / 255, expected[data.imageBytes() + 5], 1e-6);
  }

  @Test
  void aBundleWithoutClassMeansStillLoads() throws IOException {
    var json = BundleWriter.json();
    Path dir = copy();
    ObjectNode manifest = (ObjectNode) json.readTree(dir.resolve("manifest.json").toFile());
    manifest.remove("inputClassMeans");
    ((ObjectNode) manifest.get("sha256")).remove("input-class-means.npy");
    json.writeValue(dir.resolve("manifest.json").toFile(), manifest);
    Files.delete(dir.resolve("input-class-means.npy"));
    try (BundleLoader.LoadedBundle loaded = BundleLoader.load(dir, Device.cpu())) {
      assertNull(loaded.ensemble().inputClassMeans(), "bundles written before the class means existed");
    }
  }

  @Test
  void wrongClassMeansAreRefused() throws IOException {
    int pixels = data.imageBytes();
    assertTrue(refusal(withClassMeans(Npy.write(3, pixels, new float[3 * pixels])))
        .contains("input class means are 3x" + pixels + ", expected 4x" + pixels));
    float[] outside = data.classMeans();
    outside[pixels + 7] = 1.5f;
    assertTrue(refusal(withClassMeans(Npy.write(4, pixels, outside)))
        .contains("input class means hold 1.5 at class 1, pixel 7"));
    outside[pixels + 7] = Float.NaN;
    assertTrue(refusal(withClassMeans(Npy.write(4, pixels, outside))).contains("hold NaN"));

    var json = BundleWriter.json();
    Path unlisted = copy();
    ObjectNode manifest = (ObjectNode) json.readTree(unlisted.resolve("manifest.json").toFile());
    ((ObjectNode) manifest.get("sha256")).remove("input-class-means.npy");
    json.writeValue(unlisted.resolve("manifest.json").toFile(), manifest);
    assertTrue(refusal(unlisted).contains("input-class-means.npy (input class means) has no checksum"),
        refusal(unlisted));
  }

  /** A copy of the bundle whose class means are {@code npy}, with a matching checksum. */
  private static Path withClassMeans(byte[] npy) throws IOException {
    Path dir = copy();
    Files.write(dir.resolve("input-class-means.npy"), npy);
    var json = BundleWriter.json();
    ObjectNode manifest = (ObjectNode) json.readTree(dir.resolve("manifest.json").toFile());
    ((ObjectNode) manifest.get("sha256")).put("input-class-means.npy", Sha256.of(npy));
    json.writeValue(dir.resolve("manifest.json").toFile(), manifest);
    return dir;
  }

  @Test
  void notABundleIsRefused() throws IOException {
    Path empty = Files.createTempDirectory(root, "empty-");
    assertTrue(refusal(empty).contains("no bundle at"));
  }

  @Test
  void npyRoundTripsAndHasAnAlignedHeader() throws IOException {
    float[] values = {1.5f, -2f, 3.25f, 0f, 7f, 8f};
    byte[] npy = Npy.write(2, 3, values);
    int headerLength = (npy[8] & 0xff) | (npy[9] & 0xff) << 8;
    assertEquals(0, (10 + headerLength) % 64);
    Npy.Matrix m = Npy.read(npy);
    assertEquals(2, m.rows());
    assertEquals(3, m.cols());
    assertArrayEquals(values, m.data());
    assertThrows(IOException.class, () -> Npy.read(java.util.Arrays.copyOf(npy, npy.length - 4)));
  }
}
