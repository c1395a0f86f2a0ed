package io.sepshield.eval;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class PooledRunsTest {
  private static final String EARLY = "sep-fa-vr eps=8.0/255 alpha=1.00/255 T=10 M=5 checkpoints=[0, 1, 2, 3, 4] "
      + "targets=half seed=0";

  @Test
  void runsOfTwoProtectingBundlesPoolPerSettingAndTheSharedCleanRunCountsOnce() {
    List<EvaluationRecord> first = List.of(record("none", "b1", 11, "", 0.89), record("sep-fa-vr", "b1", 11, EARLY,
        0.30));
    List<EvaluationRecord> second = List.of(record("none", "b2", 11, "", 0.89), record("sep-fa-vr", "b2", 11, EARLY,
        0.50));
    PooledRuns pooled = PooledRuns.of(List.of(first, second));
    assertEquals(3, pooled.records().size());
    assertEquals(List.of("b1", "b2"), pooled.bundles());
    assertEquals(List.of("1 clean-trained run(s) appeared in more than one source and are counted once"),
        pooled.notes());
    String table = EvaluationReport.table(pooled.records());
    assertTrue(table.contains("| sep-fa-vr | 8 | resnet8 | none | 2 | 89.00 ± 0.00% | 40.00 ± 14.14% |"), table);
    assertTrue(table.contains("| none | 0 | resnet8 | none | 1 | "), table);
    String runs = pooled.runsTable();
    assertTrue(runs.contains("| b1 | sep-fa-vr | 8 | resnet8 | none | 11 | 89.00% | 30.00% |"), runs);
    assertTrue(runs.contains("| b2 | sep-fa-vr | 8 | resnet8 | none | 11 | 89.00% | 50.00% |"), runs);
    assertFalse(runs.contains("| none | 0 |"), "only protected-trained runs are listed");
  }

  @Test
  void recordsOfAnotherSettingOrTheSameRunTwiceAreRefused() {
    List<EvaluationRecord> early = List.of(record("sep-fa-vr", "b1", 11, EARLY, 0.3));
    List<EvaluationRecord> even = List.of(record("sep-fa-vr", "b2", 11, EARLY.replace("0, 1, 2, 3, 4", "1, 3, 5, 7, 9"),
        0.5));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PooledRuns.of(List.of(early, even)));
    assertTrue(e.getMessage().contains("crafting settings"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> PooledRuns.of(List.of(early, early)));
    assertTrue(e.getMessage().contains("appears twice"), e.getMessage());
    // Another appropriator seed of the same bundle is another run (what evaluate --repeats adds).
    assertEquals(2, PooledRuns.of(List.of(early, List.of(record("sep-fa-vr", "b1", 12, EARLY, 0.4)))).records()
        .size());
  }

  @Test
  void otherCheckpointIndicesPoolWhenBothRecordsNameTheSameEpochs() {
    String even = EARLY.replace("0, 1, 2, 3, 4", "1, 3, 5, 7, 9");
    // A five-checkpoint bundle (every second epoch) against a ten-checkpoint one (every epoch), both epochs 2..10.
    EvaluationRecord fiveOfFive = withEpochs(record("sep-fa-vr", "b5", 11, EARLY, 0.3), List.of(2, 4, 6, 8, 10));
    EvaluationRecord fiveOfTen = withEpochs(record("sep-fa-vr", "b10", 11, even, 0.5), List.of(2, 4, 6, 8, 10));
    PooledRuns pooled = PooledRuns.of(List.of(List.of(fiveOfFive), List.of(fiveOfTen)));
    assertEquals(2, pooled.records().size());
    assertTrue(pooled.notes().get(0).contains("checkpoint indices differ but name the same epochs"),
        pooled.notes().toString());
    // Other epochs, or a record that does not know its epochs, are still another setting.
    EvaluationRecord oddEpochs = withEpochs(record("sep-fa-vr", "b10", 11, even, 0.5), List.of(1, 3, 5, 7, 9));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PooledRuns.of(List.of(List.of(fiveOfFive), List.of(oddEpochs))));
    assertTrue(e.getMessage().contains("checkpoint-epochs=[1, 3, 5, 7, 9]"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> PooledRuns.of(List.of(List.of(fiveOfFive),
        List.of(record("sep-fa-vr", "b10", 11, even, 0.5)))));
    // Same indices, epochs known on one side only: compared as before, by index.
    assertEquals(2, PooledRuns.of(List.of(List.of(fiveOfFive), List.of(record("sep-fa-vr", "b6", 11, EARLY, 0.4))))
        .records().size());
  }

  private static EvaluationRecord withEpochs(EvaluationRecord r, List<Integer> epochs) {
    return new EvaluationRecord(r.dataset(), r.trainImages(), r.testImages(), r.method(), r.profile(), r.eps(),
        r.arch(), r.defense(), r.cleanTrainedAcc(), r.protectedAcc(), r.seed(), r.repeat(), r.command(), r.epochs(),
        r.bundle(), r.craftingSettings(), r.gradientEvaluationsPerImage(), r.craftingSeconds(),
        r.craftingImagesPerSecond(), r.trainSeconds(), r.cleanCurve(), r.protectedCurve(), r.confusion(),
        r.cleanDefense(), r.bestAcc(), r.cleanBestAcc(), r.uploadSize(), r.appropriatorInput(),
        r.appropriatorBatchSize(), r.featureLayer(), r.appropriatorSchedule(), epochs, r.targetClasses(),
        r.redirected(), r.backgroundDelta(), r.protectedSha256());
  }

  private static EvaluationRecord record(String method, String bundle, long seed, String settings, double acc) {
    double clean = 0.89;
    boolean none = method.equals("none");
    return new EvaluationRecord("fashion-mnist:train (balanced subset of 4000)", 4000, 10000, method,
        none ? "" : "cpu", none ? 0 : 8, "resnet8", "none", clean, none ? clean : acc, seed, 0,
        "sep-shield evaluate --bundle " + bundle, 30, bundle, settings, 100, 1, 1, 1, List.of(acc), List.of(acc),
        null, "none", 0, 0, "28x28", "28x28 as uploaded", 128, none ? "" : "penultimate", null, null, null, null, null,
        null);
  }
}
