package io.sepshield.sep;

import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything that decides a protection besides the checkpoints themselves.
 *
 * @param method which protection to craft
 * @param epsilon L-inf radius in pixel units ([0,1] scale; 8/255 is the paper's CIFAR setting)
 * @param alpha step size per signed step in pixel units
 * @param steps T, the outer iterations
 * @param innerSteps M, the variance-reduced virtual steps per outer iteration (SEP-FA-VR only)
 * @param checkpoints which checkpoints of the bundle to ensemble (indices, oldest first); empty = all
 * @param targets g(y)
 * @param seed seeds the random checkpoint picks of the VR loop and the uniform noise
 * @param preprocessing how uploads of another size or colour are mapped onto the bundle's input (P, see
 *     {@link InputAdapter}); irrelevant for images of the bundle's own shape
 * @param augmentation random transformations of the model input in every crafting gradient (expectation over
 *     transformations); {@link CraftingAugmentation#NONE} is Algorithm 1 as written
 * @param featureLayer where feature alignment measures the features; {@link FeatureLayer#PENULTIMATE} is the paper's
 *     h(x). Feature-alignment methods only
 * @param classPattern a fixed class-wise pattern that crafting keeps, within the same ε (beyond the paper);
 *     {@link ClassPattern#NONE} is Algorithm 1 as written
 */
public record ProtectionSettings(Method method, float epsilon, float alpha, int steps, int innerSteps,
    int[] checkpoints, TargetMap targets, long seed, Preprocessing preprocessing, CraftingAugmentation augmentation,
    FeatureLayer featureLayer, ClassPattern classPattern) {

  /** Settings without a class pattern. */
  public ProtectionSettings(Method method, float epsilon, float alpha, int steps, int innerSteps, int[] checkpoints,
      TargetMap targets, long seed, Preprocessing preprocessing, CraftingAugmentation augmentation,
      FeatureLayer featureLayer) {
    this(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed, preprocessing, augmentation,
        featureLayer, ClassPattern.NONE);
  }

  /** Settings that align the penultimate features (or use no features at all). */
  public ProtectionSettings(Method method, float epsilon, float alpha, int steps, int innerSteps, int[] checkpoints,
      TargetMap targets, long seed, Preprocessing preprocessing, CraftingAugmentation augmentation) {
    this(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed, preprocessing, augmentation,
        FeatureLayer.PENULTIMATE);
  }

  /** Settings without crafting augmentation. */
  public ProtectionSettings(Method method, float epsilon, float alpha, int steps, int innerSteps, int[] checkpoints,
      TargetMap targets, long seed, Preprocessing preprocessing) {
    this(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed, preprocessing,
        CraftingAugmentation.NONE);
  }

  /** Settings with the default {@link Preprocessing} (stretch, area). */
  public ProtectionSettings(Method method, float epsilon, float alpha, int steps, int innerSteps, int[] checkpoints,
      TargetMap targets, long seed) {
    this(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed, Preprocessing.DEFAULT);
  }

  public ProtectionSettings {
    if (!(epsilon > 0 && epsilon <= 1)) {
      throw new IllegalArgumentException("epsilon must be in (0, 1] pixel units, got " + epsilon);
    }
    if (!(alpha > 0)) {
      throw new IllegalArgumentException("alpha must be positive, got " + alpha);
    }
    if (steps < 1) {
      throw new IllegalArgumentException("steps (T) must be at least 1, got " + steps);
    }
    if (method == Method.SEP_FA_VR && innerSteps < 1) {
      throw new IllegalArgumentException("SEP-FA-VR needs innerSteps (M) >= 1, got " + innerSteps);
    }
    checkpoints = checkpoints == null ? new int[0] : checkpoints.clone();
    targets = targets == null ? TargetMap.halfShift() : targets;
    preprocessing = preprocessing == null ? Preprocessing.DEFAULT : preprocessing;
    augmentation = augmentation == null ? CraftingAugmentation.NONE : augmentation;
    featureLayer = featureLayer == null ? FeatureLayer.PENULTIMATE : featureLayer;
    classPattern = classPattern == null ? ClassPattern.NONE : classPattern;
    if (!featureLayer.isPenultimate() && !method.usesFeatureAlignment()) {
      throw new IllegalArgumentException("feature layer " + featureLayer + " applies to feature alignment only "
          + "(sep-fa, sep-fa-vr); " + method + " has no feature target: use the penultimate layer");
    }
  }

  /** ε in 1/255 levels, the unit people quote. */
  public float epsilon255() {
    return epsilon * 255f;
  }

  /** Forward+backward passes per image this protection costs: the unit of "equal crafting compute". */
  public long gradientEvaluationsPerImage(int ensembleSize) {
    return switch (method) {
      case UNIFORM_NOISE -> 0;
      case BASELINE -> steps;
      case SEP, SEP_FA -> (long) steps * ensembleSize;
      case SEP_FA_VR -> (long) steps * (ensembleSize + innerSteps);
    };
  }

  public ProtectionSettings withMethod(Method m) {
    return new ProtectionSettings(m, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed, preprocessing,
        augmentation, featureLayer, classPattern);
  }

  public ProtectionSettings withEpsilon(float eps) {
    return new ProtectionSettings(method, eps, alpha, steps, innerSteps, checkpoints, targets, seed, preprocessing,
        augmentation, featureLayer, classPattern);
  }

  public ProtectionSettings withAlpha(float a) {
    return new ProtectionSettings(method, epsilon, a, steps, innerSteps, checkpoints, targets, seed, preprocessing,
        augmentation, featureLayer, classPattern);
  }

  public ProtectionSettings withSteps(int t) {
    return new ProtectionSettings(method, epsilon, alpha, t, innerSteps, checkpoints, targets, seed, preprocessing,
        augmentation, featureLayer, classPattern);
  }

  /** T and M together: the budget knobs of Algorithm 1. */
  public ProtectionSettings withSteps(int t, int m) {
    return new ProtectionSettings(method, epsilon, alpha, t, m, checkpoints, targets, seed, preprocessing,
        augmentation, featureLayer, classPattern);
  }

  public ProtectionSettings withCheckpoints(int[] chosen) {
    return new ProtectionSettings(method, epsilon, alpha, steps, innerSteps, chosen, targets, seed, preprocessing,
        augmentation, featureLayer, classPattern);
  }

  public ProtectionSettings withTargets(TargetMap g) {
    return new ProtectionSettings(method, epsilon, alpha, steps, innerSteps, checkpoints, g, seed, preprocessing,
        augmentation, featureLayer, classPattern);
  }

  public ProtectionSettings withSeed(long s) {
    return new ProtectionSettings(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, s, preprocessing,
        augmentation, featureLayer, classPattern);
  }

  public ProtectionSettings withPreprocessing(Preprocessing p) {
    return new ProtectionSettings(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed, p,
        augmentation, featureLayer, classPattern);
  }

  public ProtectionSettings withAugmentation(CraftingAugmentation a) {
    return new ProtectionSettings(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed,
        preprocessing, a, featureLayer, classPattern);
  }

  public ProtectionSettings withFeatureLayer(FeatureLayer layer) {
    return new ProtectionSettings(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed,
        preprocessing, augmentation, layer, classPattern);
  }

  public ProtectionSettings withClassPattern(ClassPattern pattern) {
    return new ProtectionSettings(method, epsilon, alpha, steps, innerSteps, checkpoints, targets, seed,
        preprocessing, augmentation, featureLayer, pattern);
  }

  /** The radius of the ball Algorithm 1 crafts in: ε, or what a class pattern leaves of it around its start. */
  public float craftingRadius() {
    return classPattern.craftingRadius(epsilon);
  }

  /**
   * A note when the signed steps cannot carry a pixel to the radius: the image moves at most α per step (SEP-FA-VR:
   * per outer step; its inner steps move only the look-ahead x̂), so T·α < ε leaves part of the budget unused.
   */
  public Optional<String> shortReach() {
    float radius = craftingRadius();
    if (method == Method.UNIFORM_NOISE || (long) steps * alpha >= radius * (1 - 1e-6f)) {
      return Optional.empty();
    }
    return Optional.of(String.format("note: %d steps of α = %.2f/255 reach at most %.2f/255 of %s = %.1f/255 "
        + "(raise α or T to use the whole radius)", steps, alpha * 255f, steps * alpha * 255f,
        classPattern.isNone() ? "ε" : "the radius left beside the class pattern", radius * 255f));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ProtectionSettings p && method == p.method && epsilon == p.epsilon && alpha == p.alpha
        && steps == p.steps && innerSteps == p.innerSteps && Arrays.equals(checkpoints, p.checkpoints)
        && targets.equals(p.targets) && seed == p.seed && preprocessing.equals(p.preprocessing)
        && augmentation.equals(p.augmentation) && featureLayer.equals(p.featureLayer)
        && classPattern.equals(p.classPattern);
  }

  @Override
  public int hashCode() {
    return Objects.hash(method, epsilon, alpha, steps, innerSteps, Arrays.hashCode(checkpoints), targets, seed,
        preprocessing, augmentation, featureLayer, classPattern);
  }

  /**
   * Every input of the protection, the target map included: crafted-set reuse ({@code evaluate}) compares this
   * string, so a setting missing here would let a set crafted under other settings be taken for this one. The
   * preprocessing, the augmentation, the feature layer and the class pattern are named only when they are not the
   * default, so that settings strings recorded before they existed still match.
   */
  @Override
  public String toString() {
    return describeCore() + (preprocessing.isDefault() ? "" : " " + preprocessing)
        + (augmentation.isNone() ? "" : " augment=" + augmentation)
        + (featureLayer.isPenultimate() ? "" : " layer=" + featureLayer)
        + (classPattern.isNone() ? "" : " class-pattern=" + classPattern);
  }

  private String describeCore() {
    return String.format("%s eps=%.1f/255 alpha=%.2f/255 T=%d M=%d checkpoints=%s targets=%s seed=%d", method,
        epsilon255(), alpha * 255f, steps, innerSteps, checkpoints.length == 0 ? "all" : Arrays.toString(checkpoints),
        targets, seed);
  }
}
