package io.sepshield.sep;

import ai.djl.ndarray.NDArray;

/**
 * Crafting losses, each summed over the batch of per-image terms so that an image's gradient does not depend on the
 * other images in its batch (and the batch size does not rescale it).
 */
public final class Losses {
  private Losses() {}

  /** Feature alignment: Σ_i mean_d (h(x_i) − c[g(y_i)])², minimised to pull features onto the target center. */
  public static NDArray featureAlignment(NDArray features, NDArray targetCenters) {
    return features.sub(targetCenters).square().mean(new int[] {1}).sum();
  }

  /** Targeted cross-entropy: Σ_i −log softmax(f(x_i))[g(y_i)], minimised to pull predictions toward g(y). */
  public static NDArray targetedCrossEntropy(NDArray logits, NDArray targetOneHot) {
    return logits.logSoftmax(1).mul(targetOneHot).sum().neg();
  }
}
