package io.sepshield.sep;

import java.util.Locale;

/**
 * Where feature alignment (SEP-FA, SEP-FA-VR) measures h(x): the penultimate features, as in the paper, or the output
 * of the first {@code children} children of the model's feature block, averaged over H and W (see
 * {@link io.sepshield.model.FeatureClassifier#features(ai.djl.training.ParameterStore, ai.djl.ndarray.NDArray,
 * boolean, int)}). An ablation knob: intermediate layers are reported to transfer better across architectures than
 * the penultimate one (Inkawhich et al., "Feature Space Perturbations Yield More Transferable Adversarial Examples",
 * CVPR 2019).
 *
 * @param children L, the number of children of the feature block; 0 for the penultimate features
 */
public record FeatureLayer(int children) {
  /** What {@code --feature-layer} takes, for its help text. */
  public static final String USAGE = "Feature layer of feature alignment (sep-fa, sep-fa-vr only): penultimate "
      + "(h(x), the paper's) or L, the output of the first L children of the protecting model's feature block "
      + "averaged over H and W, aligned to class centers at that layer computed from the clean images being "
      + "protected";

  /** h(x) itself, aligned to the bundle's own centers. */
  public static final FeatureLayer PENULTIMATE = new FeatureLayer(0);

  public FeatureLayer {
    if (children < 0) {
      throw new IllegalArgumentException("a feature layer counts children from 1, got " + children);
    }
  }

  public boolean isPenultimate() {
    return children == 0;
  }

  /** Parses "penultimate" or a count L >= 1. */
  public static FeatureLayer parse(String spec) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    if (s.equals("penultimate")) {
      return PENULTIMATE;
    }
    try {
      int l = Integer.parseInt(s);
      if (l >= 1) {
        return new FeatureLayer(l);
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException("unknown feature layer '" + spec + "': 'penultimate' or a count L >= 1 of "
        + "the feature block's children");
  }

  /** The spec {@link #parse} reads back: part of the settings string that crafted-set reuse keys on. */
  @Override
  public String toString() {
    return isPenultimate() ? "penultimate" : Integer.toString(children);
  }
}
