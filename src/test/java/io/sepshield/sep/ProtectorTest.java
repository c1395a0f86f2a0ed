package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDArrays;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.ImageTensors;
import io.sepshield.testing.TinyModels;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ProtectorTest {
  private static final float EPS = 8f / 255f;
  private static LabeledImages data;
  private static CheckpointEnsemble ensemble;

  @BeforeAll
  static void trainTinyEnsemble() {
    data = TinyModels.textures(4, 40, 1, 11);
    ensemble = TinyModels.trainedEnsemble(data, 6, Set.of(2, 4, 6), 5);
  }

  @AfterAll
  static void free() {
    ensemble.close();
  }

  private static ProtectionSettings settings(Method method, float eps, int steps, int inner) {
    return new ProtectionSettings(method, eps, 1f / 255f, steps, inner, new int[0], TargetMap.halfShift(), 42);
  }

  @Test
  void inputGradientsMatchFiniteDifferences() {
    // Per-pixel central differences (a joint random direction crosses too many ReLU kinks). A pixel whose left and
    // right slopes disagree sits on a kink, where no finite difference is meaningful; it is skipped and counted.
    LabeledImages batch = data.slice(0, 2);
    for (Method method : List.of(Method.SEP_FA_VR, Method.SEP)) {
      Protector protector = new Protector(ensemble, settings(method, EPS, 1, 1));
      int[] targets = protector.targetsFor(batch.labels());
      try (NDManager m = ensemble.manager().newSubManager()) {
        NDArray x = ImageTensors.batch(m, batch, 0, 2);
        Random random = new Random(3);
        int checked = 0;
        int trials = 0;
        for (Checkpoint c : ensemble.all()) {
          float[] grad = protector.lossGradient(c, x, targets).toFloatArray();
          float scale = 0;
          for (float g : grad) {
            scale = Math.max(scale, Math.abs(g));
          }
          assertTrue(scale > 0, "zero gradient");
          double f0 = protector.lossValue(c, x, targets);
          for (int trial = 0; trial < 8; trial++, trials++) {
            int pixel = random.nextInt(grad.length);
            float h = 1e-3f;
            float[] e = new float[grad.length];
            e[pixel] = h;
            NDArray d = m.create(e, x.getShape());
            double right = (protector.lossValue(c, x.add(d), targets) - f0) / h;
            double left = (f0 - protector.lossValue(c, x.sub(d), targets)) / h;
            if (Math.abs(right - left) > 0.05 * scale) {
              continue;
            }
            checked++;
            assertEquals(grad[pixel], (right + left) / 2, 0.05 * Math.abs(grad[pixel]) + 0.01 * scale,
                method + " loss, epoch " + c.epoch() + ", pixel " + pixel);
          }
        }
        assertTrue(checked >= trials * 2 / 3, method + ": only " + checked + " of " + trials + " pixels off kinks");
      }
    }
  }

  @Test
  void featureAlignmentLossUsesTheCheckpointsOwnCenters() {
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA_VR, EPS, 1, 1));
    LabeledImages batch = data.slice(0, 4);
    int[] targets = protector.targetsFor(batch.labels());
    try (NDManager m = ensemble.manager().newSubManager()) {
      NDArray x = ImageTensors.batch(m, batch, 0, 4);
      Checkpoint first = ensemble.get(0);
      NDArray features = first.model().features(ensemble.parameterStore(), x, false);
      double expected = 0;
      float[] f = features.toFloatArray();
      float[] centers = first.centers().toFloatArray();
      int dim = first.model().featureDim();
      for (int i = 0; i < 4; i++) {
        double se = 0;
        for (int j = 0; j < dim; j++) {
          double diff = f[i * dim + j] - centers[targets[i] * dim + j];
          se += diff * diff;
        }
        expected += se / dim;
      }
      assertEquals(expected, protector.lossValue(first, x, targets), 1e-4 * expected);
    }
  }

  /**
   * Algorithm 1 written out again here from the public contract; the inner loop's centers are a parameter so that
   * the authors' flaw (the last checkpoint's centers for every k) is a different, checkably different, result.
   */
  private static NDArray referenceSepFaVr(Protector p, NDArray x0, int[] targets, boolean lastCentersInInnerLoop) {
    ProtectionSettings s = p.settings();
    List<Checkpoint> members = p.members();
    Checkpoint last = members.get(members.size() - 1);
    Random random = new Random(s.seed());
    NDArray lo = x0.sub(s.epsilon()).clip(0, 1);
    NDArray hi = x0.add(s.epsilon()).clip(0, 1);
    NDArray x = x0;
    for (int t = 0; t < s.steps(); t++) {
      NDArray[] g = new NDArray[members.size()];
      for (int k = 0; k < g.length; k++) {
        g[k] = p.lossGradient(members.get(k), x, targets);
      }
      NDArray gEns = NDArrays.stack(new NDList(g)).mean(new int[] {0});
      NDArray gUpd = x.zerosLike();
      NDArray xHat = x;
      for (int m = 0; m < s.innerSteps(); m++) {
        int k = random.nextInt(members.size());
        Checkpoint inner = lastCentersInInnerLoop
            ? new Checkpoint(members.get(k).epoch(), members.get(k).model(), last.centers())
            : members.get(k);
        gUpd = gUpd.add(p.lossGradient(inner, xHat, targets).sub(g[k].sub(gEns)));
        xHat = xHat.sub(gUpd.sign().mul(s.alpha())).maximum(lo).minimum(hi);
      }
      x = x.sub(gUpd.sign().mul(s.alpha())).maximum(lo).minimum(hi);
    }
    return x;
  }

  @Test
  void sepFaVrFollowsAlgorithmOneWithEachCheckpointsOwnCenters() {
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA_VR, EPS, 3, 4));
    LabeledImages batch = data.slice(0, 8);
    int[] targets = protector.targetsFor(batch.labels());
    try (NDManager m = ensemble.manager().newSubManager()) {
      NDArray x0 = ImageTensors.batch(m, batch, 0, 8);
      float[] crafted = protector.craft(x0, targets).toFloatArray();
      float[] reference = referenceSepFaVr(protector, x0, targets, false).toFloatArray();
      float[] flawed = referenceSepFaVr(protector, x0, targets, true).toFloatArray();
      assertArrayEquals(reference, crafted, 1e-6f, "crafted images differ from Algorithm 1");
      int differing = 0;
      for (int i = 0; i < flawed.length; i++) {
        if (Math.abs(flawed[i] - crafted[i]) > 0.5f / 255f) {
          differing++;
        }
      }
      // Were the last checkpoint's centers used for every k, crafted would equal flawed exactly.
      assertTrue(differing > 10,
          "using the last checkpoint's centers should change the result, changed " + differing + " pixels");
    }
  }

  @Test
  void theOptimisedLoopCraftsWhatTheStraightforwardLoopCrafts() {
    // Same seed, same random checkpoint draws: reusing g_k at m = 0 and collecting the n gradients at once change
    // how the loop runs, not what it computes.
    LabeledImages batch = data.slice(0, 8);
    for (Method method : List.of(Method.SEP_FA_VR, Method.SEP_FA, Method.SEP, Method.BASELINE)) {
      // ONE_COLLECTION has every loop change on (OPTIMIZED is a subset of it).
      Protector optimized = new Protector(ensemble, settings(method, EPS, 4, 3), Protector.Tuning.ONE_COLLECTION);
      Protector plain = new Protector(ensemble, settings(method, EPS, 4, 3), Protector.Tuning.STRAIGHTFORWARD);
      int[] targets = optimized.targetsFor(batch.labels());
      try (NDManager m = ensemble.manager().newSubManager()) {
        NDArray x0 = ImageTensors.batch(m, batch, 0, 8);
        float[] fast = optimized.craft(x0, targets).toFloatArray();
        float[] reference = plain.craft(x0, targets).toFloatArray();
        float[] start = x0.toFloatArray();
        int moved = 0;
        for (int i = 0; i < fast.length; i++) {
          moved += Math.abs(fast[i] - start[i]) > 0.5f / 255f ? 1 : 0;
        }
        assertTrue(moved > fast.length / 4, method + ": crafting should move pixels, moved " + moved);
        if (method == Method.SEP_FA_VR) {
          assertArrayEquals(reference, fast, 1e-6f, "optimised SEP-FA-VR differs from the straightforward loop");
        } else {
          // Σ_k ∇L_k summed by autograd instead of one by one: equal up to float rounding, so a pixel whose summed
          // gradient is almost exactly 0 may take the other sign; allow a handful.
          int differing = 0;
          for (int i = 0; i < fast.length; i++) {
            differing += Math.abs(fast[i] - reference[i]) > 1e-6f ? 1 : 0;
          }
          assertTrue(differing <= fast.length / 200, method + ": " + differing + " pixels differ");
        }
      }
    }
  }

  @Test
  void oneCollectionGivesEachCheckpointsOwnGradient() {
    LabeledImages batch = data.slice(8, 14);
    for (Method method : List.of(Method.SEP_FA_VR, Method.SEP)) {
      Protector protector = new Protector(ensemble, settings(method, EPS, 1, 1), Protector.Tuning.ONE_COLLECTION);
      int[] targets = protector.targetsFor(batch.labels());
      try (NDManager m = ensemble.manager().newSubManager()) {
        NDArray x = ImageTensors.batch(m, batch, 0, 6);
        NDArray[] together = protector.memberGradients(x, targets);
        assertEquals(ensemble.size(), together.length);
        for (int k = 0; k < together.length; k++) {
          float[] alone = protector.lossGradient(ensemble.get(k), x, targets).toFloatArray();
          float[] joint = together[k].toFloatArray();
          float scale = 0;
          for (float g : alone) {
            scale = Math.max(scale, Math.abs(g));
          }
          assertTrue(scale > 0, "zero gradient");
          assertArrayEquals(alone, joint, 1e-6f * scale, method + ": checkpoint " + k + "'s gradient");
        }
        // The members differ, so a mix-up (every k given one member's gradient) would fail above.
        assertFalse(Arrays.equals(together[0].toFloatArray(), together[together.length - 1].toFloatArray()));
      }
    }
  }

  @Test
  void reusingTheFirstInnerGradientSavesOnePassPerOuterStep() {
    ProtectionSettings s = settings(Method.SEP_FA_VR, EPS, 7, 4);
    assertEquals(7L * (3 + 4), new Protector(ensemble, s, Protector.Tuning.STRAIGHTFORWARD).passesPerImage());
    assertEquals(7L * (3 + 4) - 7, new Protector(ensemble, s, Protector.Tuning.OPTIMIZED).passesPerImage());
    assertEquals(7L * 3, new Protector(ensemble, s.withMethod(Method.SEP), Protector.Tuning.OPTIMIZED)
        .passesPerImage());
  }

  @Test
  void everyQuantisedPixelStaysInsideTheBallAndTheValidRange() {
    // Extremes 0 and 255 exercise the [0,1] clip; 3.5/255 exercises a radius between two 8-bit levels.
    byte[] pixels = data.slice(0, 12).rawPixels().clone();
    for (int i = 0; i < pixels.length; i += 7) {
      pixels[i] = (byte) (i % 2 == 0 ? 0 : 255);
    }
    LabeledImages batch = data.slice(0, 12).withPixels(pixels);
    for (float eps : new float[] {2f / 255f, 3.5f / 255f, 8f / 255f}) {
      for (Method method : Method.values()) {
        ProtectedBatch out = new Protector(ensemble, settings(method, eps, 3, 2)).protect(batch);
        byte[] q = out.images().rawPixels();
        int allowed = (int) Math.floor(eps * 255 + 1e-3);
        int worst = 0;
        for (int i = 0; i < q.length; i++) {
          worst = Math.max(worst, Math.abs((q[i] & 0xff) - (pixels[i] & 0xff)));
        }
        assertTrue(worst <= allowed, method + " eps=" + eps * 255 + ": |δ|=" + worst + " > " + allowed);
        assertTrue(worst >= Math.min(allowed, 2), method + " should perturb, max |δ| " + worst);
        assertEquals(worst, Arrays.stream(out.maxAbsDelta()).max().orElseThrow());
      }
    }
  }

  @Test
  void everyMethodDrivesItsTargetedLossDownFarMoreThanNoise() {
    LabeledImages batch = data.slice(40, 72);
    LabeledImages noisy = new Protector(ensemble, settings(Method.UNIFORM_NOISE, EPS, 1, 0)).protect(batch).images();
    for (Method method : List.of(Method.BASELINE, Method.SEP, Method.SEP_FA, Method.SEP_FA_VR)) {
      Protector protector = new Protector(ensemble, settings(method, EPS, 10, 4));
      int[] targets = protector.targetsFor(batch.labels());
      LabeledImages crafted = protector.protect(batch).images();
      try (NDManager m = ensemble.manager().newSubManager()) {
        // The ensemble-mean loss of the method (FA toward c_k[g(y)], or cross-entropy toward g(y)).
        double before = protector.meanLoss(ImageTensors.batch(m, batch, 0, batch.size()), targets);
        double after = protector.meanLoss(ImageTensors.batch(m, crafted, 0, batch.size()), targets);
        double withNoise = protector.meanLoss(ImageTensors.batch(m, noisy, 0, batch.size()), targets);
        assertTrue(after < 0.9 * before, method + ": loss should fall by 10 %+: " + before + " -> " + after);
        assertTrue(before - after > 5 * Math.abs(before - withNoise),
            method + " should beat noise: before " + before + ", crafted " + after + ", noise " + withNoise);
      }
    }
  }

  @Test
  void missingLabelsArePredictedByTheNewestCheckpoint() {
    LabeledImages batch = data.slice(0, 8);
    int[] unknown = new int[8];
    Arrays.fill(unknown, LabeledImages.UNKNOWN_LABEL);
    unknown[0] = 2;
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA, EPS, 1, 0));
    ProtectedBatch out = protector.protect(batch.withLabels(unknown));
    int[] predicted;
    try (NDManager m = ensemble.manager().newSubManager()) {
      predicted = protector.predict(ImageTensors.batch(m, batch, 0, 8));
    }
    assertFalse(out.labelPredicted()[0]);
    assertEquals(2, out.images().label(0));
    for (int i = 1; i < 8; i++) {
      assertTrue(out.labelPredicted()[i]);
      assertEquals(predicted[i], out.images().label(i));
      assertEquals(TargetMap.halfShift().target(predicted[i], 4), out.targets()[i]);
    }
  }

  @Test
  void theClosestTargetMapIsPickedFromTheMembersCentersAndUsedForEveryLabel() {
    ProtectionSettings closest = settings(Method.SEP_FA_VR, EPS, 1, 1).withTargets(TargetMap.closest());
    Protector protector = new Protector(ensemble, closest);
    int[] expected = TargetMap.Closest.closestDerangement(TargetMap.Closest.scaledCenterDistances(
        ensemble.all().stream().map(c -> c.centers().toFloatArray()).toList(), 4));
    assertEquals(new TargetMap.Table(expected), protector.targetMap());
    assertEquals("closest", protector.settings().targets().toString(), "the settings (and records) name the map");
    assertEquals("target map closest with these checkpoints: g = " + protector.targetMap(),
        protector.craftingNotes().get(0), "the log shows the table the name became");
    assertArrayEquals(expected, protector.targetsFor(new int[] {0, 1, 2, 3}));
    for (int y = 0; y < 4; y++) {
      assertNotEquals(y, expected[y]);
    }
    // Only the chosen members' centers count: a single member picks from its own.
    Protector last = new Protector(ensemble, closest.withCheckpoints(new int[] {ensemble.size() - 1}));
    assertEquals(new TargetMap.Table(TargetMap.Closest.closestDerangement(TargetMap.Closest.scaledCenterDistances(
        List.of(ensemble.last().centers().toFloatArray()), 4))), last.targetMap());
    assertEquals(TargetMap.halfShift(), new Protector(ensemble, settings(Method.SEP, EPS, 1, 0)).targetMap());
    assertEquals(List.of(), new Protector(ensemble, settings(Method.SEP, EPS, 255, 0)).craftingNotes(),
        "a fixed map reaching ε has nothing to add");
  }

  @Test
  void anImagesProtectionDoesNotDependOnItsBatchMates() {
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA_VR, EPS, 3, 3));
    byte[] alone = protector.protect(data.slice(5, 6)).images().rawPixels();
    byte[] inBatch = protector.protect(data.slice(0, 16)).images().image(5);
    int differing = 0;
    for (int i = 0; i < alone.length; i++) {
      differing += Math.abs((alone[i] & 0xff) - (inBatch[i] & 0xff)) > 1 ? 1 : 0;
    }
    assertTrue(differing <= alone.length / 50, differing + " pixels differ by more than one level");
  }

  @Test
  void nativeMemoryDoesNotGrowAcrossBatches() {
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA_VR, EPS, 2, 2));
    protector.protect(data.slice(0, 8));
    int baseline = ensemble.manager().getManagedArrays().size();
    for (int i = 0; i < 5; i++) {
      protector.protect(data.slice(8 * i, 8 * i + 8));
    }
    assertEquals(baseline, ensemble.manager().getManagedArrays().size(), "arrays left behind by protect()");
  }

  @Test
  void rejectsChannelCountsThatCannotBeMappedOntoTheBundle() {
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA, EPS, 1, 0));
    LabeledImages twoChannels = TinyModels.textures(4, 1, 2, 1);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> protector.protect(twoChannels));
    assertTrue(e.getMessage().contains("2 channels"), e.getMessage());
  }

  @Test
  void settingsCountGradientEvaluations() {
    assertEquals(30L * (15 + 15), Profile.PAPER.settings(Method.SEP_FA_VR, EPS, 15, 0).gradientEvaluationsPerImage(15));
    assertEquals(30L, Profile.PAPER.settings(Method.BASELINE, EPS, 15, 0).gradientEvaluationsPerImage(15));
  }
}
