package io.sepshield.eval;

import io.sepshield.data.LabeledImages;

/** Reduces every pixel to 2^bits levels spread over 0..255 (nearest level), then back to 8 bits. */
public record BitDepthDefense(int bits) implements Defense {
  public BitDepthDefense {
    if (bits < 1 || bits > 7) {
      throw new IllegalArgumentException("bit depth must be in 1..7, got " + bits);
    }
  }

  @Override
  public String name() {
    return "bits";
  }

  @Override
  public String setting() {
    return Integer.toString(bits);
  }

  @Override
  public LabeledImages preprocess(LabeledImages images) {
    int top = (1 << bits) - 1;
    byte[] lut = new byte[256];
    for (int v = 0; v < 256; v++) {
      long level = Math.round(v * top / 255.0);
      lut[v] = (byte) Math.round(level * 255.0 / top);
    }
    byte[] in = images.rawPixels();
    byte[] out = new byte[in.length];
    for (int i = 0; i < in.length; i++) {
      out[i] = lut[in[i] & 0xff];
    }
    return images.withPixels(out);
  }
}
