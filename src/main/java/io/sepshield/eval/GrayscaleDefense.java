package io.sepshield.eval;

import io.sepshield.data.LabeledImages;

/**
 * RGB to luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B) replicated into all three channels, so the model's input
 * shape stays the same. One-channel images are already grayscale: the identity, reported as such.
 */
public record GrayscaleDefense() implements Defense {
  @Override
  public String name() {
    return "gray";
  }

  @Override
  public String setting() {
    return "";
  }

  /** Whether this defense changes images with {@code channels} channels at all. */
  public static boolean isIdentityFor(int channels) {
    return channels == 1;
  }

  @Override
  public LabeledImages preprocess(LabeledImages images) {
    int c = images.channels();
    if (isIdentityFor(c)) {
      return images;
    }
    if (c != 3) {
      throw new IllegalArgumentException("grayscale needs 1 or 3 channels, got " + c);
    }
    int plane = images.height() * images.width();
    byte[] in = images.rawPixels();
    byte[] out = new byte[in.length];
    for (int i = 0; i < images.size(); i++) {
      int base = i * 3 * plane;
      for (int p = 0; p < plane; p++) {
        double luma = 0.299 * (in[base + p] & 0xff) + 0.587 * (in[base + plane + p] & 0xff)
            + 0.114 * (in[base + 2 * plane + p] & 0xff);
        byte v = (byte) Math.min(255, Math.round(luma));
        out[base + p] = v;
        out[base + plane + p] = v;
        out[base + 2 * plane + p] = v;
      }
    }
    return images.withPixels(out);
  }
}
