package io.sepshield.eval;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.ProtectedOutput;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.FeatureLayer;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.TargetMap;
import io.sepshield.testing.TinyModels;
import io.sepshield.train.TrainingConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CraftedSetReuseTest {
  private static final String CRAFTING = "gradient evaluations per image)";
  private static final LabeledImages TRAIN = TinyModels.textures(4, 6, 1, 41);
  private static final LabeledImages TEST = TinyModels.textures(4, 4, 1, 42);
  private static CheckpointEnsemble ensemble;

  @BeforeAll
  static void protectingModel() {
    ensemble = TinyModels.trainedEnsemble(TRAIN, 2, Set.of(1, 2), 9);
  }

  @AfterAll
  static void close() {
    ensemble.close();
  }

  private static EvaluationRunner.Spec spec(Path out, long seed, int craftBatchSize) {
    return new EvaluationRunner.Spec(TRAIN, "textures", TEST, ensemble, "bundle-1", List.of("sep-fa-vr"),
        List.of(8f), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE),
        new TrainingConfig(1, 32, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 0, false, 0), seed,
        "test-command", Device.cpu(), craftBatchSize, null, out, 1);
  }

  /** Runs an evaluation and returns its log. */
  private static String evaluate(EvaluationRunner.Spec spec, List<EvaluationRecord> into) {
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    into.addAll(new EvaluationRunner(new PrintStream(log, true),
        (arch, data) -> TinyModels.tinyClassifier(data.channels(), data.numClasses())).run(spec));
    return log.toString();
  }

  private static byte[] crafted(Path out) throws Exception {
    return ProtectedOutput.readIdx(out.resolve("protected-sep-fa-vr-eps8"), "p").rawPixels();
  }

  @Test
  void theSameInputsReuseTheSetAndOtherInputsCraftAgain(@TempDir Path out) throws Exception {
    List<EvaluationRecord> first = new java.util.ArrayList<>();
    assertTrue(evaluate(spec(out, 3, 8), first).contains(CRAFTING));
    Path dir = out.resolve("protected-sep-fa-vr-eps8");
    assertTrue(Files.exists(dir.resolve(CraftedSets.SIDECAR)));
    byte[] pixels = crafted(out);
    assertFalse(java.util.Arrays.equals(TRAIN.rawPixels(), pixels), "crafting changed nothing");

    List<EvaluationRecord> second = new java.util.ArrayList<>();
    String log = evaluate(spec(out, 3, 8), second);
    assertFalse(log.contains(CRAFTING), log);
    assertTrue(log.contains("reusing " + dir), log);
    assertArrayEquals(pixels, crafted(out));
    EvaluationRecord a = first.get(first.size() - 1);
    EvaluationRecord b = second.get(second.size() - 1);
    assertEquals("sep-fa-vr", b.method());
    assertEquals(a.craftingSeconds(), b.craftingSeconds());
    assertEquals(a.craftingImagesPerSecond(), b.craftingImagesPerSecond());
    assertEquals(a.craftingSettings(), b.craftingSettings());
    // The FAST profile's checkpoints of a bundle with checkpoints after epochs 1 and 2, crafted or reused.
    assertEquals(List.of(1, 2), a.checkpointEpochs());
    assertEquals(List.of(1, 2), b.checkpointEpochs());
    // g as crafting used it, crafted or reused: the default half shift over 4 classes.
    assertEquals(List.of(2, 3, 0, 1), a.targetClasses());
    assertEquals(List.of(2, 3, 0, 1), b.targetClasses());
    assertNotNull(a.redirected());
    // What the background kept of each class's perturbation, the same for the crafted and the reused set.
    assertEquals(4, a.backgroundDelta().size());
    assertEquals(a.backgroundDelta(), b.backgroundDelta());
    assertEquals(EvaluationRunner.backgroundDelta(TRAIN, ProtectedOutput.readIdx(dir, "p")), a.backgroundDelta());
    // Trained on the same pixels with the same seed: the same model.
    assertEquals(a.protectedCurve(), b.protectedCurve());

    List<EvaluationRecord> third = new java.util.ArrayList<>();
    log = evaluate(spec(out, 4, 16), third);
    assertTrue(log.contains("seed 3 vs 4; crafting batch size 8 vs 16") && log.contains(CRAFTING), log);
    assertTrue(third.get(third.size() - 1).craftingSettings().contains("seed=4"));
  }

  @Test
  void aSetIsFoundOnlyForExactlyItsInputsAndUntouchedFiles(@TempDir Path dir) throws Exception {
    LabeledImages protectedSet = TRAIN.withPixels(TinyModels.textures(4, 6, 1, 43).rawPixels());
    CraftedSets.Inputs inputs = new CraftedSets.Inputs("b", "sep", "settings", "textures", TRAIN.size(),
        CraftedSets.fingerprint(TRAIN), 3, 8);
    CraftedSets.save(dir, protectedSet, inputs, 40, 12.5, 2.0, "cmd");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(log, true);

    CraftedSets.Reused found = CraftedSets.find(dir, inputs, TRAIN, out).orElseThrow();
    assertArrayEquals(protectedSet.rawPixels(), found.images().rawPixels());
    assertEquals(TRAIN.ids(), found.images().ids());
    assertEquals(12.5, found.sidecar().craftingSeconds());
    assertEquals(2.0, found.sidecar().imagesPerSecond());

    LabeledImages otherData = TinyModels.textures(4, 6, 1, 44);
    for (CraftedSets.Inputs other : List.of(
        new CraftedSets.Inputs("c", "sep", "settings", "textures", TRAIN.size(), inputs.trainSha256(), 3, 8),
        new CraftedSets.Inputs("b", "sep-fa", "settings", "textures", TRAIN.size(), inputs.trainSha256(), 3, 8),
        new CraftedSets.Inputs("b", "sep", "settings2", "textures", TRAIN.size(), inputs.trainSha256(), 3, 8),
        new CraftedSets.Inputs("b", "sep", "settings", "other", TRAIN.size(), inputs.trainSha256(), 3, 8),
        new CraftedSets.Inputs("b", "sep", "settings", "textures", 5, inputs.trainSha256(), 3, 8),
        new CraftedSets.Inputs("b", "sep", "settings", "textures", TRAIN.size(), CraftedSets.fingerprint(otherData),
            3, 8),
        new CraftedSets.Inputs("b", "sep", "settings", "textures", TRAIN.size(), inputs.trainSha256(), 4, 8),
        new CraftedSets.Inputs("b", "sep", "settings", "textures", TRAIN.size(), inputs.trainSha256(), 3, 9))) {
      assertTrue(CraftedSets.find(dir, other, TRAIN, out).isEmpty(), other.toString());
    }
    assertTrue(log.toString().contains("bundle b vs c"), log.toString());

    // The files replaced by other pixels: the fingerprint no longer matches.
    ProtectedOutput.write(TRAIN, dir, "idx");
    assertTrue(CraftedSets.find(dir, inputs, TRAIN, out).isEmpty());
    assertTrue(log.toString().contains("no longer match"), log.toString());
    // An unreadable sidecar or missing files are reported, never thrown.
    Files.writeString(dir.resolve(CraftedSets.SIDECAR), "{not json");
    assertTrue(CraftedSets.find(dir, inputs, TRAIN, out).isEmpty());
    CraftedSets.save(dir, protectedSet, inputs, 40, 12.5, 2.0, "cmd");
    Files.delete(dir.resolve("labels-idx1-ubyte.gz"));
    assertTrue(CraftedSets.find(dir, inputs, TRAIN, out).isEmpty());
    assertEquals(2, log.toString().split("cannot be reused", -1).length - 1, log.toString());
    // No sidecar: nothing to say.
    Files.delete(dir.resolve(CraftedSets.SIDECAR));
    int before = log.size();
    assertTrue(CraftedSets.find(dir, inputs, TRAIN, out).isEmpty());
    assertEquals(before, log.size());
  }
  @Test
  void aSetCraftedUnderAnotherTargetMapIsNotReused(@TempDir Path dir) throws Exception {
    ProtectionSettings half = EvaluationRunner.equalCompute(Profile.FAST, Method.SEP_FA_VR, 8, 2, 3);
    ProtectionSettings shifted = new ProtectionSettings(half.method(), half.epsilon(), half.alpha(), half.steps(),
        half.innerSteps(), half.checkpoints(), TargetMap.shift(1), half.seed());
    assertNotEquals(half, shifted);
    assertNotEquals(half.toString(), shifted.toString());
    assertTrue(shifted.toString().contains("targets=shift:1"), shifted.toString());
    // Value equality: two maps built alike are the same settings (and hash alike).
    assertEquals(half, EvaluationRunner.equalCompute(Profile.FAST, Method.SEP_FA_VR, 8, 2, 3));
    assertEquals(half.hashCode(), EvaluationRunner.equalCompute(Profile.FAST, Method.SEP_FA_VR, 8, 2, 3).hashCode());
    assertEquals(TargetMap.shift(1), TargetMap.parse("shift:1"));

    CraftedSets.Inputs saved = inputs(half.toString());
    CraftedSets.save(dir, TRAIN, saved, 40, 1.0, 1.0, "cmd");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(log, true);
    assertTrue(CraftedSets.find(dir, saved, TRAIN, out).isPresent());
    assertTrue(CraftedSets.find(dir, inputs(shifted.toString()), TRAIN, out).isEmpty());
    assertTrue(log.toString().contains("targets=half") && log.toString().contains("targets=shift:1"), log.toString());

    // A sidecar from before the target map was recorded: crafted with g(y) = (y + K/2) mod K, the only map then.
    String old = half.toString().replace(" targets=half", "");
    CraftedSets.save(dir, TRAIN, inputs(old), 40, 1.0, 1.0, "cmd");
    assertTrue(CraftedSets.find(dir, saved, TRAIN, out).isPresent());
    assertTrue(CraftedSets.find(dir, inputs(shifted.toString()), TRAIN, out).isEmpty());
  }

  private static CraftedSets.Inputs inputs(String settings) {
    return new CraftedSets.Inputs("b", "sep-fa-vr", settings, "textures", TRAIN.size(), CraftedSets.fingerprint(TRAIN),
        3, 8);
  }

  @Test
  void aSetCraftedAtAnotherFeatureLayerIsNotReusedAndOtherMethodsAreRefusedALayer(@TempDir Path dir)
      throws Exception {
    CraftingChoices third = new CraftingChoices(null, null, null, FeatureLayer.parse("3"));
    ProtectionSettings penultimate = EvaluationRunner.equalCompute(Profile.FAST, Method.SEP_FA_VR, 8, 2, 3);
    ProtectionSettings atThird = EvaluationRunner.equalCompute(Profile.FAST, third, Method.SEP_FA_VR, 8, 2, 3);
    // The default layer's key is today's, so sets crafted before the knob existed are still found.
    assertEquals(penultimate.toString(), EvaluationRunner.equalCompute(Profile.FAST,
        new CraftingChoices(null, null, null, FeatureLayer.PENULTIMATE), Method.SEP_FA_VR, 8, 2, 3).toString());
    assertFalse(penultimate.toString().contains("layer"), penultimate.toString());
    assertEquals(penultimate.toString() + " layer=3", atThird.toString());
    assertEquals(atThird.gradientEvaluationsPerImage(2), penultimate.gradientEvaluationsPerImage(2));

    CraftedSets.save(dir, TRAIN, inputs(penultimate.toString()), 40, 1.0, 1.0, "cmd");
    PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true);
    assertTrue(CraftedSets.find(dir, inputs(penultimate.toString()), TRAIN, quiet).isPresent());
    assertTrue(CraftedSets.find(dir, inputs(atThird.toString()), TRAIN, quiet).isEmpty());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> third.checkMethods(List.of(Method.SEP_FA_VR, Method.BASELINE, Method.SEP)));
    assertTrue(e.getMessage().contains("baseline, sep"), e.getMessage());
    third.checkMethods(List.of(Method.SEP_FA, Method.SEP_FA_VR));
    CraftingChoices.PROFILE.checkMethods(List.of(Method.values()));
    // In a run, before anything is crafted.
    EvaluationRunner.Spec spec = new EvaluationRunner.Spec(TRAIN, "textures", TEST, ensemble, "bundle-1",
        List.of("sep-fa-vr", "noise"), List.of(8f), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE),
        new TrainingConfig(1, 32, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 0, false, 0), 3,
        "test-command", Device.cpu(), 8, null, dir.resolve("run"), 1, null, third);
    assertThrows(IllegalArgumentException.class, () -> evaluate(spec, new java.util.ArrayList<>()));
    assertFalse(Files.exists(dir.resolve("run").resolve("protected-sep-fa-vr-eps8")), "nothing crafted");
  }

  @Test
  void recordsNameTheirFeatureLayerAndOlderOnesReadAsPenultimate(@TempDir Path dir) throws Exception {
    List<EvaluationRecord> records = new java.util.ArrayList<>();
    EvaluationRunner.Spec spec = new EvaluationRunner.Spec(TRAIN, "textures", TEST, ensemble, "bundle-1",
        List.of("sep-fa-vr"), List.of(8f), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE),
        new TrainingConfig(1, 32, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 0, false, 0), 3,
        "test-command", Device.cpu(), 8, null, dir, 1, null, new CraftingChoices(null, null, null,
            FeatureLayer.parse("2")));
    String log = evaluate(spec, records);
    assertTrue(log.contains("class centers at feature layer 2"), log);
    assertEquals("2", records.get(0).featureLayer());
    assertTrue(records.get(0).craftingSettings().endsWith(" layer=2"), records.get(0).craftingSettings());
    Path json = dir.resolve("results.json");
    EvaluationReport.writeJson(records, json);
    String text = Files.readString(json);
    assertTrue(text.contains("\"feature_layer\" : \"2\""), text);
    Files.writeString(json, text.replace("\"feature_layer\" : \"2\",", "").replace(",\n  \"feature_layer\" : \"2\"", ""));
    EvaluationRecord old = EvaluationReport.readJson(json).get(0);
    assertNull(old.featureLayer());
    assertEquals("penultimate", old.alignedLayer());
  }
}
