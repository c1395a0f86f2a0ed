package io.sepshield.bundle;

import java.util.List;
import java.util.Map;

/**
 * manifest.json of a checkpoint bundle: what was trained, on what, how well, and the SHA-256 of every other file.
 *
 * @param formatVersion bundle layout version; loaders refuse versions they do not know
 * @param bundleId unique id: architecture, creation time and a content hash
 * @param createdAt ISO-8601 instant
 * @param architecture registered architecture name (see {@code Architectures})
 * @param inputShape C, H, W of the images the models take
 * @param mean per-channel normalisation mean (applied inside the model)
 * @param std per-channel normalisation std
 * @param classNames K class names, index = label
 * @param featureDim size of h(x)
 * @param training how the protecting model was trained
 * @param checkpoints the kept checkpoints, oldest first
 * @param sha256 relative file path → SHA-256 hex, for every file of the bundle but the manifest
 * @param inputClassMeans the .npy with the mean training image per class on the input grid (K × C·H·W, in [0, 1]),
 *     which a class pattern toward the target class is drawn from; null in bundles written before it existed
 */
public record BundleManifest(int formatVersion, String bundleId, String createdAt, String architecture,
    List<Integer> inputShape, List<Float> mean, List<Float> std, List<String> classNames, int featureDim,
    Training training, List<CheckpointEntry> checkpoints, Map<String, String> sha256, String inputClassMeans) {

  public static final int FORMAT_VERSION = 1;
  public static final String FILE_NAME = "manifest.json";

  /** One kept checkpoint f_k and its centers c_k. */
  public record CheckpointEntry(int epoch, String params, String centers, double testAccuracy,
      double trainAccuracy, double trainLoss) {}

  /** The training run behind the bundle. */
  public record Training(String dataset, int images, String testDataset, int epochs, int batchSize,
      float learningRate, float momentum, float weightDecay, String schedule, int cropPadding,
      boolean horizontalFlip, long seed, double seconds, String device) {}

  public int numClasses() {
    return classNames.size();
  }

  public long[] inputShapeArray() {
    return inputShape.stream().mapToLong(Integer::longValue).toArray();
  }

  public float[] meanArray() {
    return toArray(mean);
  }

  public float[] stdArray() {
    return toArray(std);
  }

  private static float[] toArray(List<Float> values) {
    float[] out = new float[values.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = values.get(i);
    }
    return out;
  }
}
