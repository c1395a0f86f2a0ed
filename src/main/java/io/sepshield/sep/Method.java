package io.sepshield.sep;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** The protections we can craft; the paper's ablation (Table 4) plus the two references every comparison needs. */
public enum Method {
  /** Uniform random noise in the same ε-ball: what "just adding noise" achieves. */
  UNIFORM_NOISE("noise", false),
  /** Single-model targeted attack (AdvPoison-style): cross-entropy toward g(y) on the last checkpoint only. */
  BASELINE("baseline", false),
  /** Self-ensemble: cross-entropy toward g(y), gradients averaged over the checkpoints. */
  SEP("sep", false),
  /** Self-ensemble with feature alignment toward the target class center, no variance reduction. */
  SEP_FA("sep-fa", true),
  /** Feature alignment with the variance-reduced inner loop of Algorithm 1 (the product default). */
  SEP_FA_VR("sep-fa-vr", true);

  private final String cliName;
  private final boolean featureAlignment;

  Method(String cliName, boolean featureAlignment) {
    this.cliName = cliName;
    this.featureAlignment = featureAlignment;
  }

  public String cliName() {
    return cliName;
  }

  /** Whether the loss is MSE to class centers (needs centers in the bundle) rather than cross-entropy. */
  public boolean usesFeatureAlignment() {
    return featureAlignment;
  }

  public static Method parse(String name) {
    String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
    for (Method m : values()) {
      if (m.cliName.equals(n)) {
        return m;
      }
    }
    throw new IllegalArgumentException("unknown method '" + name + "'; one of "
        + Arrays.stream(values()).map(Method::cliName).collect(Collectors.joining(", ")));
  }

  @Override
  public String toString() {
    return cliName;
  }
}
