package io.sepshield.eval;

import io.sepshield.train.BatchTransform;

/**
 * Cutout (DeVries and Taylor, 2017): every training image gets a size×size square, centred at a random pixel and
 * clipped at the border, set to 0 in all channels. A training-time defense: the published images are not changed.
 */
public record CutoutDefense(int size) implements Defense {
  public CutoutDefense {
    if (size < 1) {
      throw new IllegalArgumentException("cutout size must be positive, got " + size);
    }
  }

  @Override
  public String name() {
    return "cutout";
  }

  @Override
  public String setting() {
    return Integer.toString(size);
  }

  @Override
  public BatchTransform batchTransform() {
    return (pixels, labels, n, c, h, w, classes, random) -> {
      for (int i = 0; i < n; i++) {
        int cy = random.nextInt(h);
        int cx = random.nextInt(w);
        int y0 = Math.max(0, cy - size / 2);
        int y1 = Math.min(h, cy - size / 2 + size);
        int x0 = Math.max(0, cx - size / 2);
        int x1 = Math.min(w, cx - size / 2 + size);
        for (int ch = 0; ch < c; ch++) {
          int plane = (i * c + ch) * h * w;
          for (int y = y0; y < y1; y++) {
            java.util.Arrays.fill(pixels, plane + y * w + x0, plane + y * w + x1, (byte) 0);
          }
        }
      }
      return new BatchTransform.Batch(pixels, null);
    };
  }
}
