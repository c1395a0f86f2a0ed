package io.sepshield.sep;

import io.sepshield.data.ChwImage;
import io.sepshield.data.ImageFormatException;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The invariants every protected image must satisfy before it leaves the service, checked on what is actually
 * emitted: the expected shape, every pixel and channel within ⌊255 ε⌋ 8-bit levels of the original (and in
 * [0, 255], which 8-bit storage guarantees), the crafted float result (when given) finite and in [0, 1], the
 * reported max |δ| truthful, and the encoded PNG decoding to exactly those pixels. {@link EpsilonBall#quantize}
 * already enforces the bound where it is produced; this is the independent check at the boundary, so that a bug
 * anywhere in between (resize, re-encode, a mixed-up batch index) reaches the dead-letter topic instead of users.
 *
 * <p>Pure and thread-safe; a violation is a sentence that names the image position, pixel and values.
 */
public final class OutputCheck {
  private final int channels;
  private final int height;
  private final int width;
  private final int maxLevels;

  /** @param epsilon the L∞ radius in [0,1] units (8/255 for the paper's setting) */
  public OutputCheck(int channels, int height, int width, float epsilon) {
    if (channels < 1 || height < 1 || width < 1) {
      throw new IllegalArgumentException("shape must be positive: " + channels + "x" + height + "x" + width);
    }
    if (!(epsilon >= 0 && epsilon <= 1)) {
      throw new IllegalArgumentException("epsilon must be in [0, 1], got " + epsilon);
    }
    this.channels = channels;
    this.height = height;
    this.width = width;
    this.maxLevels = EpsilonBall.maxLevels(epsilon);
  }

  /** One image that must not be emitted. */
  public record Violation(int index, String id, String description) {}

  public int maxLevels() {
    return maxLevels;
  }

  private int size() {
    return channels * height * width;
  }

  /**
   * What {@link #measure} found: the largest |δ| in 8-bit levels over every pixel and channel, and the first
   * violation, if any (then {@code maxAbsDelta} is meaningless when the shapes differ: -1).
   */
  public record Measured(int maxAbsDelta, Optional<String> violation) {}

  /** 8-bit CHW protected pixels against the 8-bit CHW original. */
  public Optional<String> check(byte[] original, byte[] protectedPixels) {
    return measure(original, protectedPixels).violation();
  }

  /**
   * As {@link #check(byte[], byte[])}, and the max |δ| of the same pass: a caller that reports the figure need not
   * scan the image again.
   */
  public Measured measure(byte[] original, byte[] protectedPixels) {
    if (original == null || protectedPixels == null) {
      return new Measured(-1, Optional.of("no pixels"));
    }
    if (original.length != size() || protectedPixels.length != size()) {
      return new Measured(-1, Optional.of("shape: original " + original.length + " and protected "
          + protectedPixels.length + " values, expected " + channels + "x" + height + "x" + width + " = " + size()));
    }
    int worst = 0;
    String violation = null;
    for (int i = 0; i < original.length; i++) {
      int o = original[i] & 0xff;
      int p = protectedPixels[i] & 0xff;
      int d = Math.abs(p - o);
      if (d > maxLevels && violation == null) {
        violation = "ε-bound: " + where(i) + " moved " + d + " levels (" + o + " → " + p + "), ε allows "
            + maxLevels;
      }
      worst = Math.max(worst, d);
    }
    return new Measured(worst, Optional.ofNullable(violation));
  }

  /** As {@link #check(byte[], byte[])}, and the crafted float image (CHW, [0,1] units) finite and in range. */
  public Optional<String> check(byte[] original, byte[] protectedPixels, float[] crafted) {
    Optional<String> pixels = check(original, protectedPixels);
    if (pixels.isPresent() || crafted == null) {
      return pixels;
    }
    if (crafted.length != size()) {
      return Optional.of("shape: float result has " + crafted.length + " values, expected " + size());
    }
    for (int i = 0; i < crafted.length; i++) {
      float v = crafted[i];
      if (Float.isNaN(v) || Float.isInfinite(v)) {
        return Optional.of("float result: " + v + " at " + where(i));
      }
      if (v < 0f || v > 1f) {
        return Optional.of(String.format(Locale.ROOT, "float result: %.6f outside [0, 1] at %s", v, where(i)));
      }
      // The float result itself must respect ε (half a level of slack for rounding to 8 bits).
      float o = (original[i] & 0xff) / 255f;
      if (Math.abs(v - o) * 255f > maxLevels + 0.5f) {
        return Optional.of(String.format(Locale.ROOT, "ε-bound: float result moved %.2f levels at %s, ε allows %d",
            Math.abs(v - o) * 255f, where(i), maxLevels));
      }
    }
    return Optional.empty();
  }

  /** The encoded PNG, as it will be emitted: it must decode to the expected shape and respect the bound. */
  public Optional<String> checkPng(byte[] original, byte[] png) {
    ChwImage decoded;
    try {
      decoded = PngCodec.decode(png, channels);
    } catch (ImageFormatException | RuntimeException e) {
      return Optional.of("PNG: does not decode: " + e.getMessage());
    }
    if (decoded.height() != height || decoded.width() != width) {
      return Optional.of("PNG: decodes to " + decoded.width() + "x" + decoded.height() + ", expected " + width + "x"
          + height);
    }
    return check(original, decoded.pixels()).map(v -> "PNG: " + v);
  }

  /**
   * Every image of a protected batch against its original, including the per-image max |δ| the batch reports.
   *
   * @return the violations, empty when every image may be emitted
   */
  public List<Violation> check(LabeledImages originals, ProtectedBatch result) {
    List<Violation> out = new ArrayList<>();
    LabeledImages images = result.images();
    if (images.size() != originals.size() || result.maxAbsDelta().length != originals.size()) {
      for (int i = 0; i < originals.size(); i++) {
        out.add(new Violation(i, originals.id(i), "batch: " + images.size() + " protected images and "
            + result.maxAbsDelta().length + " deltas for " + originals.size() + " originals"));
      }
      return out;
    }
    for (int i = 0; i < originals.size(); i++) {
      byte[] o = originals.image(i);
      byte[] p = images.image(i);
      Measured m = measure(o, p);
      Optional<String> v = m.violation();
      if (v.isEmpty() && m.maxAbsDelta() != result.maxAbsDelta()[i]) {
        v = Optional.of("reported max |δ| " + result.maxAbsDelta()[i] + " levels, actual " + m.maxAbsDelta());
      }
      int index = i;
      v.ifPresent(d -> out.add(new Violation(index, originals.id(index), d)));
    }
    return out;
  }

  private String where(int i) {
    int c = i / (height * width);
    int y = i / width % height;
    int x = i % width;
    return "pixel (c=" + c + ", y=" + y + ", x=" + x + ")";
  }
}
