package io.sepshield.eval;

import io.sepshield.data.LabeledImages;

/** Separable Gaussian blur of standard deviation sigma pixels (kernel radius ⌈3σ⌉, edges clamped), per channel. */
public record GaussianBlurDefense(double sigma) implements Defense {
  public GaussianBlurDefense {
    if (!(sigma > 0 && sigma <= 10)) {
      throw new IllegalArgumentException("blur sigma must be in (0, 10], got " + sigma);
    }
  }

  @Override
  public String name() {
    return "blur";
  }

  @Override
  public String setting() {
    return Double.toString(sigma);
  }

  @Override
  public LabeledImages preprocess(LabeledImages images) {
    int radius = (int) Math.ceil(3 * sigma);
    double[] kernel = new double[2 * radius + 1];
    double sum = 0;
    for (int i = -radius; i <= radius; i++) {
      kernel[i + radius] = Math.exp(-i * i / (2 * sigma * sigma));
      sum += kernel[i + radius];
    }
    for (int i = 0; i < kernel.length; i++) {
      kernel[i] /= sum;
    }
    int h = images.height();
    int w = images.width();
    byte[] in = images.rawPixels();
    byte[] out = new byte[in.length];
    double[] tmp = new double[h * w];
    for (int plane = 0; plane < images.size() * images.channels(); plane++) {
      int base = plane * h * w;
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          double v = 0;
          for (int k = -radius; k <= radius; k++) {
            int sx = Math.min(w - 1, Math.max(0, x + k));
            v += kernel[k + radius] * (in[base + y * w + sx] & 0xff);
          }
          tmp[y * w + x] = v;
        }
      }
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          double v = 0;
          for (int k = -radius; k <= radius; k++) {
            int sy = Math.min(h - 1, Math.max(0, y + k));
            v += kernel[k + radius] * tmp[sy * w + x];
          }
          out[base + y * w + x] = (byte) Math.min(255, Math.max(0, Math.round(v)));
        }
      }
    }
    return images.withPixels(out);
  }
}
