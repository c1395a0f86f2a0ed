package io.sepshield.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One parameter varied over a list of values, e.g. {@code n=1,3,5} or {@code size=28,56,112,224}, everything else
 * as configured. Keys: {@code n} (checkpoints), {@code M} (inner steps), {@code T} (outer steps), {@code batch},
 * {@code size} (uploads of size×size at full resolution, the model's input unchanged: P resizes them),
 * {@code input} (the model's own input size×size, uploads at that size).
 */
public record Sweep(Key key, List<Integer> values) {

  public enum Key {
    N("n"), M("M"), T("T"), BATCH("batch"), SIZE("size"), INPUT("input");

    private final String label;

    Key(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }

    static Key parse(String s) {
      for (Key k : values()) {
        // n, M and T are case-sensitive in the paper; either case is accepted here since none collide.
        if (k.label.equalsIgnoreCase(s.trim())) {
          return k;
        }
      }
      throw new IllegalArgumentException("unknown sweep key '" + s + "'; one of n, M, T, batch, size, input");
    }
  }

  public Sweep {
    values = List.copyOf(values);
    if (values.isEmpty()) {
      throw new IllegalArgumentException("a sweep needs at least one value");
    }
    for (int v : values) {
      if (v < (key == Key.M ? 0 : 1)) {
        throw new IllegalArgumentException("sweep " + key.label + "=" + v + ": values must be "
            + (key == Key.M ? "≥ 0" : "≥ 1"));
      }
    }
  }

  /** "key=v1,v2,...". */
  public static Sweep parse(String spec) {
    int eq = spec.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("--sweep takes key=v1,v2,... (e.g. n=1,3,5), got '" + spec + "'");
    }
    Key key = Key.parse(spec.substring(0, eq));
    List<Integer> values = new ArrayList<>();
    for (String v : spec.substring(eq + 1).split(",")) {
      if (v.isBlank()) {
        continue;
      }
      try {
        values.add(Integer.parseInt(v.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("sweep value '" + v.trim() + "' of " + key.label + " is not an integer");
      }
    }
    return new Sweep(key, values);
  }

  public int max() {
    return values.stream().mapToInt(Integer::intValue).max().orElseThrow();
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s=%s", key.label, values.toString().replaceAll("[\\[\\] ]", ""));
  }
}
