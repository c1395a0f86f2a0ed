package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.ImageTensors;
import io.sepshield.testing.TinyModels;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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
      float[] batch = p.signs(m, new int[] {0, 1, 0}, new Shape(3, 1, 12, 12), grid, 7).toFloatArray();
      float[] alone = p.signs(m, new int[] {0}, new Shape(1, 1, 12, 12), grid, 7).toFloatArray();
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
      float[] otherSeed = p.signs(m, new int[] {0}, new Shape(1, 1, 12, 12), grid, 8).toFloatArray();
      assertTrue(differing(batch, 0, otherSeed, 0, plane) > 0, "the seed picks the pattern");

      // An upload of twice the bundle's size and three channels: squares of 8 pixels, one sign for all channels.
      float[] upload = p.signs(m, new int[] {0}, new Shape(1, 3, 24, 24), grid, 7).toFloatArray();
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
      float[] signs = pattern.signs(m, labels, x0.getShape(), ensemble.inputShape(), 3).toFloatArray();
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
      float[] nine = own.signs(m, labels, x0.getShape(), ensemble.inputShape(), 9).toFloatArray();
      float[] three = own.signs(m, labels, x0.getShape(), ensemble.inputShape(), 3).toFloatArray();
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
