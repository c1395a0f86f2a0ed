package io.sepshield.train;

import ai.djl.training.ParameterStore;
import io.sepshield.model.FeatureClassifier;

/** Hooks into a training run: progress per batch, and the model at the end of each epoch. */
public interface TrainingListener {
  /** After each SGD step; {@code done} of {@code total} batches of this epoch. */
  default void onBatch(int epoch, int done, int total, double meanLossSoFar) {}

  /**
   * After each epoch, with the model as it is now (use it in eval mode; do not keep references past the call).
   * This is where checkpoints are taken and test accuracy is measured.
   */
  default void onEpochEnd(EpochStats stats, FeatureClassifier model, ParameterStore parameters) {}
}
