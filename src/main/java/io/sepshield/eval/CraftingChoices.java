package io.sepshield.eval;

import io.sepshield.sep.ClassPattern;
import io.sepshield.sep.CraftingAugmentation;
import io.sepshield.sep.FeatureLayer;
import io.sepshield.sep.Method;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.TargetMap;
import java.util.List;

/**
 * What an evaluation changes in its profile's crafting settings, for ablations: the target map, the crafting
 * augmentation, which checkpoints form the ensemble, the feature layer of feature alignment, the step size and a
 * class pattern beside the crafted perturbation. A null field keeps the profile's choice. Every method of the run
 * gets the same changes, so equal compute still holds (the budget follows the chosen checkpoint count; the step size
 * and the class pattern do not change it).
 *
 * @param checkpoints indices into the bundle's (or bundles') checkpoints, oldest first
 * @param featureLayer for sep-fa and sep-fa-vr only: a run with another layer may list no other crafting method
 * @param alpha step size α in pixel units ([0,1] scale), e.g. to keep T·α ≥ ε at a larger ε: the cpu profile's
 *     T = 10 signed steps of 1/255 cannot reach a radius beyond 10/255
 * @param classPattern a fixed class-wise pattern that crafting keeps (see {@link ClassPattern})
 */
public record CraftingChoices(TargetMap targets, CraftingAugmentation augmentation, int[] checkpoints,
    FeatureLayer featureLayer, Float alpha, ClassPattern classPattern) {
  /** The profile as it is. */
  public static final CraftingChoices PROFILE = new CraftingChoices(null, null, null, null, null, null);

  public CraftingChoices {
    checkpoints = checkpoints == null ? null : checkpoints.clone();
    if (alpha != null && !(alpha > 0)) {
      throw new IllegalArgumentException("the step size must be positive, got " + alpha);
    }
  }

  /** Choices without a class pattern. */
  public CraftingChoices(TargetMap targets, CraftingAugmentation augmentation, int[] checkpoints,
      FeatureLayer featureLayer, Float alpha) {
    this(targets, augmentation, checkpoints, featureLayer, alpha, null);
  }

  /** Choices that keep the profile's step size. */
  public CraftingChoices(TargetMap targets, CraftingAugmentation augmentation, int[] checkpoints,
      FeatureLayer featureLayer) {
    this(targets, augmentation, checkpoints, featureLayer, null);
  }

  /** Choices that keep the penultimate feature layer. */
  public CraftingChoices(TargetMap targets, CraftingAugmentation augmentation, int[] checkpoints) {
    this(targets, augmentation, checkpoints, null, null);
  }

  /** The feature layer these choices align at. */
  public FeatureLayer layer() {
    return featureLayer == null ? FeatureLayer.PENULTIMATE : featureLayer;
  }

  /**
   * Refuses, before anything is crafted, a feature layer other than the penultimate for a run that also crafts with a
   * method without feature alignment.
   */
  public void checkMethods(List<Method> methods) {
    List<String> without = methods.stream().filter(m -> !m.usesFeatureAlignment()).map(Method::cliName).toList();
    if (!layer().isPenultimate() && !without.isEmpty()) {
      throw new IllegalArgumentException("--feature-layer " + layer() + " applies to feature alignment only "
          + "(sep-fa, sep-fa-vr), but the run also crafts " + String.join(", ", without)
          + ": evaluate those in a run with the penultimate layer");
    }
  }

  /** {@code settings} with these choices applied. */
  public ProtectionSettings applyTo(ProtectionSettings settings) {
    ProtectionSettings s = settings;
    if (targets != null) {
      s = s.withTargets(targets);
    }
    if (augmentation != null) {
      s = s.withAugmentation(augmentation);
    }
    if (checkpoints != null) {
      s = s.withCheckpoints(checkpoints);
    }
    if (featureLayer != null) {
      s = s.withFeatureLayer(featureLayer);
    }
    if (alpha != null) {
      s = s.withAlpha(alpha);
    }
    if (classPattern != null) {
      s = s.withClassPattern(classPattern);
    }
    return s;
  }
}
