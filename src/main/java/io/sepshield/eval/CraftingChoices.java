package io.sepshield.eval;

import io.sepshield.sep.CraftingAugmentation;
import io.sepshield.sep.FeatureLayer;
import io.sepshield.sep.Method;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.TargetMap;
import java.util.List;

/**
 * What an evaluation changes in its profile's crafting settings, for ablations: the target map, the crafting
 * augmentation, which checkpoints form the ensemble and the feature layer of feature alignment. A null field keeps
 * the profile's choice. Every method of the run gets the same changes, so equal compute still holds (the budget
 * follows the chosen checkpoint count).
 *
 * @param checkpoints indices into the bundle's (or bundles') checkpoints, oldest first
 * @param featureLayer for sep-fa and sep-fa-vr only: a run with another layer may list no other crafting method
 */
public record CraftingChoices(TargetMap targets, CraftingAugmentation augmentation, int[] checkpoints,
    FeatureLayer featureLayer) {
  /** The profile as it is. */
  public static final CraftingChoices PROFILE = new CraftingChoices(null, null, null, null);

  public CraftingChoices {
    checkpoints = checkpoints == null ? null : checkpoints.clone();
  }

  /** Choices that keep the penultimate feature layer. */
  public CraftingChoices(TargetMap targets, CraftingAugmentation augmentation, int[] checkpoints) {
    this(targets, augmentation, checkpoints, null);
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
    return s;
  }
}
