package io.sepshield.eval;

import io.sepshield.sep.CraftingAugmentation;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.TargetMap;

/**
 * What an evaluation changes in its profile's crafting settings, for ablations: the target map, the crafting
 * augmentation and which checkpoints form the ensemble. A null field keeps the profile's choice. Every method of the
 * run gets the same changes, so equal compute still holds (the budget follows the chosen checkpoint count).
 *
 * @param checkpoints indices into the bundle's (or bundles') checkpoints, oldest first
 */
public record CraftingChoices(TargetMap targets, CraftingAugmentation augmentation, int[] checkpoints) {
  /** The profile as it is. */
  public static final CraftingChoices PROFILE = new CraftingChoices(null, null, null);

  public CraftingChoices {
    checkpoints = checkpoints == null ? null : checkpoints.clone();
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
    return s;
  }
}
