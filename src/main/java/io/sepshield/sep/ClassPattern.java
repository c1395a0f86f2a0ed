package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;

/**
 * A class-wise component beside SEP's perturbation (beyond the paper; an ablation knob, off by default): a share s of
 * the radius goes to a fixed random ±1 pattern P_y per class of the label y, constant over {@code cell} × {@code cell}
 * squares of the bundle's input grid, and crafting runs Algorithm 1 unchanged from x0 + sε·P_y inside the ball of
 * radius (1 − s)ε around that point, so |δ|∞ ≤ ε still holds for the whole perturbation. For s ≥ 1/2 every pixel's δ
 * keeps the pattern's sign, at (2s − 1)ε to ε along it: crafting under a class-consistent sign is s = 1/2, not a
 * separate form. Pixels the [0, 1] range cuts off (black background under a negative sign) keep what is left. The
 * pattern predicts the label perfectly in the protected set, a shortcut an appropriator can learn in its first epochs
 * where SEP's perturbation takes hold only late (docs/results.md, fifth ablations); squares survive the small shifts
 * of an appropriator's crop augmentation, where a pixel-wise pattern does not.
 *
 * <p>The pattern depends only on the seed, the class, the channel and the square, never on the batch, so every image
 * of a class gets the same one, in any batch, at any upload size: an upload of H×W maps pixel (h, w) to the bundle's
 * grid (h·H_b/H, w·W_b/W), so the squares scale with the upload. Uploads with more channels than the bundle share the
 * bundle's channel sign (a grey bundle gives a colour upload the same sign on all three channels, which survives a
 * conversion to grey). Who knows the seed can subtract the pattern: keep the protection seed private.
 *
 * @param share s, the part of ε given to the pattern, in [0, 1); 0 = none
 * @param cell side of the pattern's squares in the bundle's input pixels, ≥ 1
 * @param seed the seed the pattern is drawn from; null: the crafting seed. Its own seed lets an evaluation draw
 *     another pattern while keeping the run seed (training subset, appropriator seeds, clean models) unchanged
 */
public record ClassPattern(float share, int cell, Long seed) {
  /** What {@code --class-pattern} takes, for its help text. */
  public static final String USAGE = "A class-wise component beside the crafted perturbation (beyond the paper, "
      + "off by default): none, or share:S,cell:C — S*eps (S in (0,1)) goes to a fixed random +-1 pattern per class, "
      + "constant over CxC squares of the bundle's input (C defaults to 4), and crafting moves within the rest of the "
      + "radius (for S >= 0.5 every pixel keeps the pattern's sign); ,seed:N draws the pattern from N instead of "
      + "the crafting seed";

  public static final ClassPattern NONE = new ClassPattern(0f, 1);

  /** A pattern drawn from the crafting seed. */
  public ClassPattern(float share, int cell) {
    this(share, cell, null);
  }

  public ClassPattern {
    if (!(share >= 0 && share < 1)) {
      throw new IllegalArgumentException("the class pattern's share of eps must be in [0, 1), got " + share);
    }
    if (cell < 1) {
      throw new IllegalArgumentException("the class pattern's cell must be >= 1 pixel, got " + cell);
    }
  }

  public boolean isNone() {
    return share == 0f;
  }

  /** Parses "none" or "share:S[,cell:C][,seed:N]" (any order; cell 4 and the crafting seed when not given). */
  public static ClassPattern parse(String spec) {
    float share = 0f;
    int cell = 4;
    Long seed = null;
    for (String part : spec.toLowerCase(Locale.ROOT).split(",")) {
      String p = part.trim();
      if (p.isEmpty() || p.equals("none")) {
        continue;
      }
      try {
        if (p.startsWith("share:")) {
          share = Float.parseFloat(p.substring("share:".length()));
          continue;
        }
        if (p.startsWith("cell:")) {
          cell = Integer.parseInt(p.substring("cell:".length()));
          continue;
        }
        if (p.startsWith("seed:")) {
          seed = Long.parseLong(p.substring("seed:".length()));
          continue;
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("class pattern '" + spec + "': " + p + " is not a number", e);
      }
      throw new IllegalArgumentException("unknown class pattern part '" + part + "' (none, share:S, cell:C, seed:N)");
    }
    if (share == 0f && seed != null) {
      throw new IllegalArgumentException("class pattern '" + spec + "': a seed without a share");
    }
    return share == 0f ? NONE : new ClassPattern(share, cell, seed);
  }

  /** The spec {@link #parse} reads back: part of the settings string that crafted-set reuse keys on. */
  @Override
  public String toString() {
    return isNone() ? "none" : String.format(Locale.ROOT, "share:%s,cell:%d%s", Float.toString(share), cell,
        seed == null ? "" : ",seed:" + seed);
  }

  /** The seed P_y is drawn from: its own, else the crafting seed. */
  long patternSeed(long craftingSeed) {
    return seed == null ? craftingSeed : seed;
  }

  /** The radius left to crafting around x0 + sε·P_y: (1 − s)ε. */
  public float craftingRadius(float epsilon) {
    return epsilon * (1 - share);
  }

  /**
   * P_y as ±1 for every image of a batch, NCHW at the images' own size, on {@code manager}'s device.
   *
   * @param labels y per image
   * @param imageShape (N, C, H, W) of the images
   * @param inputShape (C_b, H_b, W_b) of the bundle's input, the grid the squares live on
   */
  NDArray signs(NDManager manager, int[] labels, Shape imageShape, long[] inputShape, long seed) {
    int n = Math.toIntExact(imageShape.get(0));
    int c = Math.toIntExact(imageShape.get(1));
    int h = Math.toIntExact(imageShape.get(2));
    int w = Math.toIntExact(imageShape.get(3));
    long bundleChannels = inputShape[0];
    long bundleH = inputShape[1];
    long bundleW = inputShape[2];
    long cellsPerRow = (bundleW + cell - 1) / cell;
    long cellsPerColumn = (bundleH + cell - 1) / cell;
    float[] out = new float[Math.multiplyExact(Math.multiplyExact(n, c), Math.multiplyExact(h, w))];
    int at = 0;
    for (int i = 0; i < n; i++) {
      for (int ch = 0; ch < c; ch++) {
        long bundleChannel = Math.min(ch, bundleChannels - 1);
        for (int y = 0; y < h; y++) {
          long row = y * bundleH / h / cell;
          for (int x = 0; x < w; x++) {
            long column = x * bundleW / w / cell;
            long square = ((labels[i] * bundleChannels + bundleChannel) * cellsPerColumn + row) * cellsPerRow + column;
            out[at++] = (mix(seed, square) & 1L) == 0 ? 1f : -1f;
          }
        }
      }
    }
    return manager.create(out, imageShape);
  }

  /** A fixed bit source per (seed, square): SplitMix64's finaliser, so neighbouring squares are independent. */
  private static long mix(long seed, long square) {
    long z = seed * 0x9E3779B97F4A7C15L + (square + 1) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
