package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.Gradients;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CraftingAugmentationTest {
  private static final int N = 6;
  private static final int H = 5;
  private static final int W = 7;

  /** Distinct values per image, row and column, so every move is visible. */
  private static float[] ramp() {
    float[] v = new float[N * H * W];
    for (int i = 0; i < v.length; i++) {
      v[i] = 1 + i;
    }
    return v;
  }

  private static float at(float[] x, int n, int y, int c) {
    return x[(n * H + y) * W + c];
  }

  @Test
  void specsReadBackAndNameTheSettings() {
    for (String spec : new String[] {"none", "flip", "shift:2", "flip,shift:3"}) {
      assertEquals(spec, CraftingAugmentation.parse(spec).toString());
    }
    assertEquals(new CraftingAugmentation(true, 2), CraftingAugmentation.parse(" Flip , shift:2 "));
    assertTrue(CraftingAugmentation.parse("none").isNone());
    assertThrows(IllegalArgumentException.class, () -> CraftingAugmentation.parse("rotate"));
    assertThrows(IllegalArgumentException.class, () -> CraftingAugmentation.parse("shift:-1"));

    // Crafted-set reuse keys on the settings' string: an augmented set is never taken for a plain one, and a plain
    // one reads as it did before the setting existed.
    ProtectionSettings plain = Profile.CPU.settings(Method.SEP_FA_VR, 8f / 255f, 5, 0);
    ProtectionSettings eot = plain.withAugmentation(CraftingAugmentation.parse("flip,shift:2"));
    assertFalse(plain.toString().contains("augment"), plain.toString());
    assertTrue(eot.toString().endsWith(" augment=flip,shift:2"), eot.toString());
    assertNotEquals(plain, eot);
    assertEquals(eot, plain.withAugmentation(new CraftingAugmentation(true, 2)));
    assertEquals(eot.augmentation(), eot.withSteps(3, 2).withTargets(TargetMap.shift(1)).withCheckpoints(
        new int[] {0}).withAlpha(0.01f).withSeed(9).withEpsilon(0.1f).augmentation(), "withers keep it");
  }

  @Test
  void flipMirrorsExactlyTheDrawnImagesAndShiftMovesContentWithZeroFill() {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      float[] x = ramp();
      NDArray input = m.create(x, new Shape(N, 1, H, W));
      long seed = 7;
      float[] flipped = new CraftingAugmentation(true, 0).apply(input, new Random(seed)).toFloatArray();
      Random draws = new Random(seed);
      int mirrored = 0;
      for (int n = 0; n < N; n++) {
        boolean mirror = draws.nextBoolean();
        mirrored += mirror ? 1 : 0;
        for (int y = 0; y < H; y++) {
          for (int c = 0; c < W; c++) {
            assertEquals(at(x, n, y, mirror ? W - 1 - c : c), at(flipped, n, y, c), "image " + n);
          }
        }
      }
      assertTrue(mirrored > 0 && mirrored < N, "seed 7 mirrors some images, not all: " + mirrored);

      CraftingAugmentation shift = new CraftingAugmentation(false, 2);
      for (long s = 0; s < 12; s++) {
        Random r = new Random(s);
        int dy = r.nextInt(5) - 2;
        int dx = r.nextInt(5) - 2;
        float[] moved = shift.apply(input, new Random(s)).toFloatArray();
        for (int n = 0; n < N; n++) {
          for (int y = 0; y < H; y++) {
            for (int c = 0; c < W; c++) {
              int sy = y - dy;
              int sc = c - dx;
              float want = sy < 0 || sy >= H || sc < 0 || sc >= W ? 0 : at(x, n, sy, sc);
              assertEquals(want, at(moved, n, y, c), "seed " + s + " dy " + dy + " dx " + dx);
            }
          }
        }
      }
    }
  }

  @Test
  void gradientsFlowBackThroughTheDrawnTransformation() {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      NDArray input = m.create(ramp(), new Shape(N, 1, H, W));
      float[] weights = ramp();
      NDArray w = m.create(weights, new Shape(N, 1, H, W));
      CraftingAugmentation both = new CraftingAugmentation(true, 2);
      long seed = 3;
      // L = Σ w · A(x), so ∂L/∂x = Aᵀ(w): every weight lands where its pixel came from, nothing elsewhere.
      float[] grad = Gradients.ofInput(input, leaf -> both.apply(leaf, new Random(seed)).mul(w).sum(), m)
          .toFloatArray();
      float[] forward = both.apply(input, new Random(seed)).toFloatArray();
      float[] expected = new float[grad.length];
      float[] x = ramp();
      for (int out = 0; out < forward.length; out++) {
        if (forward[out] != 0) {
          int source = java.util.Arrays.binarySearch(x, forward[out]); // ramp values are unique and sorted
          expected[source] += weights[out];
        }
      }
      assertArrayEquals(expected, grad, 1e-4f);
    }
  }
}
