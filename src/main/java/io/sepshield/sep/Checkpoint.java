package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import io.sepshield.model.FeatureClassifier;

/**
 * One member f_k of the self-ensemble, resident on the device: the model (eval mode, parameters frozen) and its
 * class centers c_k, shape (K, featureDim), computed with this very model.
 *
 * @param epoch the training epoch after which this checkpoint was taken
 */
public record Checkpoint(int epoch, FeatureClassifier model, NDArray centers) {
  public Checkpoint {
    long k = model.numClasses();
    if (centers.getShape().dimension() != 2 || centers.getShape().get(0) != k
        || centers.getShape().get(1) != model.featureDim()) {
      throw new IllegalArgumentException("centers of epoch " + epoch + " have shape " + centers.getShape()
          + ", expected (" + k + ", " + model.featureDim() + ")");
    }
  }
}
