package io.sepshield.sep;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * g(y): the class each image is pushed toward. The built-in maps are records with a stable name ({@code toString}
 * is the spec {@link #parse} reads) and value equality, so settings that hold them can be compared and recorded
 * (crafted-set reuse keys on the settings' string). A map may depend on the protecting model ({@link Closest}):
 * {@link #resolve} turns it into the fixed table crafting uses with given checkpoints.
 */
@FunctionalInterface
public interface TargetMap {
  int target(int label, int numClasses);

  /** The paper's default g(y) = (y + K/2) mod K: a fixed permutation with no fixed points for K ≥ 2. */
  static TargetMap halfShift() {
    return new HalfShift();
  }

  /** g(y) = (y + shift) mod K. */
  static TargetMap shift(int shift) {
    return new Shift(shift);
  }

  /** The derangement that pairs each class with the closest classes in feature space; see {@link Closest}. */
  static TargetMap closest() {
    return new Closest();
  }

  /**
   * The map crafting uses with these checkpoints (the members of an ensemble): a fixed map is itself; a map that
   * depends on the protecting model becomes the table it picks from their class centers.
   */
  default TargetMap resolve(List<Checkpoint> members) {
    return this;
  }

  /**
   * Parses "half", "shift:N", "closest" or a table "0>5,1>3,..." (class > its target, every class once: the form a
   * table prints, so a map resolved or measured once can be given again).
   */
  static TargetMap parse(String spec) {
    String s = spec.trim().toLowerCase();
    if (s.contains(">")) {
      return Table.parse(s);
    }
    if (s.equals("half")) {
      return halfShift();
    }
    if (s.equals("closest")) {
      return closest();
    }
    if (s.startsWith("shift:")) {
      return shift(Integer.parseInt(s.substring("shift:".length())));
    }
    throw new IllegalArgumentException("unknown target map '" + spec + "' (half, shift:N, closest, or a table "
        + "0>5,1>3,...)");
  }

  /** (y + K/2) mod K. */
  record HalfShift() implements TargetMap {
    @Override
    public int target(int label, int numClasses) {
      return (label + numClasses / 2) % numClasses;
    }

    @Override
    public String toString() {
      return "half";
    }
  }

  /** (y + shift) mod K. */
  record Shift(int shift) implements TargetMap {
    @Override
    public int target(int label, int numClasses) {
      return Math.floorMod(label + shift, numClasses);
    }

    @Override
    public String toString() {
      return "shift:" + shift;
    }
  }

  /**
   * g = the derangement (a permutation without fixed points) that minimises Σ_y d(y, g(y)), where d is the squared
   * distance between class centers in h(x), the feature-alignment loss's own metric, scaled per checkpoint by its
   * mean over all class pairs (so that every member counts alike whatever its feature scale) and summed over the
   * members. Not the paper's map (its g is the fixed half shift): an ablation of issue 13's "target map". Why it
   * might pay: an image pushed toward a class it already resembles (a T-shirt toward shirts) needs less of the
   * budget to reach the target's center, and where two classes' silhouettes are hard to tell apart the perturbation
   * is the easier cue for an appropriator to learn. A permutation, not each class's single nearest class: two
   * classes pushed toward one target would carry the same features, and the perturbation would no longer tell them
   * apart.
   */
  record Closest() implements TargetMap {
    @Override
    public int target(int label, int numClasses) {
      throw new IllegalStateException("the closest target map depends on the class centers: resolve it against the "
          + "checkpoints first");
    }

    @Override
    public TargetMap resolve(List<Checkpoint> members) {
      int k = members.isEmpty() ? 0 : (int) members.get(0).centers().getShape().get(0);
      return new Table(closestDerangement(scaledCenterDistances(
          members.stream().map(m -> m.centers().toFloatArray()).toList(), k)));
    }

    @Override
    public String toString() {
      return "closest";
    }

    /**
     * Σ_k d_k(i, j) / mean_{i≠j} d_k, d_k(i, j) = mean_d (c_k[i] − c_k[j])², over the members' centers c_k, each
     * (K, D) row-major with D = length / K.
     */
    static double[][] scaledCenterDistances(List<float[]> centers, int k) {
      if (centers.isEmpty()) {
        throw new IllegalArgumentException("no checkpoints to pick the closest target map from");
      }
      double[][] sum = new double[k][k];
      for (float[] c : centers) {
        int dim = c.length / k;
        double[][] d = new double[k][k];
        double offDiagonal = 0;
        for (int i = 0; i < k; i++) {
          for (int j = 0; j < k; j++) {
            double s = 0;
            for (int f = 0; f < dim; f++) {
              double diff = c[i * dim + f] - c[j * dim + f];
              s += diff * diff;
            }
            d[i][j] = s / dim;
            offDiagonal += i == j ? 0 : d[i][j];
          }
        }
        double scale = offDiagonal > 0 ? offDiagonal / (k * (k - 1.0)) : 1;
        for (int i = 0; i < k; i++) {
          for (int j = 0; j < k; j++) {
            sum[i][j] += d[i][j] / scale;
          }
        }
      }
      return sum;
    }

    /** The permutation without fixed points of least total cost: an assignment problem, solved exactly. */
    static int[] closestDerangement(double[][] cost) {
      int k = cost.length;
      if (k < 2) {
        throw new IllegalArgumentException("a target map needs at least 2 classes, got " + k);
      }
      double max = Arrays.stream(cost).flatMapToDouble(Arrays::stream).max().orElse(0);
      double forbidden = 1 + (max + 1) * k; // more than any derangement costs in total, so never chosen
      double[][] a = new double[k][];
      for (int i = 0; i < k; i++) {
        a[i] = cost[i].clone();
        a[i][i] = forbidden;
      }
      return minimumCostAssignment(a);
    }

    /**
     * The Hungarian method (Kuhn–Munkres, O(K³) with potentials): row i is assigned column result[i]. Written here
     * because it is the only assignment solver the project needs and no dependency on the classpath has one.
     */
    static int[] minimumCostAssignment(double[][] a) {
      int n = a.length;
      double[] u = new double[n + 1];
      double[] v = new double[n + 1];
      int[] rowOfColumn = new int[n + 1]; // 1-based; column 0 is the virtual start
      int[] way = new int[n + 1];
      for (int i = 1; i <= n; i++) {
        rowOfColumn[0] = i;
        int j0 = 0;
        double[] minv = new double[n + 1];
        Arrays.fill(minv, Double.POSITIVE_INFINITY);
        boolean[] used = new boolean[n + 1];
        do {
          used[j0] = true;
          int i0 = rowOfColumn[j0];
          int j1 = 0;
          double delta = Double.POSITIVE_INFINITY;
          for (int j = 1; j <= n; j++) {
            if (!used[j]) {
              double reduced = a[i0 - 1][j - 1] - u[i0] - v[j];
              if (reduced < minv[j]) {
                minv[j] = reduced;
                way[j] = j0;
              }
              if (minv[j] < delta) {
                delta = minv[j];
                j1 = j;
              }
            }
          }
          for (int j = 0; j <= n; j++) {
            if (used[j]) {
              u[rowOfColumn[j]] += delta;
              v[j] -= delta;
            } else {
              minv[j] -= delta;
            }
          }
          j0 = j1;
        } while (rowOfColumn[j0] != 0);
        do {
          int j1 = way[j0];
          rowOfColumn[j0] = rowOfColumn[j1];
          j0 = j1;
        } while (j0 != 0);
      }
      int[] columnOfRow = new int[n];
      for (int j = 1; j <= n; j++) {
        columnOfRow[rowOfColumn[j] - 1] = j - 1;
      }
      return columnOfRow;
    }
  }

  /** A fixed table g(y) = targets[y], as {@link Closest} resolves to; printed as "0>6,1>3,...". */
  record Table(int[] targets) implements TargetMap {
    public Table {
      targets = targets.clone();
    }

    /**
     * "0>5,1>3,...": every class 0..K−1 exactly once, each sent to another class (a class left in place is not
     * protected). Several classes may share a target, which no built-in map does: it funnels them toward one class
     * (docs/results.md, thirteenth ablations), an ablation of where the appropriators' clean test images go.
     */
    static Table parse(String spec) {
      String[] pairs = spec.split(",");
      int[] targets = new int[pairs.length];
      Arrays.fill(targets, -1);
      for (String pair : pairs) {
        String[] yg = pair.trim().split(">");
        int y;
        int g;
        try {
          y = Integer.parseInt(yg[0].trim());
          g = yg.length == 2 ? Integer.parseInt(yg[1].trim()) : -1;
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("target table entry '" + pair + "' is not class>target");
        }
        if (y < 0 || y >= pairs.length || g < 0 || g >= pairs.length) {
          throw new IllegalArgumentException("target table entry '" + pair + "': classes and targets of a "
              + pairs.length + "-class table are 0.." + (pairs.length - 1));
        }
        if (targets[y] >= 0) {
          throw new IllegalArgumentException("target table gives class " + y + " twice");
        }
        if (g == y) {
          throw new IllegalArgumentException("target table leaves class " + y + " in place");
        }
        targets[y] = g;
      }
      return new Table(targets);
    }

    @Override
    public int target(int label, int numClasses) {
      if (numClasses != targets.length) {
        throw new IllegalArgumentException("target table for " + targets.length + " classes used with " + numClasses);
      }
      return targets[label];
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Table t && Arrays.equals(targets, t.targets);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(targets);
    }

    @Override
    public String toString() {
      return IntStream.range(0, targets.length).mapToObj(y -> y + ">" + targets[y])
          .collect(Collectors.joining(","));
    }
  }
}
