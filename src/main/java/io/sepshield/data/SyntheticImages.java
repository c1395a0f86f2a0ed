package io.sepshield.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Small seeded, learnable labelled data sets for tests and demos, so that training code can be checked in seconds
 * without downloading anything.
 *
 * <p>Every image has a class-specific pattern on a random background: a soft blob whose centre lies on a circle at an
 * angle set by the class, plus stripes whose orientation is set by the class. Each sample varies: the blob is
 * jittered, amplitudes, background level and stripe phase are random, and Gaussian pixel noise is added, so no single
 * pixel decides the class, yet a tiny CNN (or even a nearest-centroid classifier) separates the classes well.
 * Colour images use the same pattern in every channel with a random per-channel gain.
 *
 * <p>Images are interleaved by class (label of image i is {@code i % numClasses}), so any prefix is balanced. Ids are
 * "synthetic-000000", ...; class names "class-0", "class-1", .... The same arguments always give the same bytes
 * ({@link java.util.Random} is specified exactly).
 */
public final class SyntheticImages {
  private static final double NOISE_SIGMA = 15.0;

  private SyntheticImages() {}

  /**
   * Generates numClasses * perClass images of channels x height x width.
   *
   * @throws IllegalArgumentException for non-positive counts or images smaller than 4x4
   */
  public static LabeledImages generate(int numClasses, int perClass, int channels, int height, int width, long seed) {
    if (numClasses < 1 || perClass < 1 || channels < 1) {
      throw new IllegalArgumentException("need at least one class, one image per class and one channel: classes="
          + numClasses + ", per-class=" + perClass + ", channels=" + channels);
    }
    if (height < 4 || width < 4) {
      throw new IllegalArgumentException("synthetic images must be at least 4x4, not " + height + "x" + width);
    }
    int n = Math.multiplyExact(numClasses, perClass);
    int imageBytes = channels * height * width;
    byte[] pixels = new byte[Math.multiplyExact(n, imageBytes)];
    int[] labels = new int[n];
    Random rng = new Random(seed);
    double size = Math.min(height, width);
    double radius = 0.3 * size;
    double sigma = Math.max(1.0, 0.12 * size);
    double period = Math.max(3.0, size / 4.0);
    double jitter = 0.08 * size;
    double[] plane = new double[height * width];
    for (int i = 0; i < n; i++) {
      int k = i % numClasses;
      labels[i] = k;
      double angle = 2 * Math.PI * k / numClasses;
      double cy = (height - 1) / 2.0 + radius * Math.sin(angle) + jitter * (2 * rng.nextDouble() - 1);
      double cx = (width - 1) / 2.0 + radius * Math.cos(angle) + jitter * (2 * rng.nextDouble() - 1);
      double theta = Math.PI * k / numClasses;
      double fy = Math.sin(theta) * 2 * Math.PI / period;
      double fx = Math.cos(theta) * 2 * Math.PI / period;
      double phase = 2 * Math.PI * rng.nextDouble();
      double background = 30 + 30 * rng.nextDouble();
      double blobAmp = 90 + 40 * rng.nextDouble();
      double stripeAmp = 30 + 20 * rng.nextDouble();
      for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++) {
          double d2 = (y - cy) * (y - cy) + (x - cx) * (x - cx);
          double stripes = 0.5 * (1 + Math.cos(fy * y + fx * x + phase));
          plane[y * width + x] = background + blobAmp * Math.exp(-d2 / (2 * sigma * sigma)) + stripeAmp * stripes;
        }
      }
      int base = i * imageBytes;
      for (int c = 0; c < channels; c++) {
        double gain = channels == 1 ? 1.0 : 0.7 + 0.6 * rng.nextDouble();
        for (int p = 0; p < plane.length; p++) {
          double v = gain * plane[p] + NOISE_SIGMA * rng.nextGaussian();
          pixels[base + c * plane.length + p] = (byte) Math.max(0, Math.min(255, Math.round(v)));
        }
      }
    }
    List<String> classNames = new ArrayList<>(numClasses);
    for (int k = 0; k < numClasses; k++) {
      classNames.add("class-" + k);
    }
    return new LabeledImages(channels, height, width, pixels, labels, classNames,
        Ids.index("synthetic", n));
  }
}
