package io.sepshield.sep;

/**
 * g(y): the class each image is pushed toward. The built-in maps are records with a stable name ({@code toString}
 * is the spec {@link #parse} reads) and value equality, so settings that hold them can be compared and recorded
 * (crafted-set reuse keys on the settings' string).
 */
@FunctionalInterface
public interface TargetMap {
  int target(int label, int numClasses);

  /** The paper's default g(y) = (y + K/2) mod K: a fixed permutation with no fixed points for K ≥ 2. */
  static TargetMap halfShift() {
    return new HalfShift();
  }

  /** g(y) = (y + shift) mod K. */
  static TargetMap shift(int shift) {
    return new Shift(shift);
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

  /** (y + K/2) mod K. */
  record HalfShift() implements TargetMap {
    @Override
    public int target(int label, int numClasses) {
      return (label + numClasses / 2) % numClasses;
    }

    @Override
    public String toString() {
      return "half";
    }
  }

  /** (y + shift) mod K. */
  record Shift(int shift) implements TargetMap {
    @Override
    public int target(int label, int numClasses) {
      return Math.floorMod(label + shift, numClasses);
    }

    @Override
    public String toString() {
      return "shift:" + shift;
    }
  }
}
