package io.sepshield.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.eval.EvaluationRecord;
import io.sepshield.eval.EvaluationReport;
import io.sepshield.eval.EvaluationRunner;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class EvaluateCommandTest {
  @Test
  void evaluatesWithoutABundleWhenNothingIsCraftedAndRecordsTheCommand(@TempDir Path out) throws Exception {
    String[] args = {"evaluate", "--train", "synthetic:classes=3,per-class=20,size=12,channels=1,seed=1",
        "--train-limit", "0", "--test", "synthetic:classes=3,per-class=10,size=12,channels=1,seed=2",
        "--methods", "none", "--archs", "resnet8", "--defenses", "none,bits:2", "--epochs", "1", "--device", "cpu",
        "--out", out.toString()};
    String table = runForTable(args);
    assertTrue(table.contains("| none | 0 | resnet8 | bits:2 |"), table);
    List<EvaluationRecord> records = EvaluationReport.readJson(out.resolve("results.json"));
    assertEquals(2, records.size());
    assertEquals("sep-shield " + String.join(" ", args), records.get(0).command());
    assertEquals(60, records.get(0).trainImages());
    assertTrue(Files.exists(out.resolve("report.md")));
  }

  @Test
  void repeatsTrainEachSettingRTimesWithTheirOwnSeeds(@TempDir Path out) throws Exception {
    String table = runForTable("evaluate", "--train", "synthetic:classes=2,per-class=8,size=8,channels=1,seed=1",
        "--train-limit", "0", "--test", "synthetic:classes=2,per-class=4,size=8,channels=1,seed=2", "--methods",
        "none", "--archs", "resnet8", "--epochs", "1", "--repeats", "2", "--seed", "5", "--device", "cpu", "--out",
        out.toString());
    assertTrue(table.contains("| none | 0 | resnet8 | none | 2 | "), table);
    assertTrue(table.contains(" ± "), table);
    List<EvaluationRecord> records = EvaluationReport.readJson(out.resolve("results.json"));
    assertEquals(List.of(0, 1), records.stream().map(EvaluationRecord::repeat).toList());
    assertEquals(List.of(EvaluationRunner.appropriatorSeed(5, 0, 0), EvaluationRunner.appropriatorSeed(5, 0, 1)),
        records.stream().map(EvaluationRecord::seed).toList());
  }

  @Test
  void theAppropriatorsBatchSizeReachesTheirTraining(@TempDir Path out) throws Exception {
    runForTable("evaluate", "--train", "synthetic:classes=2,per-class=8,size=8,channels=1,seed=1", "--train-limit",
        "0", "--test", "synthetic:classes=2,per-class=4,size=8,channels=1,seed=2", "--methods", "none", "--archs",
        "resnet8", "--epochs", "1", "--appropriator-batch-size", "5", "--device", "cpu", "--out", out.toString());
    String report = Files.readString(out.resolve("report.md"));
    assertTrue(report.contains("appropriators 1 epoch, batch 5, SGD"), report);
    assertFalse(report.contains("batch 128"), report);
  }

  @Test
  void classMeanAveragesAgainstTheRestOfTheTrainingSourceAndNeverTheTestData(@TempDir Path out) throws Exception {
    String train = "synthetic:classes=3,per-class=20,size=12,channels=1,seed=1";
    String test = "synthetic:classes=3,per-class=10,size=12,channels=1,seed=2";
    String[] base = {"evaluate", "--train", train, "--test", test, "--methods", "none", "--archs", "resnet8",
        "--defenses", "class-mean:4", "--epochs", "1", "--device", "cpu", "--out", out.toString()};
    String[] onTest = java.util.stream.Stream.concat(java.util.Arrays.stream(base),
        java.util.stream.Stream.of("--train-limit", "24", "--defense-reference", test)).toArray(String[]::new);
    assertTrue(runForError(onTest).contains("must not be the test data"));
    String[] nothingLeft = java.util.stream.Stream.concat(java.util.Arrays.stream(base),
        java.util.stream.Stream.of("--train-limit", "0")).toArray(String[]::new);
    assertTrue(runForError(nothingLeft).contains("no image is left"));
    String table = runForTable("evaluate", "--train", train, "--train-limit", "24", "--test", test, "--methods",
        "none", "--archs", "resnet8", "--defenses", "class-mean:4", "--epochs", "1", "--device", "cpu", "--out",
        out.toString());
    assertTrue(table.contains("| none | 0 | resnet8 | class-mean:4 |"), table);
  }

  private static String runForError(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    CommandLine cli = new CommandLine(new SepShieldCommand());
    cli.setExecutionExceptionHandler(SepShieldCommand::reportError);
    cli.setErr(new java.io.PrintWriter(err, true));
    int rc = cli.execute(args);
    assertEquals(1, rc, err.toString());
    return err.toString();
  }

  /** Runs the command line, stderr muted; returns stdout (the table) after checking the exit code. */
  private static String runForTable(String... args) {
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream table = new ByteArrayOutputStream();
    int rc;
    try {
      System.setOut(new PrintStream(table, true));
      System.setErr(new PrintStream(new ByteArrayOutputStream(), true));
      rc = new CommandLine(new SepShieldCommand()).execute(args);
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
    assertEquals(0, rc, table.toString());
    return table.toString();
  }

  @Test
  void craftingWithoutABundleIsAOneLineError(@TempDir Path out) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    CommandLine cli = new CommandLine(new SepShieldCommand());
    cli.setExecutionExceptionHandler(SepShieldCommand::reportError);
    cli.setErr(new java.io.PrintWriter(err, true));
    int rc = cli.execute("evaluate", "--bundle", out.resolve("nothing").toString(), "--train",
        "synthetic:classes=2,per-class=4,size=8,channels=1,seed=1", "--test",
        "synthetic:classes=2,per-class=4,size=8,channels=1,seed=2", "--methods", "sep-fa-vr", "--device", "cpu",
        "--out", out.toString());
    assertEquals(1, rc);
    assertTrue(err.toString().startsWith("error: no bundle at"), err.toString());
  }
}
