package io.sepshield.train;

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
}
