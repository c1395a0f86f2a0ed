package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.sepshield.model.DjlRuntime;
import io.sepshield.sep.Preprocessing.Aspect;
import io.sepshield.sep.Preprocessing.Kernel;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** P on its own: exact properties of the resampling matrices and of each aspect policy. */
class InputAdapterTest {
  private static NDManager manager;

  @BeforeAll
  static void open() {
    manager = DjlRuntime.engine().newBaseManager(Device.cpu());
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  private static NDArray random(Random r, int... shape) {
    float[] v = new float[java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextFloat();
    }
    return manager.create(v, new Shape(java.util.Arrays.stream(shape).mapToLong(i -> i).toArray()));
  }

  private static InputAdapter adapter(long[] in, long[] bundle, Aspect aspect, Kernel kernel) {
    return InputAdapter.create(manager, in, bundle, new Preprocessing(aspect, kernel));
  }

  @Test
  void theBundlesOwnShapeIsTheIdentityWithoutAnyOp() {
    for (Aspect aspect : Aspect.values()) {
      for (Kernel kernel : Kernel.values()) {
        InputAdapter p = adapter(new long[] {3, 9, 13}, new long[] {3, 9, 13}, aspect, kernel);
        NDArray x = random(new Random(1), 2, 3, 9, 13);
        assertTrue(p.isIdentity());
        assertSame(x, p.apply(x), "P must hand back its argument itself");
      }
    }
  }

  @Test
  void areaUndoesAnIntegerNearestUpscaleOfGrayInColourExactly() {
    // 12x12 gray, upscaled 4x by repetition into three equal channels: luma of equal channels is the value itself,
    // and the 4x4 box mean gives each original pixel back.
    float[] small = random(new Random(2), 1, 1, 12, 12).toFloatArray();
    float[] big = new float[3 * 48 * 48];
    for (int c = 0; c < 3; c++) {
      for (int y = 0; y < 48; y++) {
        for (int x = 0; x < 48; x++) {
          big[(c * 48 + y) * 48 + x] = small[(y / 4) * 12 + x / 4];
        }
      }
    }
    NDArray out = adapter(new long[] {3, 48, 48}, new long[] {1, 12, 12}, Aspect.STRETCH, Kernel.AREA)
        .apply(manager.create(big, new Shape(1, 3, 48, 48)));
    assertEquals(new Shape(1, 1, 12, 12), out.getShape());
    assertArrayEquals(small, out.toFloatArray(), 1e-5f);
  }

  @Test
  void stretchKeepsConstantsAndAreaKeepsTheMeanOnOddNonSquareSizes() {
    for (Kernel kernel : Kernel.values()) {
      InputAdapter p = adapter(new long[] {1, 17, 23}, new long[] {1, 12, 12}, Aspect.STRETCH, kernel);
      float[] flat = p.apply(manager.full(new Shape(1, 1, 17, 23), 0.37f)).toFloatArray();
      for (float v : flat) {
        assertEquals(0.37f, v, 1e-5f, kernel + " must keep a constant image constant");
      }
    }
    // Area weights give every source pixel the same total weight, so the mean is kept for any input.
    NDArray x = random(new Random(3), 2, 1, 17, 23);
    NDArray y = adapter(new long[] {1, 17, 23}, new long[] {1, 12, 12}, Aspect.STRETCH, Kernel.AREA).apply(x);
    assertEquals(x.mean().getFloat(), y.mean().getFloat(), 1e-5f);
    // Enlarging works too (9x5 -> 12x12).
    NDArray z = adapter(new long[] {1, 9, 5}, new long[] {1, 12, 12}, Aspect.STRETCH, Kernel.AREA)
        .apply(random(new Random(4), 1, 1, 9, 5));
    assertEquals(new Shape(1, 1, 12, 12), z.getShape());
  }

  @Test
  void centreCropShowsTheModelTheCentredWindowOnly() {
    // 20x12 into 12x12: scale 1 on both axes, rows 4..15 kept, the rest cut.
    NDArray x = random(new Random(5), 1, 3, 20, 12);
    for (Kernel kernel : Kernel.values()) {
      NDArray y = adapter(new long[] {3, 20, 12}, new long[] {3, 12, 12}, Aspect.CENTER_CROP, kernel).apply(x);
      assertArrayEquals(x.get(":, :, 4:16, :").toFloatArray(), y.toFloatArray(), 1e-6f, kernel.toString());
    }
  }

  @Test
  void letterboxFitsTheWholeImageAndPadsWithBlack() {
    // 6x12 into 12x12: scale 1, rows 3..8 are the image, rows 0..2 and 9..11 black.
    NDArray x = random(new Random(6), 1, 1, 6, 12);
    for (Kernel kernel : Kernel.values()) {
      NDArray y = adapter(new long[] {1, 6, 12}, new long[] {1, 12, 12}, Aspect.LETTERBOX, kernel).apply(x);
      assertArrayEquals(x.toFloatArray(), y.get(":, :, 3:9, :").toFloatArray(), 1e-6f, kernel.toString());
      assertEquals(0f, y.get(":, :, 0:3, :").abs().sum().getFloat(), kernel.toString());
      assertEquals(0f, y.get(":, :, 9:12, :").abs().sum().getFloat(), kernel.toString());
    }
    // Letterboxing a 24x12 image into 12x12: halved, centred in 6 columns with 3 black ones on each side.
    double[][] axes = InputAdapter.axes(24, 12, 12, 12, Aspect.LETTERBOX);
    assertEquals(2.0, axes[0][1]);
    assertEquals(-6.0, axes[1][0]);
  }

  @Test
  void grayReplicatesIntoAColourBundleAndColourBecomesLuma() {
    NDArray gray = random(new Random(7), 1, 1, 12, 12);
    NDArray rgb = adapter(new long[] {1, 12, 12}, new long[] {3, 12, 12}, Aspect.STRETCH, Kernel.AREA).apply(gray);
    assertEquals(new Shape(1, 3, 12, 12), rgb.getShape());
    for (int c = 0; c < 3; c++) {
      assertArrayEquals(gray.toFloatArray(), rgb.get(":, " + c + ":" + (c + 1)).toFloatArray());
    }
    float[] pixel = {1f, 0f, 0f, 0f, 1f, 0f, 0f, 0f, 1f}; // three 1x3 images: pure red, green, blue
    NDArray colours = manager.create(pixel, new Shape(3, 3, 1, 1));
    float[] luma = adapter(new long[] {3, 1, 1}, new long[] {1, 1, 1}, Aspect.STRETCH, Kernel.AREA).apply(colours)
        .toFloatArray();
    assertArrayEquals(new float[] {0.299f, 0.587f, 0.114f}, luma, 1e-6f);
  }

  @Test
  void gradientThroughPMatchesFiniteDifferencesForEveryPolicyAndKernel() {
    // Colour, odd, non-square 3x17x23 into a gray 12x12 input, under L(y) = Σ (y − t)²: a quadratic, so central
    // differences are exact up to float rounding whatever h, and the check isolates the backward pass through P.
    long[] in = {3, 17, 23};
    long[] bundle = {1, 12, 12};
    Random random = new Random(8);
    NDArray x = random(random, 2, 3, 17, 23);
    NDArray t = random(random, 2, 1, 12, 12);
    for (Aspect aspect : Aspect.values()) {
      for (Kernel kernel : Kernel.values()) {
        InputAdapter p = adapter(in, bundle, aspect, kernel);
        java.util.function.UnaryOperator<NDArray> loss = v -> p.apply(v).sub(t).square().sum();
        float[] grad = io.sepshield.model.Gradients.ofInput(x, loss, manager).toFloatArray();
        for (int trial = 0; trial < 20; trial++) {
          int pixel = random.nextInt(grad.length);
          float h = 0.25f;
          float[] e = new float[grad.length];
          e[pixel] = h;
          NDArray d = manager.create(e, x.getShape());
          double fd = (loss.apply(x.add(d)).getFloat() - loss.apply(x.sub(d)).getFloat()) / (2 * h);
          assertEquals(fd, grad[pixel], 1e-4 + 1e-3 * Math.abs(fd), aspect + "/" + kernel + " pixel " + pixel);
        }
      }
    }
  }

  @Test
  void refusesChannelCountsOtherThanGrayAndRgb() {
    assertThrows(IllegalArgumentException.class,
        () -> adapter(new long[] {4, 12, 12}, new long[] {1, 12, 12}, Aspect.STRETCH, Kernel.AREA));
    assertThrows(IllegalArgumentException.class,
        () -> adapter(new long[] {3, 12, 12}, new long[] {2, 12, 12}, Aspect.STRETCH, Kernel.AREA));
  }

  @Test
  void policiesAndKernelsParseTheirNames() {
    for (Aspect a : Aspect.values()) {
      assertEquals(a, Aspect.parse(a.cliName()));
    }
    for (Kernel k : Kernel.values()) {
      assertEquals(k, Kernel.parse(k.cliName()));
    }
    assertThrows(IllegalArgumentException.class, () -> Aspect.parse("zoom"));
  }

  @Test
  void resultsBelongToTheCallersScopeNotToTheAdaptersManager() {
    // The adapter lives as long as its protector; what apply() returns must be freed with the caller's scope.
    for (long[] in : new long[][] {{1, 112, 112}, {1, 112, 28}, {1, 28, 112}, {3, 60, 40}}) {
      try (NDManager adapterManager = manager.newSubManager();
          NDManager scope = manager.newSubManager()) {
        InputAdapter p = InputAdapter.create(adapterManager, in, new long[] {1, 28, 28}, Preprocessing.DEFAULT);
        NDArray x = scope.ones(new Shape(2, in[0], in[1], in[2]));
        NDArray y = p.apply(x);
        assertEquals(new Shape(2, 1, 28, 28), y.getShape());
        assertSame(scope, y.getManager(), java.util.Arrays.toString(in));
      }
    }
  }
}
