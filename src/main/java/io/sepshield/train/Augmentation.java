package io.sepshield.train;

import java.util.Random;

/**
 * Random crop (pad with zeros, crop back to size) and horizontal flip, applied to 8-bit CHW images before they
 * become tensors: per-image work on a few hundred bytes is far cheaper in Java than as per-image tensor ops.
 */
public final class Augmentation {
  private Augmentation() {}

  /** Augments {@code n} images of shape (c, h, w) stored back to back; returns a new buffer. */
  public static byte[] apply(byte[] images, int n, int c, int h, int w, int padding, boolean flip, Random random) {
    byte[] out = new byte[images.length];
    int size = c * h * w;
    for (int i = 0; i < n; i++) {
      int dy = padding == 0 ? 0 : random.nextInt(2 * padding + 1) - padding;
      int dx = padding == 0 ? 0 : random.nextInt(2 * padding + 1) - padding;
      boolean mirror = flip && random.nextBoolean();
      int base = i * size;
      for (int ch = 0; ch < c; ch++) {
        int plane = base + ch * h * w;
        for (int y = 0; y < h; y++) {
          int sy = y + dy;
          for (int x = 0; x < w; x++) {
            int sx = (mirror ? w - 1 - x : x) + dx;
            out[plane + y * w + x] = sy < 0 || sy >= h || sx < 0 || sx >= w ? 0 : images[plane + sy * w + sx];
          }
        }
      }
    }
    return out;
  }
}
