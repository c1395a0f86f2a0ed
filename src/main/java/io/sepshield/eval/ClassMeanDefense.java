package io.sepshield.eval;

import io.sepshield.data.LabeledImages;
import java.util.Locale;

/**
 * The averaging attack (docs/results.md, seventh and eighth ablations), as an appropriator's defense: the
 * appropriator holds clean images of the same classes from elsewhere (the reference) and knows, or guesses, a square
 * size C. Per class, channel and C×C square, the mean of the training images minus the mean of the reference images
 * estimates the shift the protection adds to that class there (a class pattern, and whatever class-consistent part
 * a crafted perturbation has); it is taken off every training image of that class, and the result rounded and
 * clipped to [0, 255]. C = 1 works pixel by pixel, C at least the image size over whole channels.
 *
 * <p>The estimate carries the sampling error of the training set's class means, and taking it off imprints that
 * error on every image of the class: a class-wise pattern of its own, which appropriators learn (resnet8 on clean
 * images under {@code class-mean:7} at 400 images per class: 86.7 → 57.6 %, eighth ablations). With a threshold Z > 0
 * each square's shift is soft-thresholded at Z standard errors of the difference of the two means (sign(d) ·
 * max(0, |d| − Z·se)), so shifts the data cannot tell from noise are left alone.
 */
public final class ClassMeanDefense implements Defense {
  private final int cell;
  private final double threshold;
  private final LabeledImages reference;
  /** The squares of the reference's shape, and the reference's statistics over them: the same for every set. */
  private final Grid grid;
  private final Stats referenceStats;

  /**
   * @param cell the square size C in pixels, at least 1
   * @param threshold Z, in standard errors; 0 takes the plain difference of the means off
   * @param reference clean images of the training images' classes, disjoint from the training and test images
   */
  public ClassMeanDefense(int cell, double threshold, LabeledImages reference) {
    if (cell < 1) {
      throw new IllegalArgumentException("class-mean square size must be at least 1, got " + cell);
    }
    if (!(threshold >= 0) || Double.isInfinite(threshold)) {
      throw new IllegalArgumentException("class-mean threshold must be 0 or positive, got " + threshold);
    }
    if (reference == null || reference.size() == 0) {
      throw new IllegalArgumentException("class-mean needs clean reference images");
    }
    this.cell = cell;
    this.threshold = threshold;
    this.reference = reference;
    this.grid = new Grid(reference.channels(), reference.height(), reference.width(), cell);
    this.referenceStats = grid.stats(reference);
  }

  /** The plain attack: the whole difference of the means is taken off. */
  public ClassMeanDefense(int cell, LabeledImages reference) {
    this(cell, 0, reference);
  }

  @Override
  public String name() {
    return "class-mean";
  }

  /** "C", or "C:Z" with a threshold. */
  @Override
  public String setting() {
    return threshold == 0 ? Integer.toString(cell) : cell + ":" + EvaluationRunner.fmt(threshold);
  }

  public LabeledImages reference() {
    return reference;
  }

