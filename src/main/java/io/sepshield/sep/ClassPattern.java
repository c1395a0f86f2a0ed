package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A class-wise component beside SEP's perturbation (beyond the paper; an ablation knob, off by default): a share s of
 * the radius goes to a fixed ±1 pattern P_y per class of the label y, constant over {@code cell} × {@code cell}
 * squares of the bundle's input grid, and crafting runs Algorithm 1 unchanged from x0 + sε·P_y inside the ball of
 * radius (1 − s)ε around that point, so |δ|∞ ≤ ε still holds for the whole perturbation. For s ≥ 1/2 every pixel's δ
 * keeps the pattern's sign, at (2s − 1)ε to ε along it: crafting under a class-consistent sign is s = 1/2, not a
 * separate form. Pixels the [0, 1] range cuts off (black background under a negative sign) keep what is left. The
 * pattern predicts the label perfectly in the protected set, a shortcut an appropriator can learn in its first epochs
 * where SEP's perturbation takes hold only late (docs/results.md, fifth ablations); squares survive the small shifts
 * of an appropriator's crop augmentation, where a pixel-wise pattern does not.
 *
 * <p>Two kinds. The random pattern draws each square's sign from a seed. The pattern <em>toward the target class</em>
 * is, per square, the sign of the mean of g(y)'s training images minus that of y's ({@code toward}; zero where the two
 * are equal, e.g. a background black in both): it moves every image of y towards the average image of its target,
 * which a random pattern does not (docs/results.md, tenth ablations), and needs the bundle's input class means,
 * which the retraining job writes.
 *
 * <p>The pattern depends only on the class (and target), the channel and the square, never on the batch, so every
 * image of a class gets the same one, in any batch, at any upload size: an upload of H×W maps pixel (h, w) to the
 * bundle's grid (h·H_b/H, w·W_b/W), so the squares scale with the upload. Uploads with more channels than the bundle
 * share the bundle's channel sign (a grey bundle gives a colour upload the same sign on all three channels, which
 * survives a conversion to grey). Who knows the seed can subtract a random pattern, and who has the class means the
 * pattern toward the target: keep both private.
 *
 * @param share s, the part of ε given to the pattern, in [0, 1); 0 = none
 * @param cell side of the pattern's squares in the bundle's input pixels, ≥ 1
 * @param seed the seed a random pattern is drawn from; null: the crafting seed. Its own seed lets an evaluation draw
 *     another pattern while keeping the run seed (training subset, appropriator seeds, clean models) unchanged
 * @param toward the pattern toward the target class instead of a random one (no seed then)
 */
public record ClassPattern(float share, int cell, Long seed, boolean toward) {
  /** What {@code --class-pattern} takes, for its help text. */
  public static final String USAGE = "A class-wise component beside the crafted perturbation (beyond the paper, "
      + "off by default): none, or share:S,cell:C — S*eps (S in (0,1)) goes to a fixed random +-1 pattern per class, "
      + "constant over CxC squares of the bundle's input (C defaults to 4), and crafting moves within the rest of the "
      + "radius (for S >= 0.5 every pixel keeps the pattern's sign); ,seed:N draws the pattern from N instead of "
      + "the crafting seed; ,toward takes each square's sign from the bundle's class means instead, mean of the "
      + "target class minus mean of the label's (bundles from this version's retraining job carry them)";

  public static final ClassPattern NONE = new ClassPattern(0f, 1);

  /** A random pattern drawn from the crafting seed. */
  public ClassPattern(float share, int cell) {
    this(share, cell, null, false);
  }

  /** A random pattern drawn from {@code seed} (null: the crafting seed). */
  public ClassPattern(float share, int cell, Long seed) {
    this(share, cell, seed, false);
  }

  public ClassPattern {
    if (!(share >= 0 && share < 1)) {
      throw new IllegalArgumentException("the class pattern's share of eps must be in [0, 1), got " + share);
    }
    if (cell < 1) {
      throw new IllegalArgumentException("the class pattern's cell must be >= 1 pixel, got " + cell);
    }
    if (toward && seed != null) {
      throw new IllegalArgumentException("a class pattern toward the target class comes from the class means, not "
          + "from seed " + seed);
    }
  }

  /** A pattern toward the target class, from the bundle's input class means. */
  public static ClassPattern toward(float share, int cell) {
    return new ClassPattern(share, cell, null, true);
  }

  public boolean isNone() {
    return share == 0f;
  }

