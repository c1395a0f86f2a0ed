package io.sepshield.train;

import io.sepshield.data.LabeledImages;

/** Per-channel mean and standard deviation of a data set in [0,1], for the normalisation inside the model. */
public record ChannelStats(float[] mean, float[] std) {
  public static ChannelStats of(LabeledImages images) {
    int c = images.channels();
    int plane = images.height() * images.width();
    double[] sum = new double[c];
    double[] sumSq = new double[c];
    byte[] px = images.rawPixels();
    for (int i = 0; i < images.size(); i++) {
      for (int ch = 0; ch < c; ch++) {
        int base = (i * c + ch) * plane;
        for (int p = 0; p < plane; p++) {
          double v = (px[base + p] & 0xff) / 255.0;
          sum[ch] += v;
          sumSq[ch] += v * v;
        }
      }
    }
    double count = (double) images.size() * plane;
    float[] mean = new float[c];
    float[] std = new float[c];
    for (int ch = 0; ch < c; ch++) {
      double m = sum[ch] / count;
      mean[ch] = (float) m;
      // A constant channel would divide by zero inside the model; 1e-3 keeps it finite and harmless.
      std[ch] = (float) Math.max(1e-3, Math.sqrt(Math.max(0, sumSq[ch] / count - m * m)));
    }
    return new ChannelStats(mean, std);
  }
}
