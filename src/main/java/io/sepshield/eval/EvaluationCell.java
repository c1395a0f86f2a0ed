package io.sepshield.eval;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;

/**
 * The training runs of one setting (method, ε, architecture, defense): one with {@code --repeats 1}, R otherwise,
 * each with its own appropriator seed. What the report's table and figures show per setting.
 */
record EvaluationCell(List<EvaluationRecord> runs) {
  /** Mean and sample standard deviation (n − 1 in the denominator; 0 for a single run). */
  record MeanSd(double mean, double sd, int n) {
    static MeanSd of(double[] values) {
      double mean = 0;
      for (double v : values) {
        mean += v / values.length;
      }
      double squares = 0;
      for (double v : values) {
        squares += (v - mean) * (v - mean);
      }
      return new MeanSd(mean, values.length > 1 ? Math.sqrt(squares / (values.length - 1)) : 0, values.length);
    }
  }

  /** Records grouped by setting, settings and runs in the order they were recorded. */
  static List<EvaluationCell> group(List<EvaluationRecord> records) {
    Map<List<Object>, List<EvaluationRecord>> cells = new LinkedHashMap<>();
    for (EvaluationRecord r : records) {
      cells.computeIfAbsent(List.of(r.method(), r.eps(), r.arch(), r.defense()), k -> new ArrayList<>()).add(r);
    }
    return cells.values().stream().map(EvaluationCell::new).toList();
  }

  EvaluationRecord first() {
    return runs.get(0);
  }

  /** Whether every run knows its redirected share (none, noise and given sets do not), so the cell can show one. */
  boolean knowsRedirection() {
    return runs.stream().allMatch(r -> r.redirected() != null);
  }

  MeanSd stat(ToDoubleFunction<EvaluationRecord> value) {
    return MeanSd.of(runs.stream().mapToDouble(value).toArray());
  }

  /** The epoch-by-epoch mean of a curve over the runs. */
  double[] meanCurve(Function<EvaluationRecord, List<Double>> curve) {
    double[] mean = new double[curve.apply(first()).size()];
    for (EvaluationRecord r : runs) {
      List<Double> c = curve.apply(r);
      for (int e = 0; e < mean.length; e++) {
        mean[e] += c.get(e) / runs.size();
      }
    }
    return mean;
  }

  /** The epoch-by-epoch sample standard deviation of a curve over the runs (0 for a single run). */
  double[] sdCurve(Function<EvaluationRecord, List<Double>> curve) {
    double[] sd = new double[curve.apply(first()).size()];
    for (int e = 0; e < sd.length; e++) {
      double[] values = new double[runs.size()];
      for (int r = 0; r < values.length; r++) {
        values[r] = curve.apply(runs.get(r)).get(e);
      }
      sd[e] = MeanSd.of(values).sd();
    }
    return sd;
  }

  /** "seed S" for one run, "seeds [S1, S2, ...]" for several. */
  String seeds() {
    return runs.size() == 1 ? "seed " + first().seed()
        : "seeds " + runs.stream().map(EvaluationRecord::seed).toList();
  }
}
