package io.sepshield.sep;

import io.sepshield.data.LabeledImages;

/**
 * The outcome of protecting a batch.
 *
 * @param images the protected 8-bit images, with the labels that were used for crafting
 * @param labelPredicted per image: true when the label was a pseudo-label from the newest checkpoint
 * @param targets per image: g(y), the class it was pushed toward
 * @param maxAbsDelta per image: max |protected − original| in 8-bit levels, verified ≤ ⌊255 ε⌋
 * @param meanAbsDelta per image: mean |protected − original| in 8-bit levels
 */
public record ProtectedBatch(LabeledImages images, boolean[] labelPredicted, int[] targets, int[] maxAbsDelta,
    double[] meanAbsDelta) {

  public int size() {
    return targets.length;
  }
}
