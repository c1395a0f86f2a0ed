package io.sepshield.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sepshield.bench.EngineBenchmark;
import io.sepshield.bench.EngineVariant;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.model.DjlRuntime;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.ProtectionSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Measures the crafting engine: images/s, passes/s, GFLOP/s against the machine's peak, memory; A/B in one run. */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Benchmark the crafting engine on random-weight checkpoints (or a bundle): images/s, "
        + "forward+backward passes/s, GFLOP/s and fraction of the machine's estimated peak, resident and native "
        + "memory and its growth. Several engine variants (--compare) are measured in one run, interleaved.",
        "Variants: straightforward (Algorithm 1 as written), reuse, one-collection, optimized, production (what "
            + "runs by default); +fold, +conv=onednn|onednn-forward|native and @tN (intra-op threads) modify them, "
            + "e.g. --compare straightforward,optimized+fold,production@t1."})
public class BenchCommand implements Callable<Integer> {
  @Option(names = "--arch", defaultValue = "resnet8", description = "Architecture of the random-weight checkpoints. "
      + "Default: ${DEFAULT-VALUE}")
  String arch;

  @Option(names = "--bundle", description = "Measure this bundle's checkpoints instead of random ones.")
  Path bundle;

  @Option(names = "--input", defaultValue = "1x28x28", description = "CxHxW of the random-weight models. Default: "
      + "${DEFAULT-VALUE}")
  String input;

  @Option(names = "--classes", defaultValue = "10")
  int classes;

  @Mixin
  Options.Crafting crafting;

  @Option(names = "--batch-size", defaultValue = "64")
  int batchSize;

  @Option(names = "--batches", defaultValue = "3", description = "Timed batches per variant and round. Default: "
      + "${DEFAULT-VALUE}")
  int batches;

  @Option(names = "--rounds", defaultValue = "3", description = "Rounds; the variants take turns in each. Default: "
      + "${DEFAULT-VALUE}")
  int rounds;

  @Option(names = "--compare", defaultValue = "straightforward,optimized,production",
      description = "Engine variants, the first is the baseline of the ratios. Default: ${DEFAULT-VALUE}")
  String compare;

  @Option(names = "--json", description = "Write the records to this JSON file (a list).")
  Path json;

  @Option(names = "--append", description = "Append to the list in --json instead of replacing it.")
  boolean append;

