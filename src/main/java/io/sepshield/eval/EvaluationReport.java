package io.sepshield.eval;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sepshield.report.Charts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.jfree.chart.JFreeChart;

/**
 * Writes an evaluation: results.json (one {@link EvaluationRecord} per setting), report.md with the table, and the
 * figures (accuracy curves per method, clean vs protected bars per ε, a confusion matrix, before/after strips).
 * Every figure's caption carries the exact command, the settings and the seeds.
 */
public final class EvaluationReport {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private EvaluationReport() {}

  public static void writeJson(List<EvaluationRecord> records, Path file) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    JSON.writeValue(file.toFile(), records);
  }

  public static List<EvaluationRecord> readJson(Path file) throws IOException {
    return JSON.readValue(file.toFile(), new TypeReference<List<EvaluationRecord>>() {});
  }

  /**
   * The Markdown results table (also printed to stdout by the command): one row per setting. With several runs per
   * setting (--repeats) a "runs" column appears and accuracies, drop and training time are means, accuracies and drop
   * as mean ± sample standard deviation over the runs.
   */
  public static String table(List<EvaluationRecord> records) {
    List<EvaluationCell> cells = EvaluationCell.group(records);
    boolean repeated = cells.stream().anyMatch(c -> c.runs().size() > 1);
    boolean redirection = records.stream().anyMatch(r -> r.redirected() != null);
    StringBuilder sb = new StringBuilder();
    sb.append("| method | ε (/255) | arch | defense | ").append(repeated ? "runs | " : "")
        .append("clean-trained acc | protected-trained acc | drop | clean-trained best | protected-trained best | ")
        .append(redirection ? "redirected | " : "").append("grad evals/img | crafting s | train s |\n");
    sb.append("|---|---|---|---|").append(repeated ? "---|" : "").append("---|---|---|---|---|")
        .append(redirection ? "---|" : "").append("---|---|---|\n");
    for (EvaluationCell c : cells) {
      EvaluationRecord r = c.first();
      sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | ", r.method(), EvaluationRunner.fmt(r.eps()),
          r.arch(), r.defense()));
      if (repeated) {
        sb.append(c.runs().size()).append(" | ");
      }
      sb.append(String.format(Locale.ROOT, "%s | %s | %s | %s | %s | ",
          percent(c.stat(EvaluationRecord::cleanTrainedAcc), "%.2f%%", "%.2f ± %.2f%%"),
          percent(c.stat(EvaluationRecord::protectedAcc), "%.2f%%", "%.2f ± %.2f%%"),
          percent(c.stat(EvaluationRecord::drop), "%+.2f", "%+.2f ± %.2f"),
          percent(c.stat(EvaluationRecord::cleanBestAcc), "%.2f%%", "%.2f ± %.2f%%"),
          percent(c.stat(EvaluationRecord::bestAcc), "%.2f%%", "%.2f ± %.2f%%")));
      if (redirection) {
        // A row whose runs do not all know their targets (none, noise, a given set) has no redirection to show.
        sb.append(c.knowsRedirection()
            ? percent(c.stat(EvaluationRecord::redirected), "%.2f%%", "%.2f ± %.2f%%") : "–").append(" | ");
      }
      sb.append(String.format(Locale.ROOT, "%d | %.1f | %.1f |%n", r.gradientEvaluationsPerImage(),
          r.craftingSeconds(), c.stat(EvaluationRecord::trainSeconds).mean()));
    }
    return sb.toString();
  }

  /** A fraction as percent: {@code single} for one run, {@code withSd} (mean, sd) for several. */
  private static String percent(EvaluationCell.MeanSd s, String single, String withSd) {
    return s.n() == 1 ? String.format(Locale.ROOT, single, 100 * s.mean())
        : String.format(Locale.ROOT, withSd, 100 * s.mean(), 100 * s.sd());
  }

  /** Writes everything into {@code out} (strips are written by the runner) and returns report.md. */
  public static Path write(List<EvaluationRecord> records, Path out, List<String> classNames, String preamble)
      throws IOException {
    Files.createDirectories(out);
    writeJson(records, out.resolve("results.json"));
    // One command for an evaluation; several for records pooled from several (sep-shield report).
    List<String> commands = records.stream().map(EvaluationRecord::command).distinct().toList();
    StringBuilder md = new StringBuilder("# Protection efficacy\n\n");
    md.append(preamble).append(commands.size() > 1 ? "\n\nCommands:\n\n```\n" : "\n\nCommand:\n\n```\n")
        .append(commands.isEmpty() ? "" : String.join("\n", commands)).append("\n```\n\n");
    md.append("Accuracies are on the clean test set after the last epoch; \"best\" columns give the best epoch's "
        + "(what an appropriator who early-stops on clean validation data keeps). The clean-trained and the "
        + "protected-trained model of an architecture share the appropriator seed, and a defended row's "
        + "clean-trained model was trained under the same defense, so its drop is what the protection costs "
        + "the defended appropriator.");
    if (records.stream().anyMatch(r -> r.redirected() != null)) {
      md.append(" \"Redirected\" is the share of clean test images the protected-trained model puts in a class "
          + "whose training images were pushed toward the image's own class (a y with g(y) = the true class): the "
          + "mistake the targeted perturbations aim at, as opposed to a collapse onto a few classes.");
    }
    List<EvaluationCell> cells = EvaluationCell.group(records);
    int runs = cells.stream().mapToInt(c -> c.runs().size()).max().orElse(1);
    if (runs > 1) {
      md.append(" Settings were trained up to ").append(runs).append(" times (the runs column), each run with its "
          + "own appropriator seed or, in a pooled report, its own protecting run (a run's clean-trained and "
          + "protected-trained model share the seed); the table gives mean ± sample standard deviation over the "
          + "runs, the drop per run before averaging, and the figures show means. results.json holds every run.");
    }
    md.append("\n\n").append(table(records)).append('\n');

    String section = null;
    for (Figure f : writeFigures(records, out, classNames)) {
      if (!f.section().equals(section)) {
        section = f.section();
        md.append("## ").append(section).append("\n\n");
      }
      md.append("![").append(f.alt()).append("](").append(f.file()).append(")\n\n");
    }

    md.append("## Clean / protected / amplified difference\n\n");
    Set<String> strips = new LinkedHashSet<>();
    for (EvaluationRecord r : records) {
      if (!r.method().equals(EvaluationRunner.NONE)) {
        strips.add(EvaluationRunner.stripName(r.method(), r.eps()));
      }
    }
    for (String s : strips) {
      if (Files.exists(out.resolve(s))) {
        md.append("![").append(s).append("](").append(s).append(")\n\n");
      }
    }
    Path report = out.resolve("report.md");
    Files.writeString(report, md.toString());
    return report;
  }

  /**
   * Draws the report's figures (curves, bars, confusion matrix) into {@code out} from the records alone, e.g. the
   * results.json of an earlier run; before/after strips need the images and are the runner's.
   */
  public static List<Figure> writeFigures(List<EvaluationRecord> records, Path out, List<String> classNames)
      throws IOException {
    Files.createDirectories(out);
    List<Figure> figures = figures(records, classNames);
    for (Figure f : figures) {
      Charts.write(f.chart(), out.resolve(f.file()), f.width(), f.height());
    }
    return figures;
  }

  /** A figure of the report: the section it goes under, its alt text, file name, chart and size in pixels. */
  public record Figure(String section, String alt, String file, JFreeChart chart, int width, int height) {}

  /**
   * The report's figures: accuracy curves per (method, ε), clean vs protected bars per ε, the confusion matrix of the
   * main setting. Every one carries its caption: the command, the settings and the seeds.
   */
  static List<Figure> figures(List<EvaluationRecord> records, List<String> classNames) {
    List<Figure> figures = new ArrayList<>();
    String command = records.isEmpty() ? "" : records.get(0).command();
    List<EvaluationCell> cells = EvaluationCell.group(records);
    int runs = cells.stream().mapToInt(c -> c.runs().size()).max().orElse(1);
    // Accuracy curves: one figure per (method, ε), a clean and a protected curve per architecture and defense; with
    // several runs per setting, the mean curve of the runs.
    Map<String, List<EvaluationCell>> bySet = new LinkedHashMap<>();
    for (EvaluationCell c : cells) {
      bySet.computeIfAbsent(c.first().method() + "-eps" + EvaluationRunner.fmt(c.first().eps()),
          k -> new ArrayList<>()).add(c);
    }
    double[] percentRange = {0, 100};
    for (Map.Entry<String, List<EvaluationCell>> e : bySet.entrySet()) {
      List<Charts.Curve> curves = new ArrayList<>();
      Set<String> cleanDone = new LinkedHashSet<>();
      StringBuilder seeds = new StringBuilder();
      for (EvaluationCell c : e.getValue()) {
        EvaluationRecord r = c.first();
        boolean repeated = c.runs().size() > 1;
        String mean = repeated ? " (mean ± sd of " + c.runs().size() + ")" : "";
        // Named by the defense its clean-trained model was trained under (records from before 2026-12-01 have
        // none: their clean model was always the undefended one, so they share one curve).
        String cleanDefense = r.cleanModelDefense();
        String cleanName = r.arch() + " clean-trained" + (cleanDefense.equals("none") ? "" : " + " + cleanDefense);
        // The clean-trained reference of each defense, dashed, once per figure (every method shares it).
        if (cleanDone.add(cleanName)) {
          curves.add(curve(cleanName + mean, c, EvaluationRecord::cleanCurve, repeated).asDashed());
          seeds.append(r.arch()).append(cleanDefense.equals("none") ? "" : " + " + cleanDefense).append(' ')
              .append(c.seeds()).append("; ");
        }
        // Method none under the clean model's own defense is that clean model: drawn once, as the dashed curve.
        if (!(r.method().equals(EvaluationRunner.NONE) && cleanDefense.equals(r.defense()))) {
          curves.add(curve(r.arch() + " " + r.method() + (r.defense().equals("none") ? "" : " + " + r.defense())
              + mean, c, EvaluationRecord::protectedCurve, repeated));
        }
      }
      EvaluationRecord first = e.getValue().get(0).first();
      String file = "curves-" + e.getKey() + ".png";
      String title = first.method().equals(EvaluationRunner.NONE)
          ? "Appropriators trained on the clean images, tested on clean images"
          : "Appropriators trained on " + first.method() + " (ε " + EvaluationRunner.fmt(first.eps())
              + "/255), tested on clean images";
      figures.add(new Figure("Test accuracy per epoch", e.getKey(), file, Charts.lines(title, "epoch",
          "clean test accuracy (%)", percentRange, curves, command + " | " + settings(first) + " | " + seeds),
          Charts.WIDTH, Charts.HEIGHT));
    }

    // Clean vs protected per architecture, one figure per ε, defense "none": means over the runs, ± sd as error
    // bars when there are several.
    Set<Double> epsValues = new LinkedHashSet<>();
    for (EvaluationRecord r : records) {
      if (r.eps() > 0) {
        epsValues.add(r.eps());
      }
    }
    List<String> archs = records.stream().map(EvaluationRecord::arch).distinct().toList();
    for (double eps : epsValues) {
      List<Charts.Bars> bars = new ArrayList<>();
      bars.add(bars("clean-trained", archs, a -> cells.stream().filter(c -> c.first().arch().equals(a)
          && c.first().defense().equals("none")).findFirst(), EvaluationRecord::cleanTrainedAcc, runs > 1));
      List<String> methods = records.stream().filter(r -> r.eps() == eps).map(EvaluationRecord::method).distinct()
          .toList();
      for (String m : methods) {
        bars.add(bars(m, archs, a -> cells.stream().filter(c -> c.first().arch().equals(a)
            && c.first().method().equals(m) && c.first().eps() == eps && c.first().defense().equals("none"))
            .findFirst(), EvaluationRecord::protectedAcc, runs > 1));
      }
      String file = "bars-eps" + EvaluationRunner.fmt(eps) + ".png";
      figures.add(new Figure("Clean-trained vs protected-trained", "bars", file, Charts.bars("Clean test accuracy, ε " + EvaluationRunner.fmt(eps) + "/255, no defense"
          + (runs > 1 ? " (mean ± sd of " + runs + " runs)" : ""), "architecture", "clean test accuracy (%)",
          percentRange, archs, bars, command + " | profile " + records.stream().map(EvaluationRecord::profile)
              .filter(p -> !p.isEmpty()).findFirst().orElse("-") + " | appropriator seeds " + seedList(cells)),
          Charts.WIDTH, Charts.HEIGHT));
    }

    // Where the clean test images went, per protected setting whose target classes are known: right, to a class
    // whose training images were pushed toward their own (what the targeted methods aim at), or elsewhere. Means
    // over the runs.
    List<EvaluationCell> targeted = cells.stream().filter(EvaluationCell::knowsRedirection).toList();
    if (!targeted.isEmpty()) {
      List<String> rows = targeted.stream().map(c -> c.first().method() + " ε" + EvaluationRunner.fmt(c.first().eps())
          + " " + c.first().arch() + (c.first().defense().equals("none") ? "" : " + " + c.first().defense())).toList();
      double[] right = targeted.stream().mapToDouble(c -> 100 * c.stat(EvaluationRecord::protectedAcc).mean())
          .toArray();
      double[] redirected = targeted.stream().mapToDouble(c -> 100 * c.stat(EvaluationRecord::redirected).mean())
          .toArray();
      double[] elsewhere = new double[rows.size()];
      for (int i = 0; i < elsewhere.length; i++) {
        elsewhere[i] = Math.max(0, 100 - right[i] - redirected[i]);
      }
      figures.add(new Figure("Where the clean test images went", "outcomes", "outcomes.png", Charts.stacked(
          "Protected-trained models on the clean test set" + (runs > 1 ? " (means of up to " + runs + " runs)" : ""),
          "share of the clean test images (%)", rows, List.of(new Charts.Bars("right class", right, null),
              new Charts.Bars("redirected: a class pushed toward the image's own", redirected, null),
              new Charts.Bars("elsewhere", elsewhere, null)),
          command + " | target classes " + targeted.get(0).first().targetClasses() + " | appropriator seeds "
              + seedList(targeted)), Charts.WIDTH, Math.max(Charts.HEIGHT / 2, 160 + 48 * rows.size())));
    }

    // Confusion matrix of the main setting: the last protection method listed, first ε, first arch, no defense.
    EvaluationRecord main = null;
    for (EvaluationRecord r : records) {
      // Records come method by method, ε then arch: the first record of each method replaces the previous.
      if (!r.method().equals(EvaluationRunner.NONE) && r.defense().equals("none")
          && (main == null || !r.method().equals(main.method()))) {
        main = r;
      }
    }
    if (main != null && main.confusion() != null) {
      figures.add(new Figure("Confusion matrix (" + main.method() + ", " + main.arch() + ")", "confusion",
          "confusion.png", Charts.confusion(main.arch() + " trained on " + main.method() + " (ε "
          + EvaluationRunner.fmt(main.eps()) + "/255): clean test set, acc "
          + String.format(Locale.ROOT, "%.2f%%", 100 * main.protectedAcc()), main.confusion(), classNames,
          command + " | " + settings(main) + " | seed " + main.seed()), Charts.CONFUSION_WIDTH,
          Charts.CONFUSION_HEIGHT));
    }

    return figures;
  }

  private static String settings(EvaluationRecord r) {
    return (r.craftingSettings().isEmpty() ? "method " + r.method() : r.craftingSettings()) + "; appropriator "
        + r.epochs() + " epochs on " + r.trainImages() + " images of " + r.dataset();
  }

  /** Per architecture its seed, or the list of its seeds with several runs per setting. */
  private static String seedList(List<EvaluationCell> cells) {
    Map<String, Object> seeds = new LinkedHashMap<>();
    for (EvaluationCell c : cells) {
      List<Long> s = c.runs().stream().map(EvaluationRecord::seed).toList();
      seeds.putIfAbsent(c.first().arch(), s.size() == 1 ? s.get(0) : s);
    }
    return seeds.toString();
  }

  private static double[] percent(double[] values) {
    return java.util.Arrays.stream(values).map(v -> 100 * v).toArray();
  }

  /** A cell's mean curve in percent, with its sd band when the setting was trained more than once. */
  private static Charts.Curve curve(String name, EvaluationCell c,
      java.util.function.Function<EvaluationRecord, List<Double>> which, boolean repeated) {
    Charts.Curve curve = Charts.Curve.of(name, percent(c.meanCurve(which)));
    return repeated ? curve.withSd(percent(c.sdCurve(which))) : curve;
  }

  /** One bar per architecture (NaN where the setting was not run), mean ± sd in percent with several runs. */
  private static Charts.Bars bars(String name, List<String> archs,
      java.util.function.Function<String, java.util.Optional<EvaluationCell>> cell,
      java.util.function.ToDoubleFunction<EvaluationRecord> value, boolean repeated) {
    double[] mean = new double[archs.size()];
    double[] sd = new double[archs.size()];
    for (int i = 0; i < archs.size(); i++) {
      EvaluationCell.MeanSd s = cell.apply(archs.get(i)).map(c -> c.stat(value)).orElse(null);
      mean[i] = s == null ? Double.NaN : 100 * s.mean();
      sd[i] = s == null ? Double.NaN : 100 * s.sd();
    }
    return new Charts.Bars(name, mean, repeated ? sd : null);
  }
}
