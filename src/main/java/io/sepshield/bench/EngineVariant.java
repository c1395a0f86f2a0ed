package io.sepshield.bench;

import io.sepshield.model.DjlRuntime;
import io.sepshield.model.DjlRuntime.CpuConvolution;
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
 *   <li>{@code optimized}: reuse + normalisation constants cached per device
 *   <li>{@code one-collection}: optimized + one gradient collection for the n gradients of an outer step
 *   <li>{@code production}: optimized + BatchNorm folded + {@link CpuConvolution#ONEDNN_FORWARD}, what production
 *       runs by default
 * </ul>
 *
 * <p>All but {@code production} run without folding and with oneDNN for forward and backward (PyTorch's default),
 * as they did when they were first measured. Modifiers change that: {@code +fold}, {@code +conv=onednn},
 * {@code +conv=onednn-forward}, {@code +conv=native}; e.g. {@code optimized+fold}, {@code optimized+conv=native@t1}.
 *
 * @param threads intra-op threads, 0 = leave as they are
 * @param foldBatchNorm eval-mode passes with BatchNorm folded into the convolutions
 * @param convolution how PyTorch computes CPU convolutions during this variant
 */
public record EngineVariant(String name, Protector.Tuning tuning, boolean cacheNormalization, boolean foldBatchNorm,
    CpuConvolution convolution, int threads) {

  public static final List<String> NAMES = List.of("straightforward", "reuse", "optimized", "one-collection",
      "production");

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
    String[] parts = base.split("\\+");
    CpuConvolution legacy = CpuConvolution.ONEDNN;
    EngineVariant v = switch (parts[0]) {
      case "straightforward", "baseline" ->
          new EngineVariant(s, Protector.Tuning.STRAIGHTFORWARD, false, false, legacy, threads);
      case "reuse" -> new EngineVariant(s, new Protector.Tuning(true, false), false, false, legacy, threads);
      case "one-collection" -> new EngineVariant(s, Protector.Tuning.ONE_COLLECTION, true, false, legacy, threads);
      case "optimized" -> new EngineVariant(s, Protector.Tuning.OPTIMIZED, true, false, legacy, threads);
      case "production" ->
          new EngineVariant(s, Protector.Tuning.OPTIMIZED, true, true, CpuConvolution.ONEDNN_FORWARD, threads);
      default -> throw new IllegalArgumentException("unknown engine variant '" + spec + "'; one of "
          + String.join(", ", NAMES) + " (optionally with +fold, +conv=onednn|onednn-forward|native, and @tN for N "
          + "intra-op threads)");
    };
    for (int i = 1; i < parts.length; i++) {
      String mod = parts[i];
      if (mod.equals("fold")) {
        v = new EngineVariant(s, v.tuning, v.cacheNormalization, true, v.convolution, threads);
      } else if (mod.startsWith("conv=")) {
        v = new EngineVariant(s, v.tuning, v.cacheNormalization, v.foldBatchNorm,
            CpuConvolution.parse(mod.substring(5)), threads);
      } else {
        throw new IllegalArgumentException("unknown modifier '+" + mod + "' in '" + spec + "' (+fold, +conv=...)");
      }
    }
    return v;
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

  /** Switches the process-wide settings of this variant on (normalisation cache, folding, convolution, threads). */
  public void apply(int defaultThreads) {
    FeatureClassifier.cacheNormalization(cacheNormalization);
    FeatureClassifier.useFoldedBatchNorm(foldBatchNorm);
    DjlRuntime.cpuConvolution(convolution);
    int wanted = effectiveThreads(defaultThreads);
    if (DjlRuntime.intraOpThreads() != wanted) { // resize PyTorch's pool only when it changes
      DjlRuntime.intraOpThreads(wanted);
    }
  }

  public int effectiveThreads(int defaultThreads) {
    return threads > 0 ? threads : defaultThreads;
  }
}
