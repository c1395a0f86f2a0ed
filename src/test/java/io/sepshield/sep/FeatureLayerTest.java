package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.ImageTensors;
import io.sepshield.testing.TinyModels;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Feature alignment at an earlier layer of the protecting model (evaluate --feature-layer). */
class FeatureLayerTest {
  /** The tiny classifier's children before global pooling: conv, bn, relu, conv, bn, relu. */
  private static final int TINY_LAYERS = 6;
  private static LabeledImages data;
  private static CheckpointEnsemble ensemble;

  @BeforeAll
  static void trainTinyEnsemble() {
    data = TinyModels.textures(4, 24, 1, 11);
    ensemble = TinyModels.trainedEnsemble(data, 4, Set.of(2, 4), 5);
  }

  @AfterAll
  static void free() {
    ensemble.close();
  }

  private static ProtectionSettings settings(Method method, FeatureLayer layer) {
    return new ProtectionSettings(method, 8f / 255f, 1f / 255f, 4, 2, new int[0], TargetMap.halfShift(), 42,
        Preprocessing.DEFAULT, CraftingAugmentation.NONE, layer);
  }

  @Test
  void theDefaultLayerKeepsTodaysSettingsAndAnotherLayerIsPartOfThem() {
    ProtectionSettings today = new ProtectionSettings(Method.SEP_FA_VR, 8f / 255f, 1f / 255f, 4, 2, new int[0],
        TargetMap.halfShift(), 42);
    ProtectionSettings penultimate = settings(Method.SEP_FA_VR, FeatureLayer.parse("penultimate"));
    ProtectionSettings third = settings(Method.SEP_FA_VR, FeatureLayer.parse("3"));
    assertEquals(today, penultimate);
    assertEquals(today.hashCode(), penultimate.hashCode());
    // Crafted sets on disk carry this string: the default layer must not change it.
    assertEquals("sep-fa-vr eps=8.0/255 alpha=1.00/255 T=4 M=2 checkpoints=all targets=half seed=42",
        penultimate.toString());
    assertNotEquals(penultimate, third);
    assertEquals(penultimate + " layer=3", third.toString());
    assertEquals(third, third.withSeed(42).withSteps(4, 2));
    assertEquals(FeatureLayer.parse("3"), third.withMethod(Method.SEP_FA).featureLayer());
  }

  @Test
  void badLayersAndMethodsWithoutFeatureAlignmentAreRefused() {
    for (String bad : List.of("0", "-1", "last", "")) {
      assertThrows(IllegalArgumentException.class, () -> FeatureLayer.parse(bad), bad);
    }
    for (Method m : List.of(Method.UNIFORM_NOISE, Method.BASELINE, Method.SEP)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> settings(m, new FeatureLayer(2)));
      assertTrue(e.getMessage().contains("feature alignment only"), e.getMessage());
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Protector(ensemble, settings(Method.SEP_FA_VR, new FeatureLayer(TINY_LAYERS + 1))));
    assertTrue(e.getMessage().contains("outside 1.." + TINY_LAYERS), e.getMessage());
    assertTrue(e.getMessage().contains("1 conv (8 ch, 12x12); 2 bn (8 ch, 12x12)"), e.getMessage());
  }

  @Test
  void theLastLayerBeforePoolingIsThePenultimateAndCraftsTheSameBytes() {
    Protector today = new Protector(ensemble, settings(Method.SEP_FA_VR, FeatureLayer.PENULTIMATE));
    Protector last = new Protector(ensemble, settings(Method.SEP_FA_VR, new FeatureLayer(TINY_LAYERS)));
    assertEquals(today.settings(), last.settings(), "L = every child before pooling is h(x)");
    assertEquals(today.settings().toString(), last.settings().toString());
    LabeledImages batch = data.slice(0, 8);
    assertArrayEquals(today.protect(batch).images().rawPixels(), last.protect(batch).images().rawPixels());
  }

  @Test
  void layerCentersAreTheClassMeansOfThatLayersFeatures() {
    int layer = 3;
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA, new FeatureLayer(layer)))
        .withLayerCentersOf(data, 10); // a batch size that does not divide the set
    int k = data.numClasses();
    for (Checkpoint c : ensemble.all()) {
      float[] centers = protector.layerCentersOf(c);
      try (NDManager m = ensemble.manager().newSubManager()) {
        float[] h = c.model().features(ensemble.parameterStore(), ImageTensors.batch(m, data, 0, data.size()), false,
            layer).toFloatArray();
        int dim = h.length / data.size();
        assertEquals(k * dim, centers.length);
        double[] sums = new double[k * dim];
        int[] counts = new int[k];
        for (int i = 0; i < data.size(); i++) {
          int y = data.labels()[i];
          counts[y]++;
          for (int d = 0; d < dim; d++) {
            sums[y * dim + d] += h[i * dim + d];
          }
        }
        for (int j = 0; j < sums.length; j++) {
          assertEquals(sums[j] / counts[j / dim], centers[j], 1e-5, "class " + j / dim + ", channel " + j % dim);
        }
      }
    }
  }

  @Test
  void craftingAtAnEarlierLayerDrivesItsOwnAlignmentLossDown() {
    ProtectionSettings atThird = settings(Method.SEP_FA_VR, new FeatureLayer(3)).withSteps(6, 2)
        .withAlpha(2f / 255f);
    Protector protector = new Protector(ensemble, atThird);
    LabeledImages batch = data.slice(0, 16);
    int[] targets = protector.targetsFor(batch.labels());
    assertThrows(IllegalStateException.class, () -> protector.protect(batch), "no centers at that layer yet");
    protector.withLayerCentersOf(data, 32);
    // The ε-ball limits every layer's drop (about 20 % here, h(x)'s too), so the references are the same budget
    // spent on h(x) and uniform noise of the same radius, both measured by the layer-3 loss.
    LabeledImages crafted = protector.protect(batch).images();
    LabeledImages atH = new Protector(ensemble, atThird.withFeatureLayer(FeatureLayer.PENULTIMATE)).protect(batch)
        .images();
    LabeledImages noise = new Protector(ensemble, atThird.withFeatureLayer(FeatureLayer.PENULTIMATE)
        .withMethod(Method.UNIFORM_NOISE)).protect(batch).images();
    try (NDManager m = ensemble.manager().newSubManager()) {
      double clean = layerLoss(protector, batch, targets, m);
      double after = layerLoss(protector, crafted, targets, m);
      double afterH = layerLoss(protector, atH, targets, m);
      double afterNoise = layerLoss(protector, noise, targets, m);
      String losses = "layer-3 alignment loss: clean " + clean + ", crafted at layer 3 " + after + ", at h(x) "
          + afterH + ", noise " + afterNoise;
      assertTrue(after < 0.9 * clean, losses);
      assertTrue(after < afterH && after < afterNoise, losses);
    }
  }

  private static double layerLoss(Protector p, LabeledImages images, int[] targets, NDManager m) {
    return p.meanLoss(ImageTensors.batch(m, images, 0, images.size()), targets);
  }

  @Test
  void layerCentersAreANoOpAtThePenultimate() {
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA_VR, FeatureLayer.PENULTIMATE))
        .withLayerCentersOf(data, 32);
    for (Checkpoint c : ensemble.all()) {
      assertNull(protector.layerCentersOf(c), "h(x) aligns to the bundle's own centers");
    }
    FeatureClassifier model = ensemble.last().model();
    assertTrue(model.isFolded(), "the ensemble crafts with the folded copy: the layer path must run on it");
  }
}
