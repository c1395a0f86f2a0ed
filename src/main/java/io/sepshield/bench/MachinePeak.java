package io.sepshield.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * An ESTIMATE of the machine's single-precision peak: cores × clock × FLOPs per cycle per core, from
 * /proc/cpuinfo. FLOPs per cycle assume two FMA units of the widest vector width the CPU reports (AVX-512: 2 × 16
 * lanes × 2 = 64; AVX2+FMA: 32; AVX: 16; else SSE: 8); the clock is the "cpu MHz" the kernel reports, which on
 * virtual machines is usually the nominal clock, not the boost clock. Real peaks differ (double-pumped AVX-512 on
 * some cores, one FMA unit on others, frequency drops under wide vectors), so the fraction derived from it is a
 * rough figure.
 */
public record MachinePeak(int cores, double ghz, int flopsPerCycle, String vectorIsa, String model) {

  public double gflops() {
    return cores * ghz * flopsPerCycle;
  }

  public String describe() {
    return String.format(Locale.ROOT, "%s, %d cores x %.2f GHz x %d FLOP/cycle (%s) = %.0f GFLOP/s (estimate)",
        model, cores, ghz, flopsPerCycle, vectorIsa, gflops());
  }

  public static MachinePeak detect() {
    int cores = Runtime.getRuntime().availableProcessors();
    List<String> lines;
    try {
      lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
    } catch (IOException | RuntimeException e) {
      return new MachinePeak(cores, 2.0, 8, "unknown (no /proc/cpuinfo)", "unknown CPU");
    }
    String flags = value(lines, "flags");
    double mhz = parseOr(value(lines, "cpu MHz"), 2000);
    String model = value(lines, "model name");
    String[] isa = vectorIsa(" " + flags + " ");
    return new MachinePeak(cores, mhz / 1000.0, Integer.parseInt(isa[1]), isa[0],
        model.isEmpty() ? "unknown CPU" : model);
  }

  static String[] vectorIsa(String flags) {
    if (flags.contains(" avx512f ")) {
      return new String[] {"AVX-512", "64"};
    }
    if (flags.contains(" avx2 ") && flags.contains(" fma ")) {
      return new String[] {"AVX2+FMA", "32"};
    }
    if (flags.contains(" avx ")) {
      return new String[] {"AVX", "16"};
    }
    return new String[] {"SSE", "8"};
  }

  private static String value(List<String> lines, String key) {
    for (String line : lines) {
      int colon = line.indexOf(':');
      if (colon > 0 && line.substring(0, colon).trim().equals(key)) {
        return line.substring(colon + 1).trim();
      }
    }
    return "";
  }

  private static double parseOr(String s, double fallback) {
    try {
      return Double.parseDouble(s);
    } catch (NumberFormatException e) {
      return fallback;
    }
  }
}
