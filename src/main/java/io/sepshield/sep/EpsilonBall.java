package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import io.sepshield.model.ImageTensors;

/**
 * Π_ε: the feasible set {x : |x − x0|∞ ≤ ε, 0 ≤ x ≤ 1}, and the 8-bit quantisation that must stay inside it.
 *
 * <p>The ball is precomputed as per-pixel bounds [lo, hi] so that a projection is two element-wise ops.
 */
public final class EpsilonBall implements AutoCloseable {
  private final NDArray lower;
  private final NDArray upper;
  private final float epsilon;

  public EpsilonBall(NDArray original, float epsilon) {
    this.epsilon = epsilon;
    this.lower = clipped(original.sub(epsilon));
    this.upper = clipped(original.add(epsilon));
  }

  /** The nearest point of the ball: clip to [x0 − ε, x0 + ε] ∩ [0, 1]. A new array on x's manager. */
  public NDArray project(NDArray x) {
    // DJL has no in-place maximum/minimum; the intermediate is freed here rather than with the caller's scope, which
    // at full size is an image-sized array per projection.
    NDArray above = x.maximum(lower);
    NDArray inside = above.minimum(upper);
    above.close();
    return inside;
  }

  private static NDArray clipped(NDArray bound) {
    NDArray c = bound.clip(0f, 1f);
    bound.close();
    return c;
  }

  public float epsilon() {
    return epsilon;
  }

  /** The largest 8-bit change ε allows: floor(255 ε), with a little slack for ε given as k/255 in float. */
  public static int maxLevels(float epsilon) {
    return (int) Math.floor(epsilon * 255f + 1e-3f);
  }

  /**
   * Rounds crafted images to 8 bits and clamps each pixel into [original − maxLevels, original + maxLevels] ∩
   * [0, 255], then verifies the bound pixel by pixel. Rounding (not truncation) keeps the perturbation unbiased.
   *
   * @param original the 8-bit images the crafting started from, NCHW order
   * @param crafted the crafted images in [0,1], same shape
   * @throws IllegalStateException if a pixel leaves the ball (a bug, never expected)
   */
  public static byte[] quantize(byte[] original, NDArray crafted, float epsilon) {
    byte[] q = ImageTensors.toBytesRounded(crafted);
    if (q.length != original.length) {
      throw new IllegalArgumentException("crafted has " + q.length + " pixels, original " + original.length);
    }
    int levels = maxLevels(epsilon);
    for (int i = 0; i < q.length; i++) {
      int o = original[i] & 0xff;
      int v = Math.max(o - levels, Math.min(o + levels, q[i] & 0xff));
      q[i] = (byte) v;
    }
    int worst = maxAbsDelta(original, q);
    if (worst > levels) {
      throw new IllegalStateException("quantised image leaves the ε-ball: |δ|=" + worst + " > " + levels);
    }
    return q;
  }

  /** max_i |a_i − b_i| over 8-bit pixels. */
  public static int maxAbsDelta(byte[] a, byte[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException("length mismatch " + a.length + " vs " + b.length);
    }
    int worst = 0;
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
    }
    return worst;
  }

  /** mean_i |a_i − b_i| over 8-bit pixels, in levels. */
  public static double meanAbsDelta(byte[] a, byte[] b) {
    long sum = 0;
    for (int i = 0; i < a.length; i++) {
      sum += Math.abs((a[i] & 0xff) - (b[i] & 0xff));
    }
    return a.length == 0 ? 0 : (double) sum / a.length;
  }

  @Override
  public void close() {
    lower.close();
    upper.close();
  }
}
