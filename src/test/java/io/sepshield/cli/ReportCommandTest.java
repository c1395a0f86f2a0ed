package io.sepshield.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.eval.EvaluationRecord;
import io.sepshield.eval.EvaluationReport;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ReportCommandTest {
  private static final String DATA = "synthetic:classes=2,per-class=4,size=8,channels=1,seed=1";

  @Test
  void poolsTheEvaluationsOfTwoProtectingRunsIntoOneReport(@TempDir Path dir) throws Exception {
    Path a = dir.resolve("a.json");
    Path b = dir.resolve("b.json");
    EvaluationReport.writeJson(List.of(record("none", "run-1", 0.9), record("sep-fa-vr", "run-1", 0.2)), a);
    EvaluationReport.writeJson(List.of(record("sep-fa-vr", "run-2", 0.4)), b);
    ByteArrayOutputStream stdout = new ByteArrayOutputStream();
    int rc = run(stdout, new ByteArrayOutputStream(), "report", "--out", dir.resolve("pooled").toString(),
        a.toString(), b.toString());
    assertEquals(0, rc, stdout.toString());
    assertTrue(stdout.toString().contains("| sep-fa-vr | 8 | resnet8 | none | 2 | 90.00 ± 0.00% | 30.00 ± 14.14% |"),
        stdout.toString());
    String report = Files.readString(dir.resolve("pooled/report.md"));
    assertTrue(report.contains("2 protecting bundle(s): run-1, run-2"), report);
    assertTrue(report.contains("Commands:\n\n```\nsep-shield evaluate --bundle run-1\nsep-shield evaluate --bundle "
        + "run-2\n```"), report);
    assertTrue(report.contains("| run-2 | sep-fa-vr | 8 | resnet8 | none | 7 | 90.00% | 40.00% | 40.00% |"), report);
    assertEquals(3, EvaluationReport.readJson(dir.resolve("pooled/results.json")).size());
    assertEquals(List.of("class-0", "class-1"), ReportCommand.classNames(record("none", "x", 0.9)),
        "class names come from the records' data set");
  }

  @Test
  void runsOfDifferentSettingsAreAOneLineError(@TempDir Path dir) throws Exception {
    Path a = dir.resolve("a.json");
    Path b = dir.resolve("b.json");
    EvaluationReport.writeJson(List.of(record("sep-fa-vr", "run-1", 0.2)), a);
    EvaluationRecord other = record("sep-fa-vr", "run-2", 0.4);
    EvaluationReport.writeJson(List.of(new EvaluationRecord(other.dataset(), other.trainImages(), other.testImages(),
        other.method(), other.profile(), other.eps(), other.arch(), other.defense(), other.cleanTrainedAcc(),
        other.protectedAcc(), other.seed(), other.repeat(), other.command(), 10, other.bundle(),
        other.craftingSettings(), 100, 1, 1, 1, null, null, null, "none", 0, 0, "28x28", "28x28 as uploaded", 128,
        "penultimate", null, null, null, null, null, null)), b);
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = run(new ByteArrayOutputStream(), err, "report", "--out", dir.resolve("pooled").toString(),
        a.toString(), b.toString());
    assertEquals(1, rc);
    assertTrue(err.toString().startsWith("error: sep-fa-vr at eps 8 on resnet8 (defense none) is not one setting "
        + "across the sources: appropriator epochs '30' against '10'"), err.toString());
  }

  private static int run(ByteArrayOutputStream stdout, ByteArrayOutputStream stderr, String... args) {
    PrintStream out = System.out;
    try {
      System.setOut(new PrintStream(stdout, true));
      CommandLine cli = new CommandLine(new SepShieldCommand());
      cli.setExecutionExceptionHandler(SepShieldCommand::reportError);
      cli.setErr(new PrintWriter(stderr, true));
      return cli.execute(args);
    } finally {
      System.setOut(out);
    }
  }

  private static EvaluationRecord record(String method, String bundle, double acc) {
    boolean none = method.equals("none");
    List<Double> curve = List.of(acc / 2, acc);
    return new EvaluationRecord(DATA, 8, 8, method, none ? "" : "fast", none ? 0 : 8, "resnet8", "none", 0.9,
        none ? 0.9 : acc, 7, 0, "sep-shield evaluate --bundle " + bundle, 30, bundle,
        none ? "" : "sep-fa-vr eps=8.0/255", 100, 1, 1, 1, List.of(0.45, 0.9), curve,
        new int[][] {{4, 0}, {0, 4}}, "none", 0, 0, "28x28", "28x28 as uploaded", 128, none ? "" : "penultimate",
        null, null, null, null, null, null);
  }
}
