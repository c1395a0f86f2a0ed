package io.sepshield.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.ImageTensors;

/** Predictions, accuracy and confusion matrices of a classifier in eval mode. */
public final class ClassifierMetrics {
  private ClassifierMetrics() {}

  /** Arg-max predictions for every image, computed in batches. */
  public static int[] predict(FeatureClassifier model, ParameterStore ps, NDManager manager, LabeledImages images,
      int batchSize) {
    int[] out = new int[images.size()];
    for (int from = 0; from < images.size(); from += batchSize) {
      int to = Math.min(images.size(), from + batchSize);
      try (NDManager scope = manager.newSubManager()) {
        NDArray logits = model.logits(ps, ImageTensors.batch(scope, images, from, to), false);
        long[] arg = logits.argMax(1).toType(DataType.INT64, false).toLongArray();
        for (int i = 0; i < arg.length; i++) {
          out[from + i] = (int) arg[i];
        }
      }
    }
    return out;
  }

  /** Fraction of images whose prediction equals their label. */
  public static double accuracy(int[] predictions, int[] labels) {
    if (predictions.length != labels.length || labels.length == 0) {
      throw new IllegalArgumentException("need equally many predictions and labels, at least one");
    }
    int correct = 0;
    for (int i = 0; i < labels.length; i++) {
      if (predictions[i] == labels[i]) {
        correct++;
      }
    }
    return (double) correct / labels.length;
  }

  public static double accuracy(FeatureClassifier model, ParameterStore ps, NDManager manager, LabeledImages images,
      int batchSize) {
    return accuracy(predict(model, ps, manager, images, batchSize), images.labels());
  }

  /** counts[true][predicted]. */
  public static int[][] confusionMatrix(int[] predictions, int[] labels, int numClasses) {
    int[][] m = new int[numClasses][numClasses];
    for (int i = 0; i < labels.length; i++) {
      m[labels[i]][predictions[i]]++;
    }
    return m;
  }
}