  @Mixin
  Options.Runtime runtime;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    List<EngineVariant> variants = EngineVariant.parseList(compare);
    long[] chw = parseInput(input);
    BundleLoader.LoadedBundle loaded = bundle == null ? null : BundleLoader.load(bundle, runtime.resolve());
    try (CheckpointEnsemble ensemble = loaded != null ? loaded.ensemble()
        : EngineBenchmark.randomEnsemble(arch, crafting.checkpointCount(), chw, classes,
            runtime.resolve(), runtime.seed)) {
      ProtectionSettings settings = crafting.settings(ensemble.size(), runtime.seed);
      long[] shape = ensemble.inputShape();
      String architecture = loaded != null ? loaded.manifest().architecture() : arch;
      String inputText = shape[0] + "x" + shape[1] + "x" + shape[2];
      System.err.printf(Locale.ROOT, "bench %s %s on %s, %s, batch %d, %d batches x %d rounds, variants %s, "
          + "intra-op threads %d%n", architecture, inputText, ensemble.device(), settings,
          batchSize, batches, rounds, compare, DjlRuntime.intraOpThreads());
      EngineBenchmark.Result result = new EngineBenchmark(System.err)
          .run(ensemble, settings, new EngineBenchmark.Config(batchSize, batches, rounds, variants, runtime.seed));
      Map<String, Object> common = new LinkedHashMap<>();
      common.put("device", ensemble.device().isGpu() ? "gpu:" + ensemble.device().getDeviceId() : "cpu");
      common.put("arch", architecture);
      common.put("weights", loaded != null ? "bundle " + loaded.manifest().bundleId() : "random");
      common.put("input", inputText);
      common.put("batch", batchSize);
      common.put("profile", crafting.profile);
      common.put("method", settings.method().toString());
      common.put("n", settings.checkpoints().length == 0 ? ensemble.size() : settings.checkpoints().length);
      common.put("T", settings.steps());
      common.put("M", settings.innerSteps());
      // Under Quarkus the original arguments start with the subcommand's name; through main() they do not.
      List<String> args = spec.commandLine().getParseResult().originalArgs();
      String line = String.join(" ", args);
      common.put("command", "sep-shield " + (!args.isEmpty() && args.get(0).equals("bench") ? line
          : "bench " + line));
      // oneDNN's instruction-set cap changes crafting speed (README Known limits, .mvn/cpu-env.sh).
      common.put("dnnl_max_cpu_isa", System.getenv().getOrDefault("DNNL_MAX_CPU_ISA", "ALL"));
      List<Map<String, Object>> rows = EngineBenchmark.records(result, common);
      print(result, rows);
      if (json != null) {
        write(rows);
      }
    } finally {
      if (loaded != null) {
        loaded.close();
      }
    }
    return 0;
  }

  private void print(EngineBenchmark.Result r, List<Map<String, Object>> rows) {
    System.out.printf(Locale.ROOT, "%s; one pass = %.2f MFLOP per image (conv+linear MACs x 2 x 2: forward and "
        + "input-gradient backward)%n", r.peak().describe(), r.passFlopsPerImage() / 1e6);
    System.out.printf(Locale.ROOT, "%-22s %4s %10s %17s %7s %10s %8s %7s %8s%n", "variant", "thr", "images/s",
        "(min-max)", "passes", "passes/s", "GFLOP/s", "peak", "speedup");
    for (Map<String, Object> row : rows) {
      System.out.printf(Locale.ROOT, "%-22s %4s %10.2f %17s %7s %10.1f %8.2f %6.1f%% %7.2fx%n", row.get("variant"),
          row.get("threads"), (Double) row.get("images_per_s"),
          String.format(Locale.ROOT, "(%.2f-%.2f)", row.get("images_per_s_min"), row.get("images_per_s_max")),
          row.get("passes_per_image"), (Double) row.get("passes_per_s"), (Double) row.get("gflops_per_s"),
          100 * (Double) row.get("peak_fraction"), (Double) row.get("speedup"));
    }
    System.out.printf(Locale.ROOT, "memory: RSS %.0f MiB (peak %.0f), native estimate %.0f MiB (start %.0f); RSS "
        + "growth %.2f MiB per 100 batches over %d batches; %d arrays left behind; load average %s -> %s; %s%n",
        r.end().rssMb(), r.end().hwmMb(), r.end().nativeMb(), r.start().nativeMb(), r.rssGrowthMbPer100Batches(),
        r.batchesMeasured(), r.leakedArrays(), r.loadAverageStart(), r.loadAverageEnd(), r.date());
  }

  private void write(List<Map<String, Object>> rows) throws java.io.IOException {
    ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    List<Map<String, Object>> all = new ArrayList<>();
    if (append && Files.isRegularFile(json)) {
      all.addAll(mapper.readValue(json.toFile(), new TypeReference<List<Map<String, Object>>>() {}));
    }
    all.addAll(rows);
    if (json.toAbsolutePath().getParent() != null) {
      Files.createDirectories(json.toAbsolutePath().getParent());
    }
    mapper.writeValue(json.toFile(), all);
    System.out.println("wrote " + json + " (" + all.size() + " records)");
  }

  static long[] parseInput(String spec) {
    String[] parts = spec.toLowerCase(Locale.ROOT).split("x");
    if (parts.length != 3) {
      throw new IllegalArgumentException("--input must be CxHxW, e.g. 1x28x28, got " + spec);
    }
    long[] chw = new long[3];
    for (int i = 0; i < 3; i++) {
      chw[i] = Long.parseLong(parts[i].trim());
      if (chw[i] < 1) {
        throw new IllegalArgumentException("--input dimensions must be positive: " + spec);
      }
    }
    return chw;
  }

  /** Runs without Quarkus (e.g. under a profiler): java -cp ... io.sepshield.cli.BenchCommand [options]. */
  public static void main(String[] args) {
    System.exit(new CommandLine(new BenchCommand()).execute(args));
  }
}
