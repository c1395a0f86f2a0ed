package io.sepshield.bench;

import io.sepshield.model.DjlRuntime;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.sep.Protector;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One way of running the engine, named on the command line so that several are measured in one run: which loop
 * optimisations are on ({@link Protector.Tuning}, normalisation constants cached in the model) and, with a suffix
 * {@code @tN}, PyTorch's intra-op threads.
 *
 * <ul>
 *   <li>{@code straightforward}: Algorithm 1 as written, the engine before the performance work
 *   <li>{@code reuse}: + g_k reused for the first inner step
 *   <li>{@code optimized}: reuse + normalisation constants cached per device (what production runs)
 *   <li>{@code one-collection}: optimized + one gradient collection for the n gradients of an outer step
 * </ul>
 *
 * @param threads intra-op threads, 0 = leave as they are
 */
public record EngineVariant(String name, Protector.Tuning tuning, boolean cacheNormalization, int threads) {

  public static final List<String> NAMES = List.of("straightforward", "reuse", "optimized", "one-collection");

  public static EngineVariant parse(String spec) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    int threads = 0;
    String base = s;
    int at = s.indexOf("@t");
    if (at >= 0) {
      base = s.substring(0, at);
      try {
        threads = Integer.parseInt(s.substring(at + 2));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bad thread suffix in '" + spec + "' (use e.g. optimized@t1)");
      }
      if (threads < 1) {
        throw new IllegalArgumentException("threads must be >= 1 in '" + spec + "'");
      }
    }
    return switch (base) {
      case "straightforward", "baseline" -> new EngineVariant(s, Protector.Tuning.STRAIGHTFORWARD, false, threads);
      case "reuse" -> new EngineVariant(s, new Protector.Tuning(true, false), false, threads);
      case "one-collection" -> new EngineVariant(s, Protector.Tuning.ONE_COLLECTION, true, threads);
      case "optimized" -> new EngineVariant(s, Protector.Tuning.OPTIMIZED, true, threads);
      default -> throw new IllegalArgumentException("unknown engine variant '" + spec + "'; one of "
          + String.join(", ", NAMES) + " (optionally with @tN for N intra-op threads)");
    };
  }

  public static List<EngineVariant> parseList(String specs) {
    List<EngineVariant> out = new ArrayList<>();
    for (String s : specs.split(",")) {
      if (!s.isBlank()) {
        out.add(parse(s));
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no engine variant given");
    }
    return out;
  }

  /** Switches the process-wide settings of this variant on (normalisation cache, threads). */
  public void apply(int defaultThreads) {
    FeatureClassifier.cacheNormalization(cacheNormalization);
    int wanted = effectiveThreads(defaultThreads);
    if (DjlRuntime.intraOpThreads() != wanted) { // resize PyTorch's pool only when it changes
      DjlRuntime.intraOpThreads(wanted);
    }
  }

  public int effectiveThreads(int defaultThreads) {
    return threads > 0 ? threads : defaultThreads;
  }
}
