package io.sepshield.bench;

import io.sepshield.data.LabeledImages;
import io.sepshield.data.SyntheticImages;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.Protector;
import java.io.PrintStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * How crafting cost grows with one parameter ({@link Sweep}): the production engine ({@link Protector.Tuning#OPTIMIZED})
 * at every point, the points interleaved round by round like {@link EngineBenchmark}'s variants so that a change in
 * load hits them alike.
 */
public final class SweepBenchmark {

  /**
   * One point of the sweep.
   *
   * @param upload C×H×W of the uploads (the model's input, or larger for full-resolution uploads)
   */
  public record Point(int value, CheckpointEnsemble ensemble, ProtectionSettings settings, int batch, long[] upload) {}

  /** A point's figures; rates are medians over rounds. */
  public record PointResult(Point point, double[] imagesPerSecond, long passesPerImage, double passFlopsPerImage) {
    public double median() {
      return Rates.median(imagesPerSecond);
    }

    public double min() {
      return Rates.min(imagesPerSecond);
    }

    public double max() {
      return Rates.max(imagesPerSecond);
    }
  }

  public record Result(Sweep sweep, List<PointResult> points, MachinePeak peak, String loadAverageStart,
      String loadAverageEnd, Instant date) {}

  private final PrintStream log;

  public SweepBenchmark(PrintStream log) {
    this.log = log;
  }

  public Result run(Sweep sweep, List<Point> points, int batches, int rounds, long seed) {
    List<Protector> protectors = new ArrayList<>();
    List<List<LabeledImages>> inputs = new ArrayList<>();
    for (Point p : points) {
      Protector protector = new Protector(p.ensemble(), p.settings(), Protector.Tuning.OPTIMIZED);
      int classes = p.ensemble().numClasses();
      LabeledImages pool = SyntheticImages.generate(classes, (p.batch() * batches + classes - 1) / classes,
          (int) p.upload()[0], (int) p.upload()[1], (int) p.upload()[2], seed);
      List<LabeledImages> list = new ArrayList<>();
      for (int b = 0; b < batches; b++) {
        list.add(pool.slice(b * p.batch(), (b + 1) * p.batch()));
      }
      protectors.add(protector);
      inputs.add(list);
      protector.protect(list.get(0)); // warm-up at this point's shapes
    }
    String loadStart = EngineBenchmark.loadAverage();
    double[][] rates = new double[points.size()][rounds];
    for (int r = 0; r < rounds; r++) {
      for (int i = 0; i < points.size(); i++) {
        long t0 = System.nanoTime();
        for (LabeledImages b : inputs.get(i)) {
          protectors.get(i).protect(b);
        }
        rates[i][r] = points.get(i).batch() * (double) batches / ((System.nanoTime() - t0) / 1e9);
        log.printf(Locale.ROOT, "round %d/%d %s=%-6d %8.2f images/s%n", r + 1, rounds, sweep.key().label(),
            points.get(i).value(), rates[i][r]);
      }
    }
    List<PointResult> results = new ArrayList<>();
    for (int i = 0; i < points.size(); i++) {
      Point p = points.get(i);
      results.add(new PointResult(p, rates[i], protectors.get(i).passesPerImage(),
          FlopCounter.passFlopsPerImage(p.ensemble().last().model(), p.ensemble().inputShape())));
    }
    return new Result(sweep, results, MachinePeak.detect(), loadStart, EngineBenchmark.loadAverage(),
        Instant.now().truncatedTo(ChronoUnit.SECONDS));
  }

  /**
   * Rows of docs/results/performance.json, one per point: {@code where} "engine", {@code sweep} and
   * {@code sweep_value}, the required fields, and {@code relative_cost} = seconds per image against the first point.
   */
  public static List<Map<String, Object>> records(Result r, Map<String, Object> common) {
    List<Map<String, Object>> rows = new ArrayList<>();
    double firstCost = 1 / r.points().get(0).median();
    for (PointResult p : r.points()) {
      Map<String, Object> row = new LinkedHashMap<>();
      row.put("where", "engine");
      row.putAll(common);
      long[] u = p.point().upload();
      long[] model = p.point().ensemble().inputShape();
      ProtectionSettings s = p.point().settings();
      row.put("input", u[0] + "x" + u[1] + "x" + u[2]);
      row.put("model_input", model[0] + "x" + model[1] + "x" + model[2]);
      row.put("batch", p.point().batch());
      row.put("n", s.checkpoints().length == 0 ? p.point().ensemble().size() : s.checkpoints().length);
      row.put("T", s.steps());
      row.put("M", s.innerSteps());
      row.put("sweep", r.sweep().key().label());
      row.put("sweep_value", p.point().value());
      row.put("variant", "optimized");
      double images = p.median();
      row.put("images_per_s", round(images, 3));
      row.put("images_per_s_min", round(p.min(), 3));
      row.put("images_per_s_max", round(p.max(), 3));
      row.put("rounds", p.imagesPerSecond().length);
      row.put("ms_per_image", round(1000 / images, 1));
      row.put("relative_cost", round((1 / images) / firstCost, 3));
      row.put("passes_per_image", p.passesPerImage());
      double passes = images * p.passesPerImage();
      row.put("passes_per_s", round(passes, 1));
      double gflops = passes * p.passFlopsPerImage() / 1e9;
      row.put("gflops_per_s", round(gflops, 2));
      row.put("pass_mflops_per_image", round(p.passFlopsPerImage() / 1e6, 2));
      row.put("peak_gflops_estimate", round(r.peak().gflops(), 1));
      row.put("peak_fraction", round(gflops / r.peak().gflops(), 4));
      row.put("load_average_start", r.loadAverageStart());
      row.put("load_average_end", r.loadAverageEnd());
      row.put("machine", r.peak().describe());
      row.put("date", r.date().toString());
      rows.add(row);
    }
    return rows;
  }

  static double round(double v, int digits) {
    if (Double.isNaN(v) || Double.isInfinite(v)) {
      return v;
    }
    double f = Math.pow(10, digits);
    return Math.round(v * f) / f;
  }
}
