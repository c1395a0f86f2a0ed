package io.sepshield.data;

/**
 * One decoded 8-bit image in CHW order (the layout {@link LabeledImages} uses per image).
 *
 * @param pixels {@code channels * height * width} bytes, unsigned 0..255
 */
public record ChwImage(int channels, int height, int width, byte[] pixels) {
  public ChwImage {
    if (channels <= 0 || height <= 0 || width <= 0) {
      throw new IllegalArgumentException("image shape must be positive: " + channels + "x" + height + "x" + width);
    }
    if ((long) channels * height * width != pixels.length) {
      throw new IllegalArgumentException("pixel buffer holds " + pixels.length + " bytes, expected "
          + channels + "x" + height + "x" + width);
    }
  }
}
