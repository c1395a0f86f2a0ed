package io.sepshield.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sepshield.bench.EngineBenchmark;
import io.sepshield.bench.EngineVariant;
import io.sepshield.bench.OfferedLoad;
import io.sepshield.bench.ServiceBenchmark;
import io.sepshield.bench.Sweep;
import io.sepshield.bench.SweepBenchmark;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.SyntheticImages;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.sep.Profile;
import io.sepshield.stream.ErrorStrategy;
import io.sepshield.stream.StreamSettings;
import ai.djl.Device;
import java.time.Duration;
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

  @Option(names = "--service", description = "Measure the protection service end to end on the in-process broker "
      + "and registry at each --rate, and the bare engine at the same settings in the same run.")
  boolean service;

  @Option(names = "--rate", defaultValue = "5,10,saturate", description = "With --service: offered loads, uploads "
      + "per second sent on a fixed schedule, or 'saturate' (all at once). Default: ${DEFAULT-VALUE}")
  String rate;

  @Option(names = "--uploads", defaultValue = "128", description = "With --service: uploads per offered load. "
      + "Default: ${DEFAULT-VALUE}")
  int uploads;

  @Option(names = "--max-delay-ms", defaultValue = "" + StreamSettings.DEFAULT_MAX_DELAY_MILLIS, description = "With "
      + "--service: the stream's max delay before a partial batch is crafted (serve's default). Default: "
      + "${DEFAULT-VALUE}")
  long maxDelayMs;

  @Option(names = "--upload-size", description = "HxW of the uploads (full resolution; P resizes them to the "
      + "model's input). Default: the model's input size. With --service and --sweep.")
  String uploadSize;

  @Option(names = "--sweep", description = "How cost grows with one parameter: n=1,3,5 | M=0,5,10 | T=5,10,20 | "
      + "batch=8,32,64 | size=28,56,112,224 (full-resolution uploads, model input unchanged) | input=28,56,112 "
      + "(the model's own input size). The production engine at each value, interleaved round by round.")
  String sweep;

  @Mixin
  Options.Runtime runtime;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (sweep != null && service) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--sweep and --service are separate runs");
    }
    if (sweep != null) {
      return runSweep(Sweep.parse(sweep));
    }
    if (service) {
      return runService();
    }
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
      Map<String, Object> common = common(ensemble, settings, architecture,
          loaded != null ? "bundle " + loaded.manifest().bundleId() : "random", inputText);
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

  /** The JSON command field: under Quarkus the original arguments start with the subcommand's name. */
  private String commandLine() {
    List<String> args = spec.commandLine().getParseResult().originalArgs();
    String line = String.join(" ", args);
    return "sep-shield " + (!args.isEmpty() && args.get(0).equals("bench") ? line : "bench " + line);
  }

  private Map<String, Object> common(CheckpointEnsemble ensemble, ProtectionSettings settings, String architecture,
      String weights, String inputText) {
    Map<String, Object> common = new LinkedHashMap<>();
    common.put("device", ensemble.device().isGpu() ? "gpu:" + ensemble.device().getDeviceId() : "cpu");
    common.put("arch", architecture);
    common.put("weights", weights);
    common.put("input", inputText);
    common.put("batch", batchSize);
    common.put("profile", crafting.profile);
    common.put("method", settings.method().toString());
    common.put("n", settings.checkpoints().length == 0 ? ensemble.size() : settings.checkpoints().length);
    common.put("T", settings.steps());
    common.put("M", settings.innerSteps());
    common.put("command", commandLine());
    common.put("dnnl_max_cpu_isa", System.getenv().getOrDefault("DNNL_MAX_CPU_ISA", "ALL"));
    common.put("intra_op_threads", DjlRuntime.intraOpThreads());
    return common;
  }

  /** C×H×W of the uploads: the model's, or --upload-size at the model's channels. */
  private long[] uploadShape(long[] model) {
    if (uploadSize == null) {
      return model.clone();
    }
    long[] hw = parseSize(uploadSize);
    return new long[] {model[0], hw[0], hw[1]};
  }

  static long[] parseSize(String spec) {
    String[] parts = spec.toLowerCase(Locale.ROOT).split("x");
    try {
      long h = Long.parseLong(parts[0].trim());
      long w = parts.length == 1 ? h : Long.parseLong(parts[1].trim());
      if (parts.length > 2 || h < 1 || w < 1) {
        throw new NumberFormatException();
      }
      return new long[] {h, w};
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--upload-size must be HxW (or one number for a square), got " + spec);
    }
  }

  private int runService() throws Exception {
    if (uploads < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--uploads must be at least 1");
    }
    List<OfferedLoad> loads = OfferedLoad.parseList(rate);
    long[] chw = parseInput(input);
    BundleLoader.LoadedBundle loaded = bundle == null ? null : BundleLoader.load(bundle, runtime.resolve());
    try (CheckpointEnsemble ensemble = loaded != null ? loaded.ensemble()
        : EngineBenchmark.randomEnsemble(arch, crafting.checkpointCount(), chw, classes,
            runtime.resolve(), runtime.seed)) {
      ProtectionSettings settings = crafting.settings(ensemble.size(), runtime.seed);
      long[] upload = uploadShape(ensemble.inputShape());
      String architecture = loaded != null ? loaded.manifest().architecture() : arch;
      String inputText = upload[0] + "x" + upload[1] + "x" + upload[2];
      String weights = loaded != null ? "bundle " + loaded.manifest().bundleId() : "random";
      System.err.printf(Locale.ROOT, "bench --service %s, uploads %s on %s, %s, batch %d, max delay %d ms, %d "
          + "uploads per load %s, intra-op threads %d%n", architecture, inputText, ensemble.device(), settings,
          batchSize, maxDelayMs, uploads, rate, DjlRuntime.intraOpThreads());
      // The engine alone at the same settings, batch and upload size; measured before and after the service so that
      // a drift in the machine's load shows in its spread rather than in the ratio.
      Sweep enginePoint = new Sweep(Sweep.Key.BATCH, List.of(batchSize));
      List<SweepBenchmark.Point> point = List.of(new SweepBenchmark.Point(batchSize, ensemble, settings, batchSize,
          upload));
      SweepBenchmark engineBench = new SweepBenchmark(System.err);
      int before = Math.max(1, (rounds + 1) / 2);
      SweepBenchmark.Result engineBefore = engineBench.run(enginePoint, point, batches, before, runtime.seed);
      ProtectionEngine engine = new ProtectionEngine(weights.replace(' ', '-') + "-" + architecture,
          crafting.profile, ensemble, settings, () -> { }); // the ensemble is closed here, not by the engine
      engine.warmUp();
      int classesInUse = ensemble.numClasses();
      LabeledImages images = SyntheticImages.generate(classesInUse,
          (Math.min(uploads, 256) + classesInUse - 1) / classesInUse, (int) upload[0], (int) upload[1],
          (int) upload[2], runtime.seed + 1);
      StreamSettings stream = StreamSettings.defaults(batchSize, Duration.ofMillis(maxDelayMs))
          .withErrorStrategy(ErrorStrategy.DEAD_LETTER_QUEUE);
      List<ServiceBenchmark.PhaseResult> phases = new ArrayList<>();
      try (ServiceBenchmark bench = ServiceBenchmark.start(engine, stream, Duration.ofMinutes(2), System.err)) {
        // Not measured: the first batch through the stream pays for class loading and JIT of the codec path.
        bench.run(OfferedLoad.saturation(), images, Math.min(uploads, batchSize), crafting.eps, phaseTimeout(
            Math.min(uploads, batchSize), engineBefore.points().get(0).median()));
        for (OfferedLoad load : loads) {
          phases.add(bench.run(load, images, uploads, crafting.eps,
              phaseTimeout(uploads, engineBefore.points().get(0).median())));
        }
      }
      SweepBenchmark.Result engineAfter = engineBench.run(enginePoint, point, batches, Math.max(1, rounds - before),
          runtime.seed);
      SweepBenchmark.PointResult e0 = engineBefore.points().get(0);
      SweepBenchmark.PointResult e1 = engineAfter.points().get(0);
      double[] all = java.util.stream.DoubleStream.concat(java.util.Arrays.stream(e0.imagesPerSecond()),
          java.util.Arrays.stream(e1.imagesPerSecond())).toArray();
      SweepBenchmark.PointResult engineAll = new SweepBenchmark.PointResult(e0.point(), all, e0.passesPerImage(),
          e0.passFlopsPerImage());
      Map<String, Object> common = common(ensemble, settings, architecture, weights, inputText);
      common.put("max_delay_ms", maxDelayMs);
      common.put("engine_rounds", all.length);
      List<Map<String, Object>> rows = ServiceBenchmark.records(phases, engineAll.median(), e0.passesPerImage(),
          e0.passFlopsPerImage(), engineBefore.peak(), common);
      printService(engineAll, rows, engineBefore.loadAverageStart(), engineAfter.loadAverageEnd());
      if (json != null) {
        write(rows);
      }
      boolean complete = phases.stream().allMatch(ServiceBenchmark.PhaseResult::complete);
      if (!complete) {
        System.err.println("FAILED: some uploads did not come back exactly once, protected within the ε bound, in "
            + "time");
      }
      return complete ? 0 : 1;
    } finally {
      if (loaded != null) {
        loaded.close();
      }
    }
  }

  /** After the last scheduled send; generous: ten times what the bare engine needs for these uploads, plus a minute. */
  private static Duration phaseTimeout(int uploads, double engineImagesPerSecond) {
    return Duration.ofSeconds(60 + (long) Math.ceil(10 * uploads / Math.max(engineImagesPerSecond, 1e-3)));
  }

  private void printService(SweepBenchmark.PointResult engine, List<Map<String, Object>> rows, String loadStart,
      String loadEnd) {
    System.out.printf(Locale.ROOT, "engine alone: %.2f images/s median (%.2f-%.2f) over %d rounds, %d passes per "
        + "image%n", engine.median(), engine.min(), engine.max(), engine.imagesPerSecond().length,
        engine.passesPerImage());
    // At saturation "/engine" is service throughput over the engine's; below it, the offered load over the engine's.
    System.out.printf(Locale.ROOT, "%-10s %10s %9s %9s %9s %9s %9s %8s %8s%n", "offered", "images/s", "p50 ms",
        "p95 ms", "p99 ms", "max ms", "/engine", "batches", "GFLOP/s");
    for (Map<String, Object> row : rows) {
      Object offered = row.get("offered_per_s");
      Object ratio = offered == null ? row.get("service_to_engine") : row.get("offered_to_engine");
      System.out.printf(Locale.ROOT, "%-10s %10.2f %9.0f %9.0f %9.0f %9.0f %8.2fx %8d %8.2f%n",
          offered == null ? "saturate" : offered + "/s", (Double) row.get("images_per_s"), (Double) row.get("p50_ms"),
          (Double) row.get("p95_ms"), (Double) row.get("p99_ms"), (Double) row.get("max_ms"), (Double) ratio,
          (Long) row.get("batches"), (Double) row.get("gflops_per_s"));
    }
    System.out.println("/engine: at saturation, service images/s over the engine's (target >= 0.9); below it, the "
        + "offered load over the engine's images/s");
    System.out.printf(Locale.ROOT, "latency: scheduled send -> protected record read (read_committed); load average "
        + "%s -> %s; %s%n", loadStart, loadEnd, rows.isEmpty() ? "" : rows.get(0).get("date"));
  }

  private int runSweep(Sweep s) throws Exception {
    if (bundle != null) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--sweep uses random-weight models (no --bundle)");
    }
    long[] chw = parseInput(input);
    Device device = runtime.resolve();
    int n = s.key() == Sweep.Key.N ? s.max() : crafting.checkpointCount();
    List<CheckpointEnsemble> ensembles = new ArrayList<>();
    try {
      List<SweepBenchmark.Point> points = new ArrayList<>();
      CheckpointEnsemble shared = null;
      for (int v : s.values()) {
        CheckpointEnsemble ensemble;
        if (s.key() == Sweep.Key.INPUT) {
          ensemble = EngineBenchmark.randomEnsemble(arch, n, new long[] {chw[0], v, v}, classes, device, runtime.seed);
          ensembles.add(ensemble);
        } else {
          if (shared == null) {
            shared = EngineBenchmark.randomEnsemble(arch, n, chw, classes, device, runtime.seed);
            ensembles.add(shared);
          }
          ensemble = shared;
        }
        ProtectionSettings base = crafting.settings(ensemble.size(), runtime.seed);
        ProtectionSettings settings = switch (s.key()) {
          case N -> with(base, Profile.evenlySpaced(v, ensemble.size()), base.steps(), base.innerSteps());
          case T -> with(base, base.checkpoints(), v, base.innerSteps());
          case M -> with(base, base.checkpoints(), base.steps(), v);
          default -> base;
        };
        int batch = s.key() == Sweep.Key.BATCH ? v : batchSize;
        long[] upload = switch (s.key()) {
          case SIZE -> new long[] {chw[0], v, v};
          case INPUT -> new long[] {chw[0], v, v};
          default -> uploadShape(chw);
        };
        points.add(new SweepBenchmark.Point(v, ensemble, settings, batch, upload));
      }
      System.err.printf(Locale.ROOT, "bench --sweep %s: %s %s, profile %s, batch %d, %d batches x %d rounds, "
          + "intra-op threads %d%n", s, arch, input, crafting.profile, batchSize, batches, rounds,
          DjlRuntime.intraOpThreads());
      SweepBenchmark.Result result = new SweepBenchmark(System.err).run(s, points, batches, rounds, runtime.seed);
      SweepBenchmark.Point first = points.get(0);
      Map<String, Object> common = common(first.ensemble(), first.settings(), arch, "random", input);
      List<Map<String, Object>> rows = SweepBenchmark.records(result, common);
      System.out.printf(Locale.ROOT, "%s; load average %s -> %s; %s%n", result.peak().describe(),
          result.loadAverageStart(), result.loadAverageEnd(), result.date());
      System.out.printf(Locale.ROOT, "%-8s %-11s %-9s %5s %3s %3s %3s %10s %17s %9s %8s %7s %9s %8s %6s%n",
          s.key().label(), "upload", "model", "batch", "n", "T", "M", "images/s", "(min-max)", "ms/image", "cost",
          "passes", "passes/s", "GFLOP/s", "peak");
      for (Map<String, Object> row : rows) {
        System.out.printf(Locale.ROOT, "%-8s %-11s %-9s %5s %3s %3s %3s %10.3f %17s %9.1f %7.2fx %7s %9.1f %8.2f "
            + "%5.1f%%%n", row.get("sweep_value"), row.get("input"), row.get("model_input"), row.get("batch"),
            row.get("n"), row.get("T"), row.get("M"), (Double) row.get("images_per_s"),
            String.format(Locale.ROOT, "(%.3f-%.3f)", row.get("images_per_s_min"), row.get("images_per_s_max")),
            (Double) row.get("ms_per_image"), (Double) row.get("relative_cost"), row.get("passes_per_image"),
            (Double) row.get("passes_per_s"), (Double) row.get("gflops_per_s"),
            100 * (Double) row.get("peak_fraction"));
      }
      if (json != null) {
        write(rows);
      }
      return 0;
    } finally {
      for (CheckpointEnsemble e : ensembles) {
        e.close();
      }
    }
  }

  private static ProtectionSettings with(ProtectionSettings b, int[] checkpoints, int steps, int innerSteps) {
    return b.withSteps(steps, innerSteps).withCheckpoints(checkpoints);
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
        + "growth %.2f MiB per 100 batches over %d batches (second half %.2f); %d arrays left behind; load average "
        + "%s -> %s; %s%n",
        r.end().rssMb(), r.end().hwmMb(), r.end().nativeMb(), r.start().nativeMb(), r.rssGrowthMbPer100Batches(),
        r.batchesMeasured(), r.rssGrowthSecondHalfMbPer100Batches(), r.leakedArrays(), r.loadAverageStart(),
        r.loadAverageEnd(), r.date());
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