  @Override
  public LabeledImages preprocess(LabeledImages images) {
    double[][] shifts = estimate(images).shifts();
    byte[] in = images.rawPixels();
    byte[] out = new byte[in.length];
    int size = images.imageBytes();
    for (int i = 0; i < images.size(); i++) {
      int k = images.label(i);
      if (k < 0) {
        // An unlabelled image has no class to take a shift from: it stays as it is.
        System.arraycopy(in, i * size, out, i * size, size);
        continue;
      }
      for (int p = 0; p < size; p++) {
        double v = (in[i * size + p] & 0xff) - shifts[k][grid.square[p]];
        out[i * size + p] = (byte) Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    return images.withPixels(out);
  }

  /** The mean and largest shift taken off, over classes, channels and squares, and before the threshold. */
  @Override
  public String describeOn(LabeledImages images) {
    Estimate estimate = estimate(images);
    double[][] shifts = estimate.shifts();
    double sum = 0;
    double raw = 0;
    double max = 0;
    int count = 0;
    int kept = 0;
    for (int k = 0; k < shifts.length; k++) {
      if (shifts[k] != null) {
        for (int s = 0; s < shifts[k].length; s++) {
          sum += Math.abs(shifts[k][s]);
          raw += Math.abs(estimate.differences()[k][s]);
          max = Math.max(max, Math.abs(shifts[k][s]));
          kept += shifts[k][s] != 0 ? 1 : 0;
          count++;
        }
      }
    }
    String taken = String.format(Locale.ROOT, "class-mean:%s against %d reference images: shift taken off per "
        + "class and square mean %.2f/255, max %.2f/255", setting(), reference.size(), sum / Math.max(1, count), max);
    return threshold == 0 ? taken : taken + String.format(Locale.ROOT, " (%.1f %% of squares beyond %s standard "
        + "errors; difference of the means before the threshold: mean %.2f/255)", 100.0 * kept / Math.max(1, count),
        EvaluationRunner.fmt(threshold), raw / Math.max(1, count));
  }

  /**
   * Per class present in {@code images} and square, the difference of the means and the shift taken off (the
   * difference itself, or soft-thresholded); null rows for an absent class.
   */
  private record Estimate(double[][] differences, double[][] shifts) {}

  private Estimate estimate(LabeledImages images) {
    if (images.channels() != reference.channels() || images.height() != reference.height()
        || images.width() != reference.width() || !images.classNames().equals(reference.classNames())) {
      throw new IllegalArgumentException("class-mean reference images " + reference + " differ in shape or classes "
          + "from the training images " + images);
    }
    Stats a = grid.stats(images);
    Stats b = referenceStats;
    double[][] differences = new double[a.count.length][];
    double[][] shifts = new double[a.count.length][];
    for (int k = 0; k < shifts.length; k++) {
      if (a.count[k] == 0) {
        continue;
      }
      if (b.count[k] == 0) {
        throw new IllegalArgumentException("class-mean reference images hold no image of class '"
            + images.classNames().get(k) + "'");
      }
      differences[k] = new double[grid.squares()];
      shifts[k] = new double[grid.squares()];
      for (int s = 0; s < shifts[k].length; s++) {
        double d = a.mean(k, s) - b.mean(k, s);
        differences[k][s] = d;
        double se = Math.sqrt(a.variance(k, s) / a.count[k] + b.variance(k, s) / b.count[k]);
        shifts[k][s] = threshold == 0 ? d : Math.signum(d) * Math.max(0, Math.abs(d) - threshold * se);
      }
    }
    return new Estimate(differences, shifts);
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "class-mean:%s (reference %d images)", setting(), reference.size());
  }

  /** Per class and square: how many images, and the sum and sum of squares of their square means. */
  private record Stats(int[] count, double[][] sum, double[][] sumOfSquares) {
    double mean(int k, int s) {
      return sum[k][s] / count[k];
    }

    /** The sample variance of the images' square means (0 for fewer than two images). */
    double variance(int k, int s) {
      if (count[k] < 2) {
        return 0;
      }
      double m = mean(k, s);
      return Math.max(0, (sumOfSquares[k][s] - count[k] * m * m) / (count[k] - 1));
    }
  }

  /** Each CHW position's square: channel-major, then square row and column, squares clipped at the border. */
  private static final class Grid {
    final int[] square;
    final int[] pixelsPerSquare;

    Grid(int channels, int height, int width, int cell) {
      int rows = (height + cell - 1) / cell;
      int cols = (width + cell - 1) / cell;
      square = new int[channels * height * width];
      pixelsPerSquare = new int[channels * rows * cols];
      for (int c = 0; c < channels; c++) {
        for (int y = 0; y < height; y++) {
          for (int x = 0; x < width; x++) {
            int s = (c * rows + y / cell) * cols + x / cell;
            square[(c * height + y) * width + x] = s;
            pixelsPerSquare[s]++;
          }
        }
      }
    }

    int squares() {
      return pixelsPerSquare.length;
    }

    /** Per class, the images' square means summed and squared-and-summed. */
    Stats stats(LabeledImages images) {
      int classes = images.numClasses();
      int[] count = new int[classes];
      double[][] sum = new double[classes][squares()];
      double[][] squares = new double[classes][squares()];
      byte[] px = images.rawPixels();
      int size = images.imageBytes();
      double[] own = new double[squares()];
      for (int i = 0; i < images.size(); i++) {
        int k = images.label(i);
        if (k < 0 || k >= classes) {
          continue;
        }
        java.util.Arrays.fill(own, 0);
        for (int p = 0; p < size; p++) {
          own[square[p]] += px[i * size + p] & 0xff;
        }
        count[k]++;
        for (int s = 0; s < own.length; s++) {
          double v = own[s] / pixelsPerSquare[s];
          sum[k][s] += v;
          squares[k][s] += v * v;
        }
      }
      return new Stats(count, sum, squares);
    }
  }
}
