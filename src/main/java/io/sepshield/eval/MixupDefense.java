package io.sepshield.eval;

import io.sepshield.train.BatchTransform;
import java.util.Random;

/**
 * Mixup (Zhang et al., 2018): per batch, λ ~ Beta(α, α); every image becomes λ·x_i + (1−λ)·x_π(i) for a random
 * permutation π, with soft labels λ·y_i + (1−λ)·y_π(i). Mixed pixels are rounded to 8 bits (an error of at most
 * half a level), because the trainer consumes 8-bit batches.
 */
public record MixupDefense(double alpha) implements Defense {
  public MixupDefense {
    if (!(alpha > 0)) {
      throw new IllegalArgumentException("mixup alpha must be positive, got " + alpha);
    }
  }

  @Override
  public String name() {
    return "mixup";
  }

  @Override
  public String setting() {
    return Double.toString(alpha);
  }

  @Override
  public BatchTransform batchTransform() {
    return (pixels, labels, n, c, h, w, classes, random) -> {
      double lambda = beta(alpha, random);
      int[] partner = new int[n];
      for (int i = 0; i < n; i++) {
        partner[i] = i;
      }
      for (int i = n - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        int t = partner[i];
        partner[i] = partner[j];
        partner[j] = t;
      }
      int size = c * h * w;
      byte[] out = new byte[pixels.length];
      float[] soft = new float[n * classes];
      for (int i = 0; i < n; i++) {
        int j = partner[i];
        for (int p = 0; p < size; p++) {
          double v = lambda * (pixels[i * size + p] & 0xff) + (1 - lambda) * (pixels[j * size + p] & 0xff);
          out[i * size + p] = (byte) Math.round(v);
        }
        soft[i * classes + labels[i]] += (float) lambda;
        soft[i * classes + labels[j]] += (float) (1 - lambda);
      }
      return new BatchTransform.Batch(out, soft);
    };
  }

  /** Beta(a, a) as X/(X+Y) with X, Y ~ Gamma(a, 1). */
  static double beta(double a, Random random) {
    double x = gamma(a, random);
    double y = gamma(a, random);
    return x + y == 0 ? 0.5 : x / (x + y);
  }

  /** Marsaglia and Tsang (2000); for a < 1, Gamma(a+1)·U^(1/a). */
  static double gamma(double a, Random random) {
    if (a < 1) {
      return gamma(a + 1, random) * Math.pow(random.nextDouble(), 1 / a);
    }
    double d = a - 1.0 / 3;
    double c = 1 / Math.sqrt(9 * d);
    while (true) {
      double z = random.nextGaussian();
      double v = 1 + c * z;
      if (v <= 0) {
        continue;
      }
      v = v * v * v;
      double u = random.nextDouble();
      if (Math.log(u) < 0.5 * z * z + d - d * v + d * Math.log(v)) {
        return d * v;
      }
    }
  }
}
