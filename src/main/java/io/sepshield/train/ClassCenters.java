package io.sepshield.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.ImageTensors;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * c[y] = mean of h(x) over the clean training images of class y, with the model in eval mode and no augmentation:
 * the feature-space targets of SEP-FA.
 */
public final class ClassCenters {
  private ClassCenters() {}

  /** Centers as a (K, featureDim) array in {@code manager}. Every class must have at least one image. */
  public static NDArray compute(FeatureClassifier model, ParameterStore ps, NDManager manager, LabeledImages images,
      int batchSize) {
    return compute(x -> model.features(ps, x, false), model.numClasses(), manager, images, batchSize);
  }

  /**
   * Centers of any per-image features, as a (K, D) array in {@code manager}: {@code features} maps a batch of images
   * in [0,1], NCHW at the images' own size, to (N, D), eval mode being the caller's business. Every class must have at
   * least one image.
   */
  public static NDArray compute(UnaryOperator<NDArray> features, int k, NDManager manager, LabeledImages images,
      int batchSize) {
    int[] allLabels = images.labels();
    int[] counts = new int[k];
    for (int label : allLabels) {
      if (label < 0 || label >= k) {
        throw new IllegalArgumentException("class centers need every training image labelled in 0.." + (k - 1));
      }
      counts[label]++;
    }
    for (int y = 0; y < k; y++) {
      if (counts[y] == 0) {
        throw new IllegalArgumentException("class " + y + " has no training image; its center is undefined");
      }
    }
    NDArray sums = null;
    for (int from = 0; from < images.size(); from += batchSize) {
      int to = Math.min(images.size(), from + batchSize);
      try (NDManager scope = manager.newSubManager()) {
        NDArray batchFeatures = features.apply(ImageTensors.batch(scope, images, from, to));
        if (sums == null) { // D is known from the first batch
          sums = manager.zeros(new Shape(k, batchFeatures.getShape().get(1)));
        }
        int[] labels = Arrays.copyOfRange(allLabels, from, to);
        NDArray oneHot = ImageTensors.labels(scope, labels).oneHot(k).toType(DataType.FLOAT32, false);
        // Σ over the batch of one-hot(y)ᵀ h(x): per-class feature sums in one matmul.
        sums.addi(oneHot.transpose().matMul(batchFeatures));
      }
    }
    float[] inverse = new float[k];
    for (int y = 0; y < k; y++) {
      inverse[y] = 1f / counts[y];
    }
    return sums.mul(manager.create(inverse).reshape(k, 1));
  }
}
