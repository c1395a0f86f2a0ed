package io.sepshield.sep;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Named crafting budgets. {@code paper} is Algorithm 1's defaults; the others trade strength for speed on CPUs.
 * The checkpoint count n is a selection of the bundle's checkpoints, spread evenly from oldest to newest.
 */
public enum Profile {
  /** T=30, n=15, M=15, α=1/255: the paper's setting. About 900 gradient evaluations per image. */
  PAPER("paper", 30, 15, 15, 1f / 255f),
  /** T=10, n=5, M=5, α=1/255: the CPU default; about 100 gradient evaluations per image. */
  CPU("cpu", 10, 5, 5, 1f / 255f),
  /** T=5, n=3, M=3, α=2/255: a quick profile for demos and tests. */
  FAST("fast", 5, 3, 3, 2f / 255f);

  private final String cliName;
  private final int steps;
  private final int checkpoints;
  private final int innerSteps;
  private final float alpha;

  Profile(String cliName, int steps, int checkpoints, int innerSteps, float alpha) {
    this.cliName = cliName;
    this.steps = steps;
    this.checkpoints = checkpoints;
    this.innerSteps = innerSteps;
    this.alpha = alpha;
  }

  public String cliName() {
    return cliName;
  }

  public int steps() {
    return steps;
  }

  public int checkpointCount() {
    return checkpoints;
  }

  public int innerSteps() {
    return innerSteps;
  }

  public float alpha() {
    return alpha;
  }

  /** Settings for this profile against a bundle holding {@code available} checkpoints. */
  public ProtectionSettings settings(Method method, float epsilon, int available, long seed) {
    return new ProtectionSettings(method, epsilon, alpha, steps, innerSteps, evenlySpaced(checkpoints, available),
        TargetMap.halfShift(), seed);
  }

  /**
   * {@code count} indices spread evenly over {@code 0..available-1}, always including the newest; all of them when
   * fewer are available.
   */
  public static int[] evenlySpaced(int count, int available) {
    if (available < 1) {
      throw new IllegalArgumentException("bundle has no checkpoints");
    }
    int n = Math.min(count, available);
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) {
      // Newest last: index (i+1)*available/n - 1 hits available-1 for i = n-1.
      idx[i] = (int) Math.round((double) (i + 1) * available / n) - 1;
    }
    return idx;
  }

  public static Profile parse(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    for (Profile p : values()) {
      if (p.cliName.equals(n)) {
        return p;
      }
    }
    throw new IllegalArgumentException("unknown profile '" + name + "'; one of "
        + Arrays.stream(values()).map(Profile::cliName).collect(Collectors.joining(", ")));
  }
}
