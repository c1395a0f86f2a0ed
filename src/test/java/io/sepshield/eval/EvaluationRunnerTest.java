package io.sepshield.eval;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import io.sepshield.data.LabeledImages;
import io.sepshield.report.Charts;
import io.sepshield.sep.ClassPattern;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.testing.TinyModels;
import io.sepshield.train.ClassifierMetrics;
import io.sepshield.train.TrainingConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EvaluationRunnerTest {
  private static final EvaluationRunner.ModelFactory TINY =
      (arch, data) -> TinyModels.tinyClassifier(data.channels(), data.numClasses());

  private static final int[] OFFSETS = {-72, 72, -24, 24};

  /**
   * A planted shortcut: every training image of class k gets a class-specific brightness offset, absent from the
   * test images, and its texture is taken from a random image of any class. Labels stay; in training the shortcut
   * is the only feature that predicts them, so a model that learns it has nothing to use on clean test images.
   * (With the textures kept, the tiny model learns both and the test would measure little.)
   */
  static LabeledImages withShortcut(LabeledImages clean, long seed) {
    byte[] src = clean.rawPixels();
    byte[] px = new byte[src.length];
    int size = clean.imageBytes();
    java.util.Random random = new java.util.Random(seed);
    for (int i = 0; i < clean.size(); i++) {
      int from = random.nextInt(clean.size()) * size;
      int offset = OFFSETS[clean.label(i)];
      for (int p = 0; p < size; p++) {
        px[i * size + p] = (byte) Math.max(0, Math.min(255, (src[from + p] & 0xff) + offset));
      }
    }
    return clean.withPixels(px);
  }

  /** Method none (and {@code given} when not null), defenses none and bits:1, the tiny model, run seed 3. */
  private static EvaluationRunner.Spec noneAndBits1(LabeledImages train, LabeledImages test, TrainingConfig config,
      LabeledImages given, Path out, int repeats) {
    return new EvaluationRunner.Spec(train, "textures", test, null, "", List.of("none"), List.of(), Profile.FAST,
        List.of("tiny"), List.of(Defenses.NONE, new BitDepthDefense(1)), config, 3, "test-command", Device.cpu(), 32,
        given, out, repeats);
  }

  private static TrainingConfig epochs(int epochs, int batchSize) {
    return new TrainingConfig(epochs, batchSize, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 0, false, 0);
  }

  @Test
  void aPlantedShortcutIsLearnedAndCleanTestAccuracyDrops(@TempDir Path out) throws Exception {
    LabeledImages train = TinyModels.textures(4, 40, 1, 11);
    LabeledImages test = TinyModels.textures(4, 25, 1, 12);
    LabeledImages poisoned = withShortcut(train, 5);
    EvaluationRunner.Spec spec = noneAndBits1(train, test, epochs(3, 32), poisoned, out, 1);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<EvaluationRecord> records = new EvaluationRunner(new PrintStream(log, true), TINY).run(spec);

    // given × {none, bits:1} and none × {bits:1}; none × none reuses the clean-trained run.
    assertEquals(4, records.size());
    EvaluationRecord given = records.get(0);
    assertEquals("given", given.method());
    assertEquals("none", given.defense());
    assertTrue(given.eps() >= 72, "max |δ| " + given.eps());
    assertEquals(3, given.protectedCurve().size());
    assertTrue(given.cleanTrainedAcc() > 0.8, "clean-trained model should learn the textures: "
        + given.cleanTrainedAcc());
    assertTrue(given.protectedAcc() < given.cleanTrainedAcc() - 0.25, "shortcut-trained model should do worse on "
        + "clean images: " + given.protectedAcc() + " vs " + given.cleanTrainedAcc());
    // The reported accuracy is what the confusion matrix says.
    int correct = 0;
    int total = 0;
    for (int t = 0; t < 4; t++) {
      for (int p = 0; p < 4; p++) {
        total += given.confusion()[t][p];
        correct += t == p ? given.confusion()[t][p] : 0;
      }
    }
    assertEquals(test.size(), total);
    assertEquals(given.protectedAcc(), (double) correct / total, 1e-12);
    // The defended rows compare with the clean set trained under the same defense, not with the undefended model.
    EvaluationRecord givenBits = records.get(1);
    EvaluationRecord noneBits = records.stream().filter(r -> r.method().equals("none") && r.defense()
        .equals("bits:1")).findFirst().orElseThrow();
    assertEquals("bits:1", givenBits.defense());
    assertEquals("bits:1", givenBits.cleanDefense());
    assertEquals(noneBits.protectedAcc(), givenBits.cleanTrainedAcc());
    assertEquals(noneBits.protectedCurve(), givenBits.cleanCurve());
    assertEquals("none", given.cleanDefense());
    assertNotEquals(given.cleanCurve(), givenBits.cleanCurve(), "1-bit images train another clean model");
    assertTrue(log.toString().contains("tiny on the clean training set with defense bits:1"), log.toString());
    assertTrue(log.toString().contains("[4/4]") && !log.toString().contains("[5/"), log.toString());
    // best_acc is the best epoch of each curve.
    for (EvaluationRecord r : records) {
      assertEquals(r.protectedCurve().stream().mapToDouble(Double::doubleValue).max().orElseThrow(), r.bestAcc());
      assertEquals(r.cleanCurve().stream().mapToDouble(Double::doubleValue).max().orElseThrow(), r.cleanBestAcc());
      assertTrue(r.bestAcc() >= r.protectedAcc());
    }
    EvaluationRecord noneNone = records.stream().filter(r -> r.method().equals("none") && r.defense()
        .equals("none")).findFirst().orElseThrow();
    assertEquals(noneNone.cleanTrainedAcc(), noneNone.protectedAcc());
    // What the background kept of the given set's perturbation, logged and recorded; nothing for the clean set.
    assertEquals(EvaluationRunner.backgroundDelta(train, poisoned), given.backgroundDelta());
    assertNull(noneNone.backgroundDelta());
    assertTrue(log.toString().contains("given ε=" + EvaluationRunner.fmt(given.eps()) + "/255: mean |δ| on the "
        + "background (clean pixel 0) per class, least first: "), log.toString());
    assertTrue(Files.exists(out.resolve("before-after-given-eps" + EvaluationRunner.fmt(given.eps()) + ".png")));

    Path report = EvaluationReport.write(records, out, train.classNames(), "test");
    assertTrue(Files.readString(report).contains("| given | " + EvaluationRunner.fmt(given.eps()) + " | tiny | none |"));
    String eps = EvaluationRunner.fmt(given.eps());
    assertTrue(Files.size(out.resolve("results.json")) > 100);
    for (String f : List.of("curves-given-eps" + eps + ".png", "curves-none-eps0.png", "bars-eps" + eps + ".png",
        "confusion.png")) {
      java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(out.resolve(f).toFile());
      assertNotNull(png, f);
      assertEquals(f.equals("confusion.png") ? Charts.CONFUSION_WIDTH : Charts.WIDTH, png.getWidth(), f);
      assertEquals(f.equals("confusion.png") ? Charts.CONFUSION_HEIGHT : Charts.HEIGHT, png.getHeight(), f);
    }
    List<EvaluationRecord> back = EvaluationReport.readJson(out.resolve("results.json"));
    assertEquals(records.size(), back.size());
    for (int i = 0; i < records.size(); i++) {
      EvaluationRecord a = records.get(i);
      EvaluationRecord b = back.get(i);
      assertEquals(a.method(), b.method());
      assertEquals(a.defense(), b.defense());
      assertEquals(a.protectedAcc(), b.protectedAcc());
      assertEquals(a.protectedCurve(), b.protectedCurve());
      assertEquals(a.seed(), b.seed());
      assertArrayEquals(a.confusion()[2], b.confusion()[2]);
    }
    String json = Files.readString(out.resolve("results.json"));
    for (String field : List.of("\"dataset\"", "\"train_images\"", "\"method\"", "\"profile\"", "\"eps\"",
        "\"arch\"", "\"defense\"", "\"clean_trained_acc\"", "\"protected_acc\"", "\"seed\"", "\"command\"",
        "\"best_acc\"", "\"clean_best_acc\"", "\"clean_defense\"")) {
      assertTrue(json.contains(field), field);
    }
  }

  @Test
  void anAblationTakesItsCleanModelsFromAnEarlierRunOnlyWhereTheyMatch(@TempDir Path out) throws Exception {
    LabeledImages train = TinyModels.textures(4, 20, 1, 51);
    LabeledImages test = TinyModels.textures(4, 10, 1, 52);
    TrainingConfig config = epochs(2, 16);
    List<EvaluationRecord> earlier = new EvaluationRunner(new PrintStream(new ByteArrayOutputStream(), true), TINY)
        .run(noneAndBits1(train, test, config, null, out.resolve("a"), 1));
    EvaluationRecord clean = earlier.stream().filter(r -> r.defense().equals("none")).findFirst().orElseThrow();

    // Only a given set (no method none): the clean model of defense none comes from the earlier records, the one
    // of bits:1 too; nothing is trained but the two given-set models.
    LabeledImages given = withShortcut(train, 5);
    EvaluationRunner.Spec ablation = new EvaluationRunner.Spec(train, "textures", test, null, "", List.of(),
        List.of(), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE, new BitDepthDefense(1)), config, 3,
        "test-command", Device.cpu(), 32, given, out.resolve("b"), 1);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<EvaluationRecord> records = new EvaluationRunner(new PrintStream(log, true), TINY)
        .reusingCleanModelsOf(earlier).run(ablation);
    assertEquals(2, records.size());
    assertEquals(clean.protectedCurve(), records.get(0).cleanCurve());
    assertEquals(clean.protectedAcc(), records.get(0).cleanTrainedAcc());
    assertTrue(log.toString().contains("tiny on the clean training set: taken from an earlier run"), log.toString());
    assertFalse(log.toString().contains("on the clean training set with defense bits:1\n"), log.toString());
    // The counter counts what is trained: the two given-set models.
    assertTrue(log.toString().contains("[2/2] tiny on given") && !log.toString().contains("/4]"), log.toString());

    // Another appropriator seed (run seed 4) matches nothing: the clean model is trained again.
    EvaluationRunner.Spec otherSeed = new EvaluationRunner.Spec(train, "textures", test, null, "", List.of(),
        List.of(), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE), config, 4, "test-command", Device.cpu(),
        32, given, out.resolve("c"), 1);
    ByteArrayOutputStream log2 = new ByteArrayOutputStream();
    new EvaluationRunner(new PrintStream(log2, true), TINY).reusingCleanModelsOf(earlier).run(otherSeed);
    assertFalse(log2.toString().contains("taken from an earlier run"), log2.toString());
    assertTrue(log2.toString().contains("tiny on the clean training set"), log2.toString());
    // ... and the log says why, naming the seed that was there.
    assertTrue(log2.toString().contains("note: --clean-from has tiny trained the same way but with appropriator seed "
        + clean.seed() + ", not " + EvaluationRunner.appropriatorSeed(4, 0, 0)), log2.toString());

    // Nor does another appropriator batch size (the recipe differs).
    EvaluationRunner.Spec otherBatch = new EvaluationRunner.Spec(train, "textures", test, null, "", List.of(),
        List.of(), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE), epochs(2, 8), 3, "test-command",
        Device.cpu(), 32, given, out.resolve("d"), 1);
    ByteArrayOutputStream log3 = new ByteArrayOutputStream();
    new EvaluationRunner(new PrintStream(log3, true), TINY).reusingCleanModelsOf(earlier).run(otherBatch);
    assertFalse(log3.toString().contains("taken from an earlier run"), log3.toString());
    assertFalse(log3.toString().contains("trained the same way"), "another recipe is no seed mismatch");

    // Nor another learning-rate schedule; the records say which one trained them.
    assertEquals("one-cycle", clean.schedule());
    EvaluationRunner.Spec otherSchedule = new EvaluationRunner.Spec(train, "textures", test, null, "", List.of(),
        List.of(), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE),
        config.withSchedule(TrainingConfig.Schedule.STEP), 3, "test-command", Device.cpu(), 32, given,
        out.resolve("e"), 1);
    ByteArrayOutputStream log4 = new ByteArrayOutputStream();
    List<EvaluationRecord> stepped = new EvaluationRunner(new PrintStream(log4, true), TINY)
        .reusingCleanModelsOf(earlier).run(otherSchedule);
    assertFalse(log4.toString().contains("taken from an earlier run"), log4.toString());
    assertEquals("step", stepped.get(0).appropriatorSchedule());
  }

  @Test
  void moreRepeatsTrainOnlyTheSeedsAnEarlierRunOnTheSameSetDidNotHave(@TempDir Path out) throws Exception {
    LabeledImages train = TinyModels.textures(4, 20, 1, 61);
    LabeledImages test = TinyModels.textures(4, 10, 1, 62);
    TrainingConfig config = epochs(2, 16);
    LabeledImages given = withShortcut(train, 7);
    List<EvaluationRecord> earlier = new EvaluationRunner(new PrintStream(new ByteArrayOutputStream(), true), TINY)
        .run(noneAndBits1(train, test, config, given, out.resolve("a"), 1));
    EvaluationRecord run0 = earlier.stream().filter(r -> r.method().equals(EvaluationRunner.GIVEN)
        && r.defense().equals("none")).findFirst().orElseThrow();
    assertEquals(CraftedSets.fingerprint(given), run0.protectedSha256(), "the record names the set it trained on");
    assertNull(earlier.stream().filter(r -> r.method().equals(EvaluationRunner.NONE)).findFirst().orElseThrow()
        .protectedSha256(), "method none trained on no protected set");

    // The same set with two runs: run 0 is the earlier run's model, curve and confusion; only run 1 trains.
    EvaluationRunner.Spec twoRuns = new EvaluationRunner.Spec(train, "textures", test, null, "", List.of(),
        List.of(), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE), config, 3, "test-command", Device.cpu(),
        32, given, out.resolve("b"), 2);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<EvaluationRecord> records = new EvaluationRunner(new PrintStream(log, true), TINY)
        .reusingCleanModelsOf(earlier).reusingProtectedRunsOf(earlier).run(twoRuns);
    assertEquals(2, records.size());
    assertEquals(run0.protectedCurve(), records.get(0).protectedCurve());
    assertArrayEquals(run0.confusion(), records.get(0).confusion());
    assertEquals(run0.seed(), records.get(0).seed());
    assertEquals(1, log.toString().split("taken from an earlier run \\(the same set", -1).length - 1, log.toString());
    assertTrue(log.toString().contains("(run 2/2)\n"), "run 1 is trained: " + log);
    // Counted: run 1's clean and protected models, not run 0's taken ones.
    assertTrue(log.toString().contains("[2/2] tiny on given") && !log.toString().contains("/3]"), log.toString());
    assertNotEquals(records.get(0).protectedCurve(), records.get(1).protectedCurve());

    // Another set (another shortcut) matches nothing, though everything else is the same.
    EvaluationRunner.Spec otherSet = new EvaluationRunner.Spec(train, "textures", test, null, "", List.of(),
        List.of(), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE), config, 3, "test-command", Device.cpu(),
        32, withShortcut(train, 8), out.resolve("c"), 1);
    ByteArrayOutputStream log2 = new ByteArrayOutputStream();
    new EvaluationRunner(new PrintStream(log2, true), TINY).reusingProtectedRunsOf(earlier).run(otherSet);
    assertFalse(log2.toString().contains("taken from an earlier run (the same set"), log2.toString());
  }

  @Test
  void aGivenSetThatIsNotTheTrainingSetIsRefused() {
    LabeledImages train = TinyModels.textures(2, 4, 1, 1);
    LabeledImages other = TinyModels.textures(2, 5, 1, 1);
    EvaluationRunner.Spec spec = new EvaluationRunner.Spec(train, "t", train, null, "", List.of(), List.of(),
        Profile.FAST, List.of("tiny"), List.of(Defenses.NONE), TrainingConfig.shortRun(1, 0), 0, "c", Device.cpu(),
        8, other, null, 1);
    // Refused before any model is trained.
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    EvaluationRunner logged = new EvaluationRunner(new PrintStream(log, true), TINY);
    assertThrows(IllegalArgumentException.class, () -> logged.run(spec));
    assertFalse(log.toString().contains("clean training set"), log.toString());
  }

  @Test
  void accuracyAndConfusionCountWhatTheyShould() {
    int[] labels = {0, 0, 1, 1, 2, 2};
    int[] predictions = {0, 1, 1, 1, 0, 2};
    assertEquals(4.0 / 6, ClassifierMetrics.accuracy(predictions, labels), 1e-12);
    int[][] m = ClassifierMetrics.confusionMatrix(predictions, labels, 3);
    assertArrayEquals(new int[] {1, 1, 0}, m[0]);
    assertArrayEquals(new int[] {0, 2, 0}, m[1]);
    assertArrayEquals(new int[] {1, 0, 1}, m[2]);
  }

  @Test
  void everyMethodGetsTheSameCraftingComputeAsSepFaVr() {
    for (Profile profile : Profile.values()) {
      ProtectionSettings vr = EvaluationRunner.equalCompute(profile, Method.SEP_FA_VR, 8, 15, 0);
      int n = vr.checkpoints().length;
      long budget = vr.gradientEvaluationsPerImage(n);
      assertEquals((long) profile.steps() * (n + profile.innerSteps()), budget);
      assertEquals(budget, EvaluationRunner.equalCompute(profile, Method.BASELINE, 8, 15, 0)
          .gradientEvaluationsPerImage(n));
      for (Method m : List.of(Method.SEP, Method.SEP_FA)) {
        long spent = EvaluationRunner.equalCompute(profile, m, 8, 15, 0).gradientEvaluationsPerImage(n);
        assertTrue(Math.abs(spent - budget) <= n / 2, m + " " + spent + " vs " + budget);
      }
      assertEquals(0, EvaluationRunner.equalCompute(profile, Method.UNIFORM_NOISE, 8, 15, 0)
          .gradientEvaluationsPerImage(n));
      assertEquals(8f / 255f, EvaluationRunner.equalCompute(profile, Method.SEP, 8, 15, 0).epsilon(), 1e-9);
    }
  }

  @Test
  void aStepSizeOverrideChangesEveryMethodsStepButNotTheBudget() {
    CraftingChoices alpha2 = new CraftingChoices(null, null, null, null, 2f / 255f);
    for (Method m : Method.values()) {
      ProtectionSettings profile = EvaluationRunner.equalCompute(Profile.CPU, m, 16, 15, 0);
      ProtectionSettings chosen = EvaluationRunner.equalCompute(Profile.CPU, alpha2, m, 16, 15, 0);
      assertEquals(2f / 255f, chosen.alpha(), 1e-9);
      assertEquals(profile.gradientEvaluationsPerImage(5), chosen.gradientEvaluationsPerImage(5), m.cliName());
      assertNotEquals(profile.toString(), chosen.toString(), "a set crafted with another step is not reused");
    }
    assertTrue(EvaluationRunner.equalCompute(Profile.CPU, Method.SEP_FA_VR, 16, 15, 0).shortReach().isPresent());
    assertTrue(EvaluationRunner.equalCompute(Profile.CPU, alpha2, Method.SEP_FA_VR, 16, 15, 0).shortReach().isEmpty());
    assertThrows(IllegalArgumentException.class, () -> new CraftingChoices(null, null, null, null, 0f));
  }


  @Test
  void aClassPatternReachesEveryMethodAndKeepsTheBudget() {
    ClassPattern half = new ClassPattern(0.5f, 4);
    CraftingChoices withPattern = new CraftingChoices(null, null, null, null, null, half);
    for (Method m : Method.values()) {
      ProtectionSettings profile = EvaluationRunner.equalCompute(Profile.CPU, m, 8, 15, 0);
      ProtectionSettings chosen = EvaluationRunner.equalCompute(Profile.CPU, withPattern, m, 8, 15, 0);
      assertEquals(half, chosen.classPattern(), m.cliName());
      assertEquals(profile.gradientEvaluationsPerImage(5), chosen.gradientEvaluationsPerImage(5), m.cliName());
      assertEquals(profile.toString() + " class-pattern=share:0.5,cell:4", chosen.toString(),
          "a set crafted without the pattern is not reused");
    }
  }
  @Test
  void aRunWhoseDefensesLeaveOutNoneTrainsNoUndefendedModel() {
    LabeledImages train = TinyModels.textures(4, 8, 1, 31);
    LabeledImages test = TinyModels.textures(4, 4, 1, 32);
    EvaluationRunner.Spec spec = new EvaluationRunner.Spec(train, "textures", test, null, "", List.of("none"),
        List.of(), Profile.FAST, List.of("tiny"), List.of(new BitDepthDefense(1)), epochs(1, 16), 3, "test-command",
        Device.cpu(), 32, null, null, 1);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<EvaluationRecord> records = new EvaluationRunner(new PrintStream(log, true), TINY).run(spec);
    assertEquals(List.of("bits:1"), records.stream().map(EvaluationRecord::defense).toList());
    assertTrue(log.toString().contains("[1/1] tiny on the clean training set with defense bits:1"), log.toString());
    assertFalse(log.toString().contains("/2]"), log.toString());
  }

  @Test
  void repeatsTrainEverySettingWithItsOwnSeedAndTheTableAveragesThem(@TempDir Path out) throws Exception {
    LabeledImages train = TinyModels.textures(4, 20, 1, 31);
    LabeledImages test = TinyModels.textures(4, 20, 1, 32);
    EvaluationRunner.Spec spec = noneAndBits1(train, test, epochs(2, 16), null, out, 2);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    List<EvaluationRecord> records = new EvaluationRunner(new PrintStream(log, true), TINY).run(spec);

    // none × {none, bits:1}, two runs each; none × none is the clean-trained run of its repeat.
    assertEquals(List.of("none/0", "none/1", "bits:1/0", "bits:1/1"), records.stream()
        .map(r -> r.defense() + "/" + r.repeat()).toList());
    assertEquals(EvaluationRunner.appropriatorSeed(3, 0, 0), records.get(0).seed());
    assertEquals(1_000_003L * 4, records.get(0).seed(), "run 0 keeps the single-run seed");
    assertNotEquals(records.get(0).seed(), records.get(1).seed());
    assertEquals(records.get(0).seed(), records.get(2).seed(), "clean and defended runs of a repeat share a seed");
    assertEquals(records.get(1).seed(), records.get(3).seed());
    // A defended clean row is its own clean-trained model: the clean set under that defense.
    assertEquals(records.get(3).cleanTrainedAcc(), records.get(3).protectedAcc());
    assertEquals("bits:1", records.get(3).cleanDefense());
    assertNotEquals(records.get(0).protectedCurve(), records.get(1).protectedCurve(),
        "different seeds should train different models");
    assertTrue(log.toString().contains("(run 2/2)"), log.toString());

    String table = EvaluationReport.table(records);
    assertTrue(table.startsWith("| method | ε (/255) | arch | defense | runs | clean-trained acc |"), table);
    assertEquals(4, table.split("\n").length, "a header, a rule and one row per setting:\n" + table);
    EvaluationReport.write(records, out, train.classNames(), "test");
    assertEquals(4, EvaluationReport.readJson(out.resolve("results.json")).size());
    assertTrue(Files.readString(out.resolve("report.md")).contains("trained up to 2 times"));
    // Every figure carries its caption: the command, and the seeds of both runs where it shows several.
    List<EvaluationReport.Figure> figures = EvaluationReport.figures(records, train.classNames());
    assertFalse(figures.isEmpty());
    for (EvaluationReport.Figure f : figures) {
      String caption = Charts.caption(f.chart());
      assertTrue(caption.startsWith("test-command | "), f.file() + ": " + caption);
      assertTrue(caption.contains(Long.toString(records.get(1).seed())), f.file() + ": " + caption);
    }
    // The curves show mean ± sd: the y-interval of each point is the sd band, not a single value.
    org.jfree.data.xy.YIntervalSeriesCollection curves = (org.jfree.data.xy.YIntervalSeriesCollection)
        ((org.jfree.chart.plot.XYPlot) figures.get(0).chart().getPlot()).getDataset();
    double sd = EvaluationCell.group(records).get(0).sdCurve(EvaluationRecord::cleanCurve)[0];
    assertEquals(100 * sd, curves.getEndYValue(0, 0) - curves.getYValue(0, 0), 1e-9);
  }

  @Test
  void theTableShowsMeanAndSampleStandardDeviationAndASingleRunAsBefore() {
    EvaluationRecord a = record(0, 0.80, 0.30, 1000003);
    EvaluationRecord b = record(1, 0.90, 0.20, 1104732);
    // Sample sd of {80, 90} is 7.07; the drops are 50 and 70 points: mean 60, sd 14.14.
    assertTrue(EvaluationReport.table(List.of(a, b)).contains(
        "| sep | 8 | tiny | none | 2 | 85.00 ± 7.07% | 25.00 ± 7.07% | +60.00 ± 14.14 | 85.00 ± 7.07% | "
            + "25.00 ± 7.07% | 40 | 2.5 | 11.0 |"),
        EvaluationReport.table(List.of(a, b)));
    assertEquals("""
        | method | ε (/255) | arch | defense | clean-trained acc | protected-trained acc | drop | clean-trained best \
        | protected-trained best | grad evals/img | crafting s | train s |
        |---|---|---|---|---|---|---|---|---|---|---|---|
        | sep | 8 | tiny | none | 80.00% | 30.00% | +50.00 | 80.00% | 30.00% | 40 | 2.5 | 10.0 |
        """, EvaluationReport.table(List.of(a)));
  }

  @Test
  void redirectedCountsTheTestImagesPutInAClassThatWasPushedTowardTheirOwn() {
    // g = (y + 1) mod 3: class 0's images were pushed toward 1, so a clean 1 predicted as 0 is redirected.
    int[][] confusion = {
        {5, 1, 4}, // true 0: redirected when predicted 2 (g(2) = 0): 4
        {3, 6, 1}, // true 1: predicted 0 (g(0) = 1): 3
        {0, 2, 8}}; // true 2: predicted 1 (g(1) = 2): 2
    EvaluationRecord r = withTargets(confusion, List.of(1, 2, 0));
    assertEquals(9.0 / 30, r.redirected(), 1e-12);
    // A map that sends two classes to one target counts both as redirected toward it.
    assertEquals((4 + 3 + 6 + 0) / 30.0, withTargets(confusion, List.of(1, 1, 0)).redirected(), 1e-12);
    assertNull(withTargets(confusion, null).redirected(), "no targets (none, noise, a given set): unknown");
    assertThrows(IllegalArgumentException.class, () -> withTargets(confusion, List.of(1, 0)));

    // The table shows it where a row knows it, a dash where it cannot, and no column when no row does.
    EvaluationRecord none = record(0, 0.8, 0.8, 1000003);
    EvaluationRecord given = new EvaluationRecord("d", 10, 10, "given", "", 8, "tiny", "none", 0.8, 0.5, 1000003, 0,
        "c", 1, "b", "given", 0, 0, 0, 10, List.of(0.8), List.of(0.5), confusion, "none", 0, 0, "28x28",
        "28x28 as uploaded", 128, "", null, null, null, null, null, null);
    String table = EvaluationReport.table(List.of(r, given));
    assertTrue(table.contains("| protected-trained best | redirected | grad evals/img |"), table);
    assertTrue(table.contains("| 30.00% | 30.00% | 40 |"), table);
    assertTrue(table.contains("| 50.00% | – | 0 |"), table);
    assertFalse(EvaluationReport.table(List.of(none)).contains("redirected"));

    // And a figure of where the clean test images went: right, redirected, elsewhere, stacked to 100 %.
    EvaluationReport.Figure outcomes = EvaluationReport.figures(List.of(r, given), List.of("a", "b", "c")).stream()
        .filter(f -> f.file().equals("outcomes.png")).findFirst().orElseThrow();
    org.jfree.data.category.CategoryDataset shares = ((org.jfree.chart.plot.CategoryPlot) outcomes.chart().getPlot())
        .getDataset();
    assertEquals(1, shares.getColumnCount(), "only the row whose targets are known");
    assertEquals(30.0, shares.getValue(0, 0).doubleValue(), 1e-9);
    assertEquals(30.0, shares.getValue(1, 0).doubleValue(), 1e-9);
    assertEquals(40.0, shares.getValue(2, 0).doubleValue(), 1e-9);
    assertTrue(Charts.caption(outcomes.chart()).startsWith("c | target classes [1, 2, 0]"),
        Charts.caption(outcomes.chart()));
    assertEquals(Charts.WIDTH, Charts.render(outcomes.chart(), outcomes.width(), outcomes.height()).getWidth());
    assertTrue(EvaluationReport.figures(List.of(given), List.of("a", "b", "c")).stream()
        .noneMatch(f -> f.file().equals("outcomes.png")));
  }

  @Test
  void theBackgroundShareOfEachClasssPerturbationIsMeasuredWhereTheCleanPixelIsZero() {
    // Two classes of 2x2 images: class 0 has three black pixels, class 1 one; only those count.
    LabeledImages clean = new LabeledImages(1, 2, 2, new byte[] {0, 0, 0, 9, 0, 5, 5, 5, 0, 0, 0, 0},
        new int[] {0, 1, 0}, List.of("a", "b"), LabeledImages.indexIds("t", 3));
    LabeledImages crafted = clean.withPixels(new byte[] {2, 4, 0, 12, 8, 7, 3, 5, 1, 1, 1, 1});
    List<Double> delta = EvaluationRunner.backgroundDelta(clean, crafted);
    assertEquals((2 + 4 + 0 + 1 + 1 + 1 + 1) / 7.0, delta.get(0), 1e-12, "class 0: 3 + 4 black pixels");
    assertEquals(8.0, delta.get(1), 1e-12, "class 1: one black pixel, moved to 8; the others are not background");
    LabeledImages noBackground = new LabeledImages(1, 2, 2, new byte[] {1, 1, 1, 1}, new int[] {1},
        List.of("a", "b"), LabeledImages.indexIds("t", 1));
    assertNull(EvaluationRunner.backgroundDelta(noBackground, noBackground).get(0), "no image of class 0");
  }

  private static EvaluationRecord withTargets(int[][] confusion, List<Integer> targets) {
    return new EvaluationRecord("d", 30, 30, "sep", "fast", 8, "tiny", "none", 0.9, 0.3, 1000003, 0, "c", 1, "b", "s",
        40, 2.5, 4, 10, List.of(0.9), List.of(0.3), confusion, "none", 0, 0, "28x28", "28x28 as uploaded", 128,
        "penultimate", null, null, targets, null, null, null);
  }

  @Test
  void resultsWrittenBeforeRepeatsExistedStillReadAsRunZero(@TempDir Path dir) throws Exception {
    Path old = dir.resolve("old.json");
    Files.writeString(old, "[{\"dataset\": \"d\", \"method\": \"sep\", \"seed\": 1000003, "
        + "\"protected_acc\": 0.2}]");
    EvaluationRecord r = EvaluationReport.readJson(old).get(0);
    assertEquals(0, r.repeat());
    assertEquals(1000003, r.seed());
    assertEquals(0.2, r.protectedAcc());
    assertNull(r.cleanDefense(), "written before defended rows had their own clean model");
    assertEquals("one-cycle", r.schedule(), "every appropriator before --appropriator-schedule trained one-cycle");
    assertEquals(128, r.batchSize(), "before appropriator_batch_size was recorded: 128 unless the command said");
    Files.writeString(old, "[{\"method\": \"sep\", \"command\": \"sep-shield evaluate --epochs 10 "
        + "--appropriator-batch-size 32 --seed 0\"}]");
    assertEquals(32, EvaluationReport.readJson(old).get(0).batchSize());
    Files.writeString(old, "[{\"method\": \"sep\", \"protected_acc\": 0.2, \"protected_curve\": [0.5, 0.7, 0.2], "
        + "\"clean_curve\": [0.6, 0.9]}]");
    EvaluationRecord curves = EvaluationReport.readJson(old).get(0);
    assertEquals(0.7, curves.bestAcc(), "derived from the curve");
    assertEquals(0.9, curves.cleanBestAcc());
  }

  private static EvaluationRecord record(int repeat, double clean, double prot, long seed) {
    return new EvaluationRecord("d", 10, 10, "sep", "fast", 8, "tiny", "none", clean, prot, seed, repeat, "c", 1, "b",
        "s", 40, 2.5, 4, 10 + 2 * repeat, List.of(clean), List.of(prot), null, "none", 0, 0, "28x28", "28x28 as uploaded", 128, null,
        null, null, null, null, null, null);
  }
}
