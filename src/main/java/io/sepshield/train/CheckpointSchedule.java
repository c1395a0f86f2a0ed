package io.sepshield.train;

import java.util.Arrays;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Which epochs become checkpoints: n equidistant epochs of an N-epoch run, ending with the last. Every epoch is
 * eligible (the authors' code kept only epochs where test accuracy improved, which bunches checkpoints early).
 */
public final class CheckpointSchedule {
  private CheckpointSchedule() {}

  /** Epochs round(k·N/n) for k = 1..n: with N=120, n=15 that is 8, 16, ..., 120. */
  public static Set<Integer> equidistant(int epochs, int checkpoints) {
    if (checkpoints < 1 || checkpoints > epochs) {
      throw new IllegalArgumentException("need 1 <= checkpoints (" + checkpoints + ") <= epochs (" + epochs + ")");
    }
    Set<Integer> out = new TreeSet<>();
    for (int k = 1; k <= checkpoints; k++) {
      out.add((int) Math.round((double) k * epochs / checkpoints));
    }
    return out;
  }

  /**
   * A warning when {@code epochs} is not a multiple of {@code checkpoints}: the epochs round(k·N/n) are then not
   * equally spaced (12 epochs, 5 checkpoints: 2, 5, 7, 10, 12).
   */
  public static Optional<String> unevenEpochs(int epochs, int checkpoints) {
    if (epochs % checkpoints == 0) {
      return Optional.empty();
    }
    return Optional.of("warning: " + checkpoints + " checkpoints over " + epochs + " epochs fall on epochs "
        + equidistant(epochs, checkpoints) + ", not equally spaced; choose --epochs a multiple of --checkpoints");
  }

  /**
   * A warning when a crafting profile that uses {@code wanted} checkpoints picks them unevenly from a bundle of
   * {@code available} equidistant ones: evenly spaced indices exist only when {@code wanted} divides
   * {@code available} (5 of 6 gives indices 0, 1, 3, 4, 5: epochs 2, 4, 8, 10, 12 of a 12-epoch bundle).
   *
   * @param selected the indices the profile picks, oldest first
   */
  public static Optional<String> unevenSelection(int wanted, int available, int[] selected) {
    if (wanted >= available || available % wanted == 0) {
      return Optional.empty();
    }
    return Optional.of("warning: n = " + wanted + " of the bundle's " + available + " checkpoints are not equally "
        + "spaced (indices " + Arrays.toString(selected) + "); train the bundle with --checkpoints a multiple of "
        + wanted + " (and --epochs a multiple of that)");
  }
}
