package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.ImageResize.Kernel;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ImageResizeKernelTest {
  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void areaAtAnIntegerFactorIsTheBlockMeanAndNearestTakesTheCentrePixel() {
    int c = 2;
    int h = 12;
    int w = 8;
    byte[] src = random(c * h * w, 1);
    byte[] area = ImageResize.resize(src, c, h, w, 3, 2, Kernel.AREA);
    byte[] nearest = ImageResize.resize(src, c, h, w, 3, 2, Kernel.NEAREST);
    for (int ch = 0; ch < c; ch++) {
      for (int y = 0; y < 3; y++) {
        for (int x = 0; x < 2; x++) {
          int sum = 0;
          for (int dy = 0; dy < 4; dy++) {
            for (int dx = 0; dx < 4; dx++) {
              sum += src[(ch * h + 4 * y + dy) * w + 4 * x + dx] & 0xff;
            }
          }
          assertEquals(Math.round(sum / 16.0), area[(ch * 3 + y) * 2 + x] & 0xff, "area at " + ch + "," + y + "," + x);
          assertEquals(src[(ch * h + 4 * y + 2) * w + 4 * x + 2], nearest[(ch * 3 + y) * 2 + x]);
        }
      }
    }
  }

  @Test
  void blockUpscaleThenAreaOrNearestDownscaleIsTheIdentityButBicubicIsNot() {
    byte[] src = random(28 * 28, 2);
    byte[] up = ImageResize.resize(src, 1, 28, 28, 112, 112, Kernel.NEAREST);
    assertEquals(src[5 * 28 + 7], up[(4 * 5 + 3) * 112 + 4 * 7]); // each source pixel becomes a 4x4 block
    assertArrayEquals(src, ImageResize.resize(up, 1, 112, 112, 28, 28, Kernel.AREA));
    assertArrayEquals(src, ImageResize.resize(up, 1, 112, 112, 28, 28, Kernel.NEAREST));
    assertFalse(java.util.Arrays.equals(src, ImageResize.resize(up, 1, 112, 112, 28, 28, Kernel.BICUBIC)));
  }

  @Test
  void kernelsDifferAndBicubicStaysTheDefault() {
    byte[] smooth = ImageResize.resize(random(28 * 28, 3), 1, 28, 28, 112, 112, Kernel.BICUBIC);
    assertArrayEquals(smooth, ImageResize.resize(random(28 * 28, 3), 1, 28, 28, 112, 112));
    byte[][] down = new byte[Kernel.values().length][];
    for (Kernel k : Kernel.values()) {
      down[k.ordinal()] = ImageResize.resize(smooth, 1, 112, 112, 28, 28, k);
    }
    for (int a = 0; a < down.length; a++) {
      for (int b = a + 1; b < down.length; b++) {
        assertFalse(java.util.Arrays.equals(down[a], down[b]), Kernel.values()[a] + " vs " + Kernel.values()[b]);
      }
    }
    // A constant image stays constant under every kernel, up and down.
    byte[] gray = new byte[3 * 7 * 9];
    java.util.Arrays.fill(gray, (byte) 77);
    for (Kernel k : Kernel.values()) {
      for (byte v : ImageResize.resize(gray, 3, 7, 9, 20, 5, k)) {
        assertEquals(77, v & 0xff, k.toString());
      }
    }
    assertEquals(Kernel.AREA, Kernel.parse(" Area"));
    assertThrows(IllegalArgumentException.class, () -> Kernel.parse("lanczos"));
  }
}
