package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.ImageTensors;
import io.sepshield.testing.TinyModels;
import ai.djl.Device;
import io.sepshield.bundle.BundleLoader;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassPatternTest {
  private static final float EPS = 8f / 255f;
  private static LabeledImages data;
  private static CheckpointEnsemble ensemble;

  @BeforeAll
  static void trainTinyEnsemble() {
    data = TinyModels.textures(4, 20, 1, 12, 11);
    ensemble = TinyModels.trainedEnsemble(data, 4, Set.of(2, 4), 5);
  }

  @AfterAll
  static void free() {
    ensemble.close();
  }

  @Test
  void parsesWhatItPrints() {
    assertSame(ClassPattern.NONE, ClassPattern.parse("none"));
    assertTrue(ClassPattern.parse("none").isNone());
    ClassPattern p = ClassPattern.parse("share:0.5");
    assertEquals(new ClassPattern(0.5f, 4), p);
    assertEquals("share:0.5,cell:4", p.toString());
    assertEquals(p, ClassPattern.parse(p.toString()));
    assertEquals(new ClassPattern(0.25f, 2), ClassPattern.parse("cell:2,share:0.25"));
    ClassPattern seeded = ClassPattern.parse("share:0.75,cell:7,seed:3");
    assertEquals(new ClassPattern(0.75f, 7, 3L), seeded);
    assertEquals("share:0.75,cell:7,seed:3", seeded.toString());
    assertEquals(seeded, ClassPattern.parse(seeded.toString()));
    assertNotEquals(new ClassPattern(0.75f, 7), seeded, "crafted-set reuse must tell the patterns apart");
    assertEquals(3L, seeded.patternSeed(0));
    assertEquals(5L, new ClassPattern(0.75f, 7).patternSeed(5), "no seed of its own: the crafting seed");
    assertThrows(IllegalArgumentException.class, () -> ClassPattern.parse("seed:3"));
    assertThrows(IllegalArgumentException.class, () -> ClassPattern.parse("share:0.5,seed:x"));
    assertThrows(IllegalArgumentException.class, () -> ClassPattern.parse("share:1"));
    assertThrows(IllegalArgumentException.class, () -> ClassPattern.parse("share:0.5,cell:0"));
    assertThrows(IllegalArgumentException.class, () -> ClassPattern.parse("share:half"));
    assertThrows(IllegalArgumentException.class, () -> ClassPattern.parse("blocks:4"));

    ClassPattern toward = ClassPattern.parse("toward,share:0.75,cell:4");
    assertEquals(ClassPattern.toward(0.75f, 4), toward);
    assertEquals("share:0.75,cell:4,toward", toward.toString());
    assertEquals(toward, ClassPattern.parse(toward.toString()));
    assertNotEquals(new ClassPattern(0.75f, 4), toward, "crafted-set reuse must tell the kinds apart");
    assertThrows(IllegalArgumentException.class, () -> ClassPattern.parse("toward"), "no share");
    assertThrows(IllegalArgumentException.class, () -> ClassPattern.parse("share:0.5,toward,seed:2"),
        "the class means, not a seed, make it");
  }

  @Test
  void towardTheTargetIsTheSignOfTheMeansDifferencePerSquare() {
    // Two classes on a 1x4x4 grid, 2x2 squares: class 1's mean is brighter than class 0's in the top-left square,
    // darker in the bottom-right one, equal (black in both) in the other two.
    float[] means = new float[32];
    means[0] = 0.2f; // class 0, pixel (0,0)
    means[16] = 0.5f; // class 1, pixel (0,0)
    means[16 + 1] = 0.1f; // class 1, pixel (0,1): same square, adds to the difference
    means[15] = 0.6f; // class 0, pixel (3,3)
    means[16 + 15] = 0.1f;
    ClassPattern toward = ClassPattern.toward(0.5f, 2);
    long[] grid = {1, 4, 4};
    assertThrows(IllegalArgumentException.class, () -> toward.onGrid(grid, 0, null), "no class means, no pattern");
    ClassPattern.Grid onGrid = toward.onGrid(grid, 0, means);
    try (NDManager m = NDManager.newBaseManager()) {
      // Label 0 toward 1, label 1 toward 0: opposite patterns.
      float[] p = onGrid.signs(m, new int[] {0, 1}, new int[] {1, 0}, new Shape(2, 1, 4, 4)).toFloatArray();
      float[] expected = {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, -1, -1, 0, 0, -1, -1};
      for (int i = 0; i < 16; i++) {
        assertEquals(expected[i], p[i], "class 0 toward 1, pixel " + i);
        assertEquals(-expected[i], p[16 + i], 0f, "class 1 toward 0, pixel " + i);
      }
      // A label toward itself: no pattern. An 8x8 colour upload: the same squares, scaled, on all channels.
      assertArrayEquals(new float[16],
          onGrid.signs(m, new int[] {1}, new int[] {1}, new Shape(1, 1, 4, 4)).toFloatArray());
      float[] upload = onGrid.signs(m, new int[] {0}, new int[] {1}, new Shape(1, 3, 8, 8)).toFloatArray();
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < 8; y++) {
          for (int x = 0; x < 8; x++) {
            assertEquals(expected[(y / 2) * 4 + x / 2], upload[c * 64 + y * 8 + x], "upload " + c + "," + y + "," + x);
          }
        }
      }
    }
  }

  @Test
  void craftingTowardTheTargetKeepsItsSignsAndTheRadius(@TempDir Path dir) {
    ClassPattern toward = ClassPattern.toward(0.75f, 4);
    ProtectionSettings settings =
        new ProtectionSettings(Method.SEP_FA_VR, EPS, 1f / 255f, 4, 2, new int[0], TargetMap.halfShift(), 3)
            .withClassPattern(toward);
    IllegalArgumentException refused = assertThrows(IllegalArgumentException.class,
        () -> new Protector(ensemble, settings), "an ensemble without class means");
    assertTrue(refused.getMessage().contains("retrain"), refused.getMessage());

    // The retraining job's bundle carries the class means the pattern comes from.
    try (BundleLoader.LoadedBundle bundle = BundleLoader.load(TinyModels.bundle(data, dir, 2, 1).bundleDir(),
        Device.cpu())) {
      Protector protector = new Protector(bundle.ensemble(), settings);
      LabeledImages batch = data.slice(0, 12);
      int[] labels = batch.labels();
      int[] targets = protector.targetsFor(labels);
      float[] means = data.classMeans();
      int plane = data.height() * data.width();
      try (NDManager m = bundle.ensemble().manager().newSubManager()) {
        NDArray x0 = ImageTensors.batch(m, batch, 0, batch.size());
        float[] start = x0.toFloatArray();
        float[] crafted = protector.craft(x0, labels, targets).toFloatArray();
        int along = 0;
        for (int i = 0; i < crafted.length; i++) {
          int image = i / plane;
          int y = i % plane / data.width();
          int x = i % data.width();
          // The square's summed difference of the two class means, recomputed here.
          double difference = 0;
          for (int yy = y / 4 * 4; yy < Math.min(y / 4 * 4 + 4, data.height()); yy++) {
            for (int xx = x / 4 * 4; xx < Math.min(x / 4 * 4 + 4, data.width()); xx++) {
              int pixel = yy * data.width() + xx;
              difference += means[targets[image] * plane + pixel] - means[labels[image] * plane + pixel];
            }
          }
          float delta = crafted[i] - start[i];
          assertTrue(Math.abs(delta) <= EPS + 1e-6f, "pixel " + i + " leaves the ball: " + delta * 255);
          if (start[i] >= EPS && start[i] <= 1 - EPS) {
            if (difference == 0) {
              assertTrue(Math.abs(delta) <= EPS / 4 + 1e-6f, "no pattern, only (1 - s) eps: " + delta * 255);
            } else {
              assertTrue(delta * Math.signum(difference) >= EPS / 2 - 1e-6f, "pixel " + i + " lost the sign of "
                  + "the means' difference: " + delta * 255);
              along++;
            }
          }
        }
        assertTrue(along > crafted.length / 4, "too few patterned interior pixels to check: " + along);
      }
    }
  }

  @Test
  void settingsNameThePatternOnlyWhenThereIsOne() {
    ProtectionSettings plain = Profile.CPU.settings(Method.SEP_FA_VR, EPS, 5, 0);
    assertFalse(plain.toString().contains("class-pattern"), plain.toString());
    ProtectionSettings with = plain.withClassPattern(new ClassPattern(0.5f, 4));
    assertTrue(with.toString().endsWith(" class-pattern=share:0.5,cell:4"), with.toString());
    assertNotEquals(plain, with);
    assertEquals(EPS / 2, with.craftingRadius(), 1e-7f);
    // Equal compute: the pattern costs no gradient evaluation.
    assertEquals(plain.gradientEvaluationsPerImage(5), with.gradientEvaluationsPerImage(5));
    // T·α is measured against the radius left to crafting.
    assertTrue(with.withEpsilon(16f / 255f).shortReach().isEmpty());
    assertTrue(plain.withEpsilon(16f / 255f).shortReach().isPresent());
  }

  @Test
  void oneSignPerClassAndSquareWhateverTheBatch() {
    ClassPattern p = new ClassPattern(0.5f, 4);
    long[] grid = {1, 12, 12};
    try (NDManager m = NDManager.newBaseManager()) {
      float[] batch = randomSigns(p, m, new int[] {0, 1, 0}, new Shape(3, 1, 12, 12), grid, 7).toFloatArray();
      float[] alone = randomSigns(p, m, new int[] {0}, new Shape(1, 1, 12, 12), grid, 7).toFloatArray();
      int plane = 144;
      for (int i = 0; i < plane; i++) {
        assertEquals(Math.abs(batch[i]), 1f);
        assertEquals(batch[i], batch[2 * plane + i], "same class, same pattern");
        assertEquals(batch[i], alone[i], "the pattern does not depend on the batch");
        int row = i / 12;
        int col = i % 12;
        assertEquals(batch[(row / 4 * 4) * 12 + col / 4 * 4], batch[i], "constant over a 4x4 square");
      }
      assertTrue(differing(batch, 0, plane, plane) >= 2, "classes 0 and 1 should differ in some of 9 squares");
      float[] otherSeed = randomSigns(p, m, new int[] {0}, new Shape(1, 1, 12, 12), grid, 8).toFloatArray();
      assertTrue(differing(batch, 0, otherSeed, 0, plane) > 0, "the seed picks the pattern");

      // An upload of twice the bundle's size and three channels: squares of 8 pixels, one sign for all channels.
      float[] upload = randomSigns(p, m, new int[] {0}, new Shape(1, 3, 24, 24), grid, 7).toFloatArray();
      for (int y = 0; y < 24; y++) {
        for (int x = 0; x < 24; x++) {
          float expected = batch[(y / 2) * 12 + x / 2];
          for (int c = 0; c < 3; c++) {
            assertEquals(expected, upload[c * 576 + y * 24 + x], "upload pixel " + c + "," + y + "," + x);
          }
        }
      }
    }
  }

  @Test
  void craftingKeepsThePatternAndTheRadius() {
    ClassPattern pattern = new ClassPattern(0.75f, 4);
    Protector protector = new Protector(ensemble,
        new ProtectionSettings(Method.SEP_FA_VR, EPS, 1f / 255f, 4, 2, new int[0], TargetMap.halfShift(), 3)
            .withClassPattern(pattern));
    LabeledImages batch = data.slice(0, 12);
    int[] labels = batch.labels();
    int[] targets = protector.targetsFor(labels);
    try (NDManager m = ensemble.manager().newSubManager()) {
      NDArray x0 = ImageTensors.batch(m, batch, 0, batch.size());
      assertThrows(IllegalArgumentException.class, () -> protector.craft(x0, targets), "labels are needed");
      float[] start = x0.toFloatArray();
      float[] crafted = protector.craft(x0, labels, targets).toFloatArray();
      float[] signs = randomSigns(pattern, m, labels, x0.getShape(), ensemble.inputShape(), 3).toFloatArray();
      int interior = 0;
      for (int i = 0; i < crafted.length; i++) {
        float delta = crafted[i] - start[i];
        assertTrue(Math.abs(delta) <= EPS + 1e-6f, "pixel " + i + " leaves the ball: " + delta * 255);
        if (start[i] >= EPS && start[i] <= 1 - EPS) {
          interior++;
          // sε·P_y plus at most (1 − s)ε of crafting: on the pattern's side by at least (2s − 1)ε = ε/2.
          assertTrue(delta * signs[i] >= EPS / 2 - 1e-6f, "pixel " + i + " lost the pattern: " + delta * 255);
        }
      }
      assertTrue(interior > crafted.length / 4, "too few interior pixels to check: " + interior);
      // Crafting still moves the images beyond the pattern.
      float[] patternOnly = x0.add(m.create(signs, x0.getShape()).mul(0.75f * EPS)).clip(0f, 1f).toFloatArray();
      assertTrue(differing(crafted, 0, patternOnly, 0, crafted.length) > crafted.length / 4);
    }
    ProtectedBatch out = protector.protect(batch);
    for (int i = 0; i < batch.size(); i++) {
      assertTrue(out.maxAbsDelta()[i] <= 8, "quantised image " + i + ": " + out.maxAbsDelta()[i]);
    }
  }

  @Test
  void aPatternWithItsOwnSeedIgnoresTheCraftingSeed() {
    ClassPattern own = new ClassPattern(0.75f, 4, 9L);
    Protector protector = new Protector(ensemble,
        new ProtectionSettings(Method.SEP_FA_VR, EPS, 1f / 255f, 2, 1, new int[0], TargetMap.halfShift(), 3)
            .withClassPattern(own));
    LabeledImages batch = data.slice(0, 8);
    int[] labels = batch.labels();
    try (NDManager m = ensemble.manager().newSubManager()) {
      NDArray x0 = ImageTensors.batch(m, batch, 0, batch.size());
      float[] start = x0.toFloatArray();
      float[] crafted = protector.craft(x0, labels, protector.targetsFor(labels)).toFloatArray();
      float[] nine = randomSigns(own, m, labels, x0.getShape(), ensemble.inputShape(), 9).toFloatArray();
      assertArrayEquals(nine, randomSigns(own, m, labels, x0.getShape(), ensemble.inputShape(), 3).toFloatArray(),
          "its own seed wins over the crafting seed");
      float[] three = randomSigns(new ClassPattern(0.75f, 4), m, labels, x0.getShape(), ensemble.inputShape(), 3)
          .toFloatArray();
      int againstThree = 0;
      for (int i = 0; i < crafted.length; i++) {
        if (start[i] >= EPS && start[i] <= 1 - EPS) {
          float delta = crafted[i] - start[i];
          assertTrue(delta * nine[i] >= EPS / 2 - 1e-6f, "pixel " + i + " lost seed 9's pattern: " + delta * 255);
          againstThree += delta * three[i] < 0 ? 1 : 0;
        }
      }
      assertTrue(againstThree > 0, "the crafting seed's pattern should differ from seed 9's somewhere");
    }
  }

  /** A random pattern's P_y for a batch (targets play no part in it). */
  private static NDArray randomSigns(ClassPattern p, NDManager m, int[] labels, Shape shape, long[] grid, long seed) {
    return p.onGrid(grid, seed, null).signs(m, labels, null, shape);
  }

  private static int differing(float[] a, int from, int other, int length) {
    return differing(a, from, a, other, length);
  }

  private static int differing(float[] a, int fromA, float[] b, int fromB, int length) {
    int d = 0;
    for (int i = 0; i < length; i++) {
      d += Math.abs(a[fromA + i] - b[fromB + i]) > 1e-6f ? 1 : 0;
    }
    return d;
  }
}
