package io.sepshield.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.SyntheticImages;
import io.sepshield.model.Architectures;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.sep.Checkpoint;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.Protector;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Measures the crafting engine ({@link Protector#protect}, the path the service and the protect command take) on
 * one ensemble for several {@link EngineVariant}s in one run. Variants are interleaved round by round
 * (A B C, A B C, ...) so that a change in the machine's load hits all of them alike; every figure is the median over
 * rounds, with the spread.
 */
public final class EngineBenchmark {

  /**
   * @param batches batches per variant and round, each timed
   * @param rounds how many times the variants are measured in turn
   */
  public record Config(int batch, int batches, int rounds, List<EngineVariant> variants, long seed) {}

  /** One variant's figures. Rates are medians over rounds; min and max give the spread. */
  public record VariantResult(EngineVariant variant, int threads, double[] imagesPerSecond, long passesPerImage,
      long algorithmPassesPerImage) {
    public double median() {
      return Rates.median(imagesPerSecond);
    }

    public double min() {
      return Rates.min(imagesPerSecond);
    }

    public double max() {
      return Rates.max(imagesPerSecond);
    }

    public double passesPerSecond() {
      return median() * passesPerImage;
    }
  }

  /** The whole run: the variants, memory over the run, and what the figures need to be read. */
  public record Result(List<VariantResult> variants, double passFlopsPerImage, MachinePeak peak,
      ProcessMemory start, ProcessMemory end, double rssGrowthMbPer100Batches,
      double rssGrowthSecondHalfMbPer100Batches, int batchesMeasured, int leakedArrays, String loadAverageStart,
      String loadAverageEnd, Instant date) {}

  private final PrintStream log;

  public EngineBenchmark(PrintStream log) {
    this.log = log;
  }

  public Result run(CheckpointEnsemble ensemble, ProtectionSettings settings, Config config) {
    long[] chw = ensemble.inputShape();
    double passFlops = FlopCounter.passFlopsPerImage(ensemble.last().model(), chw);
    int defaultThreads = DjlRuntime.intraOpThreads();
    DjlRuntime.CpuConvolution defaultConvolution = DjlRuntime.cpuConvolution();
    List<LabeledImages> batches = new ArrayList<>();
    LabeledImages pool = SyntheticImages.generate(ensemble.numClasses(),
        (config.batch() * config.batches() + ensemble.numClasses() - 1) / ensemble.numClasses(), (int) chw[0],
        (int) chw[1], (int) chw[2], config.seed());
    for (int b = 0; b < config.batches(); b++) {
      batches.add(pool.slice(b * config.batch(), (b + 1) * config.batch()));
    }
    String loadStart = loadAverage();
    ProcessMemory start = ProcessMemory.sample();
    int arraysBefore = -1;
    List<Double> rssSeries = new ArrayList<>();
    double[][] rates = new double[config.variants().size()][config.rounds()];
    List<Protector> protectors = new ArrayList<>();
    for (EngineVariant v : config.variants()) {
      Protector p = new Protector(ensemble, settings, v.tuning());
      protectors.add(p);
      v.apply(defaultThreads);
      p.protect(batches.get(0)); // warm-up: lazy native initialisation, first-shape algorithm choices
    }
    arraysBefore = ensemble.manager().getManagedArrays().size();
    for (int r = 0; r < config.rounds(); r++) {
      for (int i = 0; i < protectors.size(); i++) {
        EngineVariant v = config.variants().get(i);
        v.apply(defaultThreads);
        long t0 = System.nanoTime();
        for (LabeledImages b : batches) {
          protectors.get(i).protect(b);
          rssSeries.add(ProcessMemory.sample().rssMb());
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        rates[i][r] = config.batch() * (double) config.batches() / seconds;
        log.printf(Locale.ROOT, "round %d/%d %-22s %8.2f images/s%n", r + 1, config.rounds(), v.name(),
            rates[i][r]);
      }
    }
    int leaked = ensemble.manager().getManagedArrays().size() - arraysBefore;
    DjlRuntime.intraOpThreads(defaultThreads);
    FeatureClassifier.cacheNormalization(true);
    FeatureClassifier.useFoldedBatchNorm(true);
    DjlRuntime.cpuConvolution(defaultConvolution);
    List<VariantResult> results = new ArrayList<>();
    for (int i = 0; i < protectors.size(); i++) {
      EngineVariant v = config.variants().get(i);
      results.add(new VariantResult(v, v.effectiveThreads(defaultThreads), rates[i],
          protectors.get(i).passesPerImage(), settings.gradientEvaluationsPerImage(protectors.get(i).members().size())));
    }
    return new Result(results, passFlops, MachinePeak.detect(), start, ProcessMemory.sample(),
        slopePer100(rssSeries), slopePer100(rssSeries.subList(rssSeries.size() / 2, rssSeries.size())),
        rssSeries.size(), leaked, loadStart, loadAverage(),
        Instant.now().truncatedTo(ChronoUnit.SECONDS));
  }

  /**
   * An ensemble of {@code n} randomly initialised checkpoints of an architecture (DJL's default initialisation;
   * BatchNorm at its initial running statistics) with random class centers: the same cost as a trained bundle.
   */
  public static CheckpointEnsemble randomEnsemble(String architecture, int n, long[] chw, int classes, Device device,
      long seed) {
    NDManager manager = DjlRuntime.engine().newBaseManager(device);
    try {
      DjlRuntime.engine().setRandomSeed((int) seed);
      float[] mean = new float[(int) chw[0]];
      float[] std = new float[(int) chw[0]];
      Arrays.fill(mean, 0.5f);
      Arrays.fill(std, 0.25f);
      List<Checkpoint> checkpoints = new ArrayList<>();
      for (int k = 0; k < n; k++) {
        FeatureClassifier model = Architectures.create(architecture, (int) chw[0], classes, mean, std);
        model.initialize(manager, DataType.FLOAT32, new Shape(1, chw[0], chw[1], chw[2]));
        NDArray centers = manager.randomUniform(0f, 1f, new Shape(classes, model.featureDim()));
        checkpoints.add(new Checkpoint(k + 1, model, centers));
      }
      return new CheckpointEnsemble(checkpoints, manager, chw);
    } catch (RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /** Least-squares slope of the series against its index, × 100: MiB per 100 batches. */
  static double slopePer100(List<Double> ys) {
    int n = ys.size();
    if (n < 2) {
      return 0;
    }
    double mx = (n - 1) / 2.0;
    double my = ys.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    double sxy = 0;
    double sxx = 0;
    for (int i = 0; i < n; i++) {
      sxy += (i - mx) * (ys.get(i) - my);
      sxx += (i - mx) * (i - mx);
    }
    return 100 * sxy / sxx;
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  /** The rows of docs/results/performance.json for this run, one per variant. */
  public static List<Map<String, Object>> records(Result r, Map<String, Object> common) {
    List<Map<String, Object>> rows = new ArrayList<>();
    double baseline = r.variants().get(0).median();
    for (VariantResult v : r.variants()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("where", "engine");
      row.putAll(common);
      row.put("variant", v.variant().name());
      row.put("threads", v.threads());
      row.put("bn_folded", v.variant().foldBatchNorm());
      row.put("cpu_convolution", v.variant().convolution().cliName());
      row.put("images_per_s", round(v.median(), 2));
      row.put("images_per_s_min", round(v.min(), 2));
      row.put("images_per_s_max", round(v.max(), 2));
      row.put("rounds", v.imagesPerSecond().length);
      row.put("passes_per_image", v.passesPerImage());
      row.put("algorithm_passes_per_image", v.algorithmPassesPerImage());
      row.put("passes_per_s", round(v.passesPerSecond(), 1));
      double gflops = v.passesPerSecond() * r.passFlopsPerImage() / 1e9;
      row.put("gflops_per_s", round(gflops, 2));
      row.put("pass_mflops_per_image", round(r.passFlopsPerImage() / 1e6, 2));
      row.put("peak_gflops_estimate", round(r.peak().gflops(), 1));
      row.put("peak_fraction", round(gflops / r.peak().gflops(), 4));
      row.put("baseline_variant", r.variants().get(0).variant().name());
      row.put("baseline_images_per_s", round(baseline, 2));
      row.put("speedup", round(v.median() / baseline, 3));
      row.put("rss_mb_end", round(r.end().rssMb(), 1));
      row.put("peak_rss_mb", round(r.end().hwmMb(), 1));
      row.put("native_mb_estimate_end", round(r.end().nativeMb(), 1));
      row.put("rss_growth_mb_per_100_batches", round(r.rssGrowthMbPer100Batches(), 2));
      // The allocator's warm-up makes the whole run's slope positive; a leak keeps the same slope in the second half.
      row.put("rss_growth_mb_per_100_batches_second_half", round(r.rssGrowthSecondHalfMbPer100Batches(), 2));
      row.put("batches_measured", r.batchesMeasured());
      row.put("leaked_ndarrays", r.leakedArrays());
      row.put("load_average_start", r.loadAverageStart());
      row.put("load_average_end", r.loadAverageEnd());
      row.put("machine", r.peak().describe());
      row.put("date", r.date().toString());
      rows.add(row);
    }
    return rows;
  }

  private static double round(double v, int digits) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return v;
    }
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }
}
