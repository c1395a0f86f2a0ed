package io.sepshield.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The records of several evaluations of one setting pooled into one report, e.g. one evaluation per protecting run
 * (bundles trained with other seeds): the protecting run moves the appropriators' accuracy as much as anything an
 * ablation changes (docs/results.md, fourth ablations), which {@code --repeats} (appropriator seeds only) cannot
 * show. A cell of the pooled report (method, ε, architecture, defense) then holds every protecting run × appropriator
 * seed, and its mean ± sd covers both.
 *
 * <p>Records are only pooled where they are the same setting: a cell whose records differ in data, crafting settings
 * (which name the checkpoint indices, the target map, the step size), appropriator recipe or input is refused, with
 * the field that differs. Checkpoint indices are compared as the protecting model's epochs they name where both
 * records carry them (e.g. indices 1,3,5,7,9 of a bundle with a checkpoint after every epoch and 0..4 of one with a
 * checkpoint every second epoch are both epochs 2,4,6,8,10). A protected run that appears twice (same bundle, seed
 * and settings) is refused too; a clean-trained run that appears in several evaluations (evaluate --clean-from keeps
 * it out of later ones, but a run without it trains the same model again) is counted once.
 *
 * @param records the pooled records, in the order of the sources
 * @param notes what pooling did beyond concatenating, for the report
 */
public record PooledRuns(List<EvaluationRecord> records, List<String> notes) {
  /** The checkpoint indices in a settings string ({@code ProtectionSettings#toString}). */
  private static final Pattern CHECKPOINT_INDICES = Pattern.compile("checkpoints=\\[[^]]*]");

  /** Pools the records of each source (one list per results.json, in order). */
  public static PooledRuns of(List<List<EvaluationRecord>> sources) {
    List<EvaluationRecord> pooled = new ArrayList<>();
    Map<List<Object>, EvaluationRecord> firstOfCell = new HashMap<>();
    Set<List<Object>> runs = new LinkedHashSet<>();
    Set<List<Object>> sameEpochsOtherIndices = new LinkedHashSet<>();
    int repeatedClean = 0;
    for (List<EvaluationRecord> source : sources) {
      for (EvaluationRecord r : source) {
        List<Object> cell = List.of(r.method(), r.eps(), r.arch(), r.defense());
        EvaluationRecord first = firstOfCell.putIfAbsent(cell, r);
        if (first != null) {
          checkSameSetting(first, r);
          if (byEpochs(first, r) && !first.craftingSettings().equals(r.craftingSettings())) {
            sameEpochsOtherIndices.add(cell);
          }
        }
        boolean clean = r.method().equals(EvaluationRunner.NONE);
        // A clean-trained model does not depend on the bundle: the same seed on the same data is the same model.
        List<Object> run = clean ? List.of(cell, r.seed()) : List.of(cell, r.seed(), r.bundle());
        if (!runs.add(run)) {
          if (clean) {
            repeatedClean++;
            continue;
          }
          throw new IllegalArgumentException(String.format(Locale.ROOT, "%s at eps %s on %s (defense %s) with "
              + "bundle %s and appropriator seed %d appears twice: the same run cannot be pooled with itself",
              r.method(), EvaluationRunner.fmt(r.eps()), r.arch(), r.defense(), r.bundle(), r.seed()));
        }
        pooled.add(r);
      }
    }
    List<String> notes = new ArrayList<>();
    if (repeatedClean > 0) {
      notes.add(repeatedClean + " clean-trained run(s) appeared in more than one source and are counted once");
    }
    if (!sameEpochsOtherIndices.isEmpty()) {
      notes.add(sameEpochsOtherIndices.size() + " setting(s) pooled records whose checkpoint indices differ but name "
          + "the same epochs of their protecting models");
    }
    return new PooledRuns(List.copyOf(pooled), List.copyOf(notes));
  }

  /** The protecting bundles the protected records were crafted with, in order of first appearance. */
  public List<String> bundles() {
    return records.stream().filter(r -> !r.method().equals(EvaluationRunner.NONE)).map(EvaluationRecord::bundle)
        .distinct().toList();
  }

  /**
   * One row per protected-trained run, so the spread behind a pooled mean can be read by protecting run: bundle,
   * setting, appropriator seed, final and best clean test accuracy.
   */
  public String runsTable() {
    StringBuilder sb = new StringBuilder("| bundle | method | ε (/255) | arch | defense | appropriator seed | "
        + "clean-trained acc | protected-trained acc | protected-trained best |\n"
        + "|---|---|---|---|---|---|---|---|---|\n");
    for (EvaluationRecord r : records) {
      if (!r.method().equals(EvaluationRunner.NONE)) {
        sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %d | %.2f%% | %.2f%% | %.2f%% |%n",
            r.bundle(), r.method(), EvaluationRunner.fmt(r.eps()), r.arch(), r.defense(), r.seed(),
            100 * r.cleanTrainedAcc(), 100 * r.protectedAcc(), 100 * r.bestAcc()));
      }
    }
    return sb.toString();
  }

  private static void checkSameSetting(EvaluationRecord a, EvaluationRecord b) {
    String[] names = {"dataset", "training images", "test images", "profile", "appropriator epochs",
        "crafting settings", "appropriator batch size", "appropriator schedule", "upload size", "appropriator input",
        "feature layer", "clean model's defense"};
    boolean byEpochs = byEpochs(a, b);
    List<Object> x = setting(a, byEpochs);
    List<Object> y = setting(b, byEpochs);
    for (int i = 0; i < names.length; i++) {
      if (!x.get(i).equals(y.get(i))) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "%s at eps %s on %s (defense %s) is not one "
            + "setting across the sources: %s '%s' against '%s'", a.method(), EvaluationRunner.fmt(a.eps()),
            a.arch(), a.defense(), names[i], x.get(i), y.get(i)));
      }
    }
  }

  /** Whether both records know the epochs of their checkpoints, so that those are compared, not the indices. */
  private static boolean byEpochs(EvaluationRecord a, EvaluationRecord b) {
    return a.checkpointEpochs() != null && !a.checkpointEpochs().isEmpty() && b.checkpointEpochs() != null
        && !b.checkpointEpochs().isEmpty();
  }

  /**
   * What makes two records of one cell the same setting; older records' missing fields read as their defaults. With
   * {@code byEpochs}, the crafting settings name the checkpoints' epochs instead of their indices.
   */
  private static List<Object> setting(EvaluationRecord r, boolean byEpochs) {
    String crafting = byEpochs ? CHECKPOINT_INDICES.matcher(r.craftingSettings())
        .replaceFirst(Matcher.quoteReplacement("checkpoint-epochs=" + r.checkpointEpochs())) : r.craftingSettings();
    return List.of(r.dataset(), r.trainImages(), r.testImages(), r.profile(), r.epochs(), crafting,
        r.batchSize(), r.schedule(), r.craftedSize(), r.appropriatorView(),
        r.method().equals(EvaluationRunner.NONE) || r.method().equals(EvaluationRunner.GIVEN) ? ""
            : r.alignedLayer(),
        r.cleanModelDefense());
  }
}
