package io.sepshield.cli;

import io.sepshield.data.DataSources;
import io.sepshield.eval.EvaluationRecord;
import io.sepshield.eval.EvaluationReport;
import io.sepshield.eval.PooledRuns;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** One report from the records of several evaluations, e.g. one per protecting run, pooled per setting. */
@Command(name = "report", mixinStandardHelpOptions = true,
    description = "Pool the results.json of several evaluations of one setting (e.g. one per protecting run, "
        + "bundles trained with other seeds) into one report: every cell's mean ± sd then covers protecting runs "
        + "and appropriator seeds. Trains nothing.")
public class ReportCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "RESULTS", description = "results.json files written by evaluate.")
  List<Path> sources;

  @Option(names = "--out", required = true, description = "Output directory: report.md, results.json, figures.")
  Path out;

  @Override
  public Integer call() throws IOException {
    List<List<EvaluationRecord>> read = new ArrayList<>();
    for (Path source : sources) {
      read.add(EvaluationReport.readJson(source));
    }
    PooledRuns pooled = PooledRuns.of(read);
    if (pooled.records().isEmpty()) {
      throw new IllegalArgumentException("no records in " + sources);
    }
    StringBuilder preamble = new StringBuilder(String.format("Pooled from %d evaluations (%s); %d protecting "
        + "bundle(s): %s. Each cell's mean ± sd is over every protecting run and appropriator seed it holds.",
        sources.size(), String.join(", ", sources.stream().map(Path::toString).toList()), pooled.bundles().size(),
        String.join(", ", pooled.bundles())));
    pooled.notes().forEach(n -> preamble.append(' ').append(n).append('.'));
    preamble.append("\n\nThe protected-trained runs one by one:\n\n").append(pooled.runsTable());
    Path report = EvaluationReport.write(pooled.records(), out, classNames(pooled.records().get(0)),
        preamble.toString());
    System.out.print(EvaluationReport.table(pooled.records()));
    System.out.println("wrote " + out.resolve("results.json") + " and " + report);
    return 0;
  }

  /**
   * The class names for the confusion matrices, from the records' data set where it can be read here, else numbered:
   * records name their data (e.g. "fashion-mnist:train (balanced subset of 4000)") but not its classes.
   */
  static List<String> classNames(EvaluationRecord record) {
    String dataset = record.dataset();
    int cut = dataset.indexOf(" (");
    try {
      return DataSources.load(cut < 0 ? dataset : dataset.substring(0, cut)).classNames();
    } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
      int k = record.confusion() == null ? 0 : record.confusion().length;
      return IntStream.range(0, k).mapToObj(i -> "class " + i).toList();
    }
  }
}