  /** Parses "none" or "share:S[,cell:C][,seed:N|,toward]" (any order; cell 4 and the crafting seed when not given). */
  public static ClassPattern parse(String spec) {
    float share = 0f;
    int cell = 4;
    Long seed = null;
    boolean toward = false;
    for (String part : spec.toLowerCase(Locale.ROOT).split(",")) {
      String p = part.trim();
      if (p.isEmpty() || p.equals("none")) {
        continue;
      }
      if (p.equals("toward")) {
        toward = true;
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
      throw new IllegalArgumentException("unknown class pattern part '" + part + "' (none, share:S, cell:C, seed:N, "
          + "toward)");
    }
    if (share == 0f && (seed != null || toward)) {
      throw new IllegalArgumentException("class pattern '" + spec + "': " + (toward ? "toward" : "a seed")
          + " without a share");
    }
    return share == 0f ? NONE : new ClassPattern(share, cell, seed, toward);
  }

  /** The spec {@link #parse} reads back: part of the settings string that crafted-set reuse keys on. */
  @Override
  public String toString() {
    return isNone() ? "none" : String.format(Locale.ROOT, "share:%s,cell:%d%s%s", Float.toString(share), cell,
        seed == null ? "" : ",seed:" + seed, toward ? ",toward" : "");
  }

  /** The seed a random P_y is drawn from: its own, else the crafting seed. */
  long patternSeed(long craftingSeed) {
    return seed == null ? craftingSeed : seed;
  }

  /** The radius left to crafting around x0 + sε·P_y: (1 − s)ε. */
  public float craftingRadius(float epsilon) {
    return epsilon * (1 - share);
  }

  /**
   * The pattern on one bundle's input grid, ready for any batch.
   *
   * @param inputShape (C_b, H_b, W_b) of the bundle's input, the grid the squares live on
   * @param craftingSeed the seed a random pattern without its own is drawn from
   * @param inputClassMeans the bundle's mean training image per class (K × C_b·H_b·W_b), or null; kept, not copied
   *     (the ensemble hands out a copy of its own)
   * @throws IllegalArgumentException for a pattern toward the target class without class means
   */
  Grid onGrid(long[] inputShape, long craftingSeed, float[] inputClassMeans) {
    if (toward && inputClassMeans == null) {
      throw new IllegalArgumentException("the class pattern " + this + " needs the bundle's input class means, and "
          + "this bundle has none: retrain it with this version's retraining job");
    }
    return new Grid(inputShape, patternSeed(craftingSeed), toward ? inputClassMeans : null);
  }

  /** P_y (or P_y toward g(y)) on a bundle's grid: one ±1 (or 0) per square, channel and class, kept once made. */
  final class Grid {
    private final long channels;
    private final long height;
    private final long width;
    private final long rows;
    private final long columns;
    private final long seed;
    private final float[] means; // null for a random pattern
    private final Map<Long, float[]> squares = new ConcurrentHashMap<>();

    private Grid(long[] inputShape, long seed, float[] means) {
      this.channels = inputShape[0];
      this.height = inputShape[1];
      this.width = inputShape[2];
      this.rows = (height + cell - 1) / cell;
      this.columns = (width + cell - 1) / cell;
      this.seed = seed;
      this.means = means;
    }

    /**
     * P for every image of a batch, NCHW at the images' own size, on {@code manager}'s device.
     *
     * @param labels y per image
     * @param targets g(y) per image (what a pattern toward the target class points to; unused by a random one)
     * @param imageShape (N, C, H, W) of the images
     */
    NDArray signs(NDManager manager, int[] labels, int[] targets, Shape imageShape) {
      int n = Math.toIntExact(imageShape.get(0));
      int c = Math.toIntExact(imageShape.get(1));
      int h = Math.toIntExact(imageShape.get(2));
      int w = Math.toIntExact(imageShape.get(3));
      float[] out = new float[Math.multiplyExact(Math.multiplyExact(n, c), Math.multiplyExact(h, w))];
      int at = 0;
      for (int i = 0; i < n; i++) {
        int label = labels[i];
        int target = toward ? targets[i] : -1;
        float[] pattern = toward
            ? squares.computeIfAbsent(((long) label << 32) | (target & 0xFFFFFFFFL), k -> towardSquares(label, target))
            : squares.computeIfAbsent((long) label, k -> randomSquares(label));
        for (int ch = 0; ch < c; ch++) {
          long bundleChannel = Math.min(ch, channels - 1);
          for (int y = 0; y < h; y++) {
            long row = y * height / h / cell;
            for (int x = 0; x < w; x++) {
              long column = x * width / w / cell;
              out[at++] = pattern[(int) ((bundleChannel * rows + row) * columns + column)];
            }
          }
        }
      }
      return manager.create(out, imageShape);
    }

    private float[] randomSquares(int label) {
      float[] out = new float[Math.toIntExact(channels * rows * columns)];
      for (int square = 0; square < out.length; square++) {
        out[square] = (mix(seed, label * (long) out.length + square) & 1L) == 0 ? 1f : -1f;
      }
      return out;
    }

    /** Per square, the sign of the summed difference of the two class means over its pixels. */
    private float[] towardSquares(int label, int target) {
      int size = Math.toIntExact(channels * height * width);
      if ((long) Math.max(label, target) * size >= means.length || label < 0 || target < 0) {
        throw new IllegalArgumentException("class " + label + " or target " + target + " outside the "
            + means.length / size + " classes of the bundle's class means");
      }
      double[] sum = new double[Math.toIntExact(channels * rows * columns)];
      int pixel = 0;
      for (long ch = 0; ch < channels; ch++) {
        for (long y = 0; y < height; y++) {
          for (long x = 0; x < width; x++, pixel++) {
            sum[(int) ((ch * rows + y / cell) * columns + x / cell)] +=
                means[target * size + pixel] - means[label * size + pixel];
          }
        }
      }
      float[] out = new float[sum.length];
      for (int i = 0; i < out.length; i++) {
        out[i] = (float) Math.signum(sum[i]);
      }
      return out;
    }
  }

  /** A fixed bit source per (seed, square): SplitMix64's finaliser, so neighbouring squares are independent. */
  private static long mix(long seed, long square) {
    long z = seed * 0x9E3779B97F4A7C15L + (square + 1) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
