package io.sepshield.train;

import java.util.Random;

/**
 * An optional per-batch change to training data after the standard crop/flip augmentation: cutout, mixup. Runs on
 * 8-bit CHW pixels like {@link Augmentation}; may return soft labels, which switch the loss to soft cross-entropy.
 */
@FunctionalInterface
public interface BatchTransform {
  /**
   * A transformed batch.
   *
   * @param pixels n·c·h·w bytes
   * @param softLabels null for the hard labels of the batch, else n·K class probabilities, row by row
   */
  record Batch(byte[] pixels, float[] softLabels) {}

  /** {@code pixels} is a fresh buffer this transform may modify in place. */
  Batch apply(byte[] pixels, int[] labels, int n, int c, int h, int w, int numClasses, Random random);
}
