package io.sepshield.eval;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import io.sepshield.data.ImageResize.Kernel;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.ProtectedOutput;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.Profile;
import io.sepshield.testing.TinyModels;
import io.sepshield.train.TrainingConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Efficacy at upload resolution: a bundle of 8x8 images protects 4x-upscaled 32x32 uploads, and appropriators train
 * on them at the bundle's size with a kernel of their own or at the upload size.
 */
class UploadResolutionTest {
  private static final LabeledImages NATIVE = TinyModels.textures(4, 6, 1, 8, 51);
  private static final LabeledImages NATIVE_TEST = TinyModels.textures(4, 3, 1, 8, 52);
  private static final LabeledImages UPLOADS = AppropriatorInput.resize(NATIVE, 32, 32, Kernel.BICUBIC);
  private static final LabeledImages UPLOADS_TEST = AppropriatorInput.resize(NATIVE_TEST, 32, 32, Kernel.BICUBIC);
  private static CheckpointEnsemble ensemble;

  @BeforeAll
  static void protectingModel() {
    ensemble = TinyModels.trainedEnsemble(NATIVE, 2, Set.of(1, 2), 9);
  }

  @AfterAll
  static void close() {
    ensemble.close();
  }

  private static EvaluationRunner.Spec spec(Path out, AppropriatorInput input) {
    return new EvaluationRunner.Spec(UPLOADS, "textures upscaled", UPLOADS_TEST, ensemble, "bundle-8x8",
        List.of("sep-fa-vr"), List.of(8f), Profile.FAST, List.of("tiny"), List.of(Defenses.NONE),
        new TrainingConfig(1, 32, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 0, false, 0), 3,
        "test-command", Device.cpu(), 8, null, out, 1, input);
  }

  /** Runs an evaluation; {@code seen} gets every training set an appropriator was created for (clean, protected). */
  private static List<EvaluationRecord> evaluate(EvaluationRunner.Spec spec, List<LabeledImages> seen) {
    return new EvaluationRunner(new PrintStream(new ByteArrayOutputStream(), true), (arch, data) -> {
      seen.add(data);
      return TinyModels.tinyClassifier(data.channels(), data.numClasses());
    }).run(spec);
  }

  @Test
  void uploadsAreCraftedAtTheirOwnSizeWithinEpsilonAndTheKernelDecidesWhatTheAppropriatorSees(@TempDir Path out)
      throws Exception {
    List<LabeledImages> area = new ArrayList<>();
    List<EvaluationRecord> records = evaluate(spec(out, AppropriatorInput.parse("8:area")), area);

    // Crafted at 32x32 (the bundle is 8x8), every pixel within ε = 8 levels of the upload, and changed.
    LabeledImages crafted = ProtectedOutput.readIdx(out.resolve("protected-sep-fa-vr-eps8"), "p");
    assertEquals(32, crafted.height());
    assertEquals(32, crafted.width());
    byte[] a = UPLOADS.rawPixels();
    byte[] b = crafted.rawPixels();
    int max = 0;
    int changed = 0;
    for (int i = 0; i < a.length; i++) {
      int d = Math.abs((a[i] & 0xff) - (b[i] & 0xff));
      max = Math.max(max, d);
      changed += d > 0 ? 1 : 0;
    }
    assertTrue(max <= 8, "max |δ| " + max);
    assertTrue(changed > a.length / 2, changed + " of " + a.length + " pixels changed");

    EvaluationRecord rec = records.stream().filter(r -> r.method().equals("sep-fa-vr")).findFirst().orElseThrow();
    assertEquals("32x32", rec.uploadSize());
    assertEquals("8x8 from 32x32 area", rec.appropriatorInput());
    assertEquals(UPLOADS_TEST.size(), rec.testImages());
    // The appropriators trained at 8x8 on the area-downscaled sets: clean first, then protected.
    assertEquals(2, area.size());
    assertArrayEquals(AppropriatorInput.resize(UPLOADS, 8, 8, Kernel.AREA).rawPixels(), area.get(0).rawPixels());
    assertArrayEquals(AppropriatorInput.resize(crafted, 8, 8, Kernel.AREA).rawPixels(), area.get(1).rawPixels());

    // Another kernel on the same crafted set (reused from disk): other training images, at the same size.
    List<LabeledImages> nearest = new ArrayList<>();
    EvaluationRecord n = evaluate(spec(out, AppropriatorInput.parse("8:nearest")), nearest).get(0);
    assertEquals("8x8 from 32x32 nearest", n.appropriatorInput());
    assertEquals(8, nearest.get(1).height());
    assertArrayEquals(AppropriatorInput.resize(crafted, 8, 8, Kernel.NEAREST).rawPixels(),
        nearest.get(1).rawPixels());
    assertFalse(java.util.Arrays.equals(area.get(1).rawPixels(), nearest.get(1).rawPixels()));
    assertFalse(java.util.Arrays.equals(area.get(0).rawPixels(), nearest.get(0).rawPixels()));

    // At the upload size: the crafted set itself.
    List<LabeledImages> upload = new ArrayList<>();
    EvaluationRecord u = evaluate(spec(out, AppropriatorInput.AS_UPLOADED), upload).get(0);
    assertEquals("32x32 as uploaded", u.appropriatorInput());
    assertArrayEquals(crafted.rawPixels(), upload.get(1).rawPixels());
    assertArrayEquals(UPLOADS.rawPixels(), upload.get(0).rawPixels());
  }

  @Test
  void appropriatorInputsParse() {
    assertEquals(AppropriatorInput.AS_UPLOADED, AppropriatorInput.parse(" Upload"));
    assertEquals(new AppropriatorInput(28, Kernel.BICUBIC), AppropriatorInput.parse("28:bicubic"));
    assertEquals("28-bicubic", AppropriatorInput.parse("28:bicubic").folderName());
    for (String bad : List.of("28", "0:area", "x:area", "28:lanczos", "")) {
      assertThrows(IllegalArgumentException.class, () -> AppropriatorInput.parse(bad), bad);
    }
    // The identity when the images already have the size.
    assertSame(NATIVE, AppropriatorInput.parse("8:bicubic").apply(NATIVE));
  }
}
