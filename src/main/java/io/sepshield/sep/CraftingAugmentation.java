package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Expectation over transformations in the crafting gradients: every loss evaluation sees the model input under a
 * fresh random horizontal flip (per image) and translation (per evaluation, zero fill, the appropriator's crop with
 * padding), drawn inside the autograd graph. Poisons crafted this way survive the flips and crops an appropriator
 * trains with (Fowl et al., "Adversarial Examples Make Strong Poisons", NeurIPS 2021, differentiable augmentation).
 * It changes no cost: the same number of gradient evaluations, a few cheap ops more on 28×28 tensors.
 *
 * @param flip mirror each image left-right with probability 1/2
 * @param shift largest translation in model-input pixels, each axis drawn uniformly from [−shift, shift]; 0 = none
 */
public record CraftingAugmentation(boolean flip, int shift) {
  /** What the command line's {@code --crafting-augment} takes, for its help text. */
  public static final String USAGE = "Random transformations of the model input in every crafting gradient "
      + "(expectation over transformations): none, flip, shift:N or flip,shift:N";

  /** No transformation: Algorithm 1 as written. */
  public static final CraftingAugmentation NONE = new CraftingAugmentation(false, 0);

  public CraftingAugmentation {
    if (shift < 0) {
      throw new IllegalArgumentException("shift must be >= 0, got " + shift);
    }
  }

  public boolean isNone() {
    return !flip && shift == 0;
  }

  /** Parses "none", "flip", "shift:N" or both, comma-separated ("flip,shift:2"). */
  public static CraftingAugmentation parse(String spec) {
    boolean flip = false;
    int shift = 0;
    for (String part : spec.toLowerCase(Locale.ROOT).split(",")) {
      String p = part.trim();
      if (p.isEmpty() || p.equals("none")) {
        continue;
      }
      if (p.equals("flip")) {
        flip = true;
      } else if (p.startsWith("shift:")) {
        shift = Integer.parseInt(p.substring("shift:".length()));
      } else {
        throw new IllegalArgumentException("unknown crafting augmentation '" + part + "' (none, flip, shift:N)");
      }
    }
    return new CraftingAugmentation(flip, shift);
  }

  /** The spec {@link #parse} reads back: part of the settings string that crafted-set reuse keys on. */
  @Override
  public String toString() {
    List<String> parts = new ArrayList<>();
    if (flip) {
      parts.add("flip");
    }
    if (shift > 0) {
      parts.add("shift:" + shift);
    }
    return parts.isEmpty() ? "none" : String.join(",", parts);
  }

  /** One random draw applied to NCHW model inputs; differentiable, new arrays on x's manager. */
  NDArray apply(NDArray x, Random random) {
    NDArray out = x;
    if (flip) {
      int n = Math.toIntExact(x.getShape().get(0));
      float[] mirror = new float[n];
      for (int i = 0; i < n; i++) {
        mirror[i] = random.nextBoolean() ? 1f : 0f;
      }
      NDArray mask = x.getManager().create(mirror, new Shape(n, 1, 1, 1));
      out = x.add(x.flip(3).sub(x).mul(mask)); // x where mask = 0, flip(x) where mask = 1
    }
    if (shift > 0) {
      out = translate(out, random.nextInt(2 * shift + 1) - shift, 2);
      out = translate(out, random.nextInt(2 * shift + 1) - shift, 3);
    }
    return out;
  }

  /** Moves the content by d pixels along axis 2 (rows) or 3 (columns), filling with zeros. */
  private static NDArray translate(NDArray x, int d, int axis) {
    if (d == 0) {
      return x;
    }
    long length = x.getShape().get(axis);
    int k = Math.abs(d);
    String prefix = axis == 2 ? ":, :, " : ":, :, :, ";
    NDArray kept = d > 0 ? x.get(new NDIndex(prefix + "0:{}", length - k)) : x.get(new NDIndex(prefix + "{}:", k));
    long[] zeroShape = x.getShape().getShape().clone();
    zeroShape[axis] = k;
    NDArray zeros = x.getManager().zeros(new Shape(zeroShape), x.getDataType());
    NDList parts = d > 0 ? new NDList(zeros, kept) : new NDList(kept, zeros);
    return NDArrays.concat(parts, axis);
  }
}
