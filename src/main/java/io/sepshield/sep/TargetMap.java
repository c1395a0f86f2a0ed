package io.sepshield.sep;

/** g(y): the class each image is pushed toward. */
@FunctionalInterface
public interface TargetMap {
  int target(int label, int numClasses);

  /** The paper's default g(y) = (y + K/2) mod K: a fixed permutation with no fixed points for K ≥ 2. */
  static TargetMap halfShift() {
    return (label, k) -> (label + k / 2) % k;
  }

  /** g(y) = (y + shift) mod K. */
  static TargetMap shift(int shift) {
    return (label, k) -> Math.floorMod(label + shift, k);
  }

  /** Parses "half" or "shift:N". */
  static TargetMap parse(String spec) {
    String s = spec.trim().toLowerCase();
    if (s.equals("half")) {
      return halfShift();
    }
    if (s.startsWith("shift:")) {
      return shift(Integer.parseInt(s.substring("shift:".length())));
    }
    throw new IllegalArgumentException("unknown target map '" + spec + "' (half, shift:N)");
  }
}
