package io.sepshield.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class BatchNormFoldingTest {
  /** conv+BN pairs per architecture, counted by hand from the builders (a change in them must show up here). */
  private static final Map<String, Integer> PAIRS = Map.of(
      "resnet8", 7, // stem + 3 blocks x 2
      "resnet20", 19, // stem + 9 blocks x 2
      "resnet18", 20, // stem + 8 blocks x 2 + 3 projection shortcuts
      "vgg11s", 8, // every conv
      "densenet-s", 18, // the 1x1 bottleneck conv of 18 layers; BN after a concatenation stays
      "googlenet-s", 29); // stem + 4 modules x 7

  @AfterEach
  void restoreDefault() {
    FeatureClassifier.useFoldedBatchNorm(true);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.sepshield.model.ArchitecturesTest#architectures")
  void foldedModelGivesTheSameFeaturesAndInputGradients(String name) {
    DjlRuntime.engine().setRandomSeed(1234); // the same weights and inputs whatever ran before in this JVM
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      FeatureClassifier model = ArchitecturesTest.create(name, 1, 10);
      model.initialize(m, DataType.FLOAT32, new Shape(2, 1, 28, 28));
      model.freezeParameters(true);
      perturbBatchNorm(model, m);
      ParameterStore ps = new ParameterStore(m, false);

      assertEquals(PAIRS.get(name), model.foldBatchNorm(m), "conv+BN pairs folded");
      assertTrue(model.isFolded());

      NDArray x = m.randomUniform(0, 1, new Shape(3, 1, 28, 28));
      NDArray r = m.randomNormal(new Shape(3, model.featureDim()));
      FeatureClassifier.useFoldedBatchNorm(false);
      NDArray plain = model.features(ps, x, false);
      NDArray plainGrad = Gradients.ofInput(x, leaf -> model.features(ps, leaf, false).mul(r).sum(), m);
      FeatureClassifier.useFoldedBatchNorm(true);
      NDArray folded = model.features(ps, x, false);
      NDArray foldedGrad = Gradients.ofInput(x, leaf -> model.features(ps, leaf, false).mul(r).sum(), m);

      assertClose(plain, folded, 1e-4, name + " features");
      // In norm, not per pixel, and to 1 %: the folded copy's float rounding may tip a ReLU or max-pool that sits
      // on a tie the other way, which moves that route's gradient (googlenet-s: 3e-3 of the max in one pixel), and
      // the perturbed BatchNorms amplify rounding through deep nets (resnet18: 0.3-0.4 % in norm). A wrong fold
      // differs by far more.
      assertCloseInNorm(plainGrad, foldedGrad, 1e-2, name + " input gradients");
      // Training mode never uses the folded copy: batch statistics, not running ones.
      NDArray trainingPlain = model.features(ps, x, true);
      assertTrue(trainingPlain.sub(folded).abs().max().getFloat() > 1e-3f,
          "training mode must use batch statistics, not the folded running ones");
    }
  }

  @Test
  void aBatchNormWithAnotherEpsilonIsNotFolded() {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      ai.djl.nn.SequentialBlock block = new ai.djl.nn.SequentialBlock()
          .add(ai.djl.nn.convolutional.Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(4)
              .optPadding(new Shape(1, 1)).build())
          .add(ai.djl.nn.norm.BatchNorm.builder().optEpsilon(0.5f).build())
          .add(Layers.globalAvgPool());
      FeatureClassifier model = new FeatureClassifier(block, 4, 3, new float[] {0.5f}, new float[] {0.25f});
      model.initialize(m, DataType.FLOAT32, new Shape(2, 1, 8, 8));
      model.freezeParameters(true);
      perturbBatchNorm(model, m);
      assertEquals(0, model.foldBatchNorm(m), "ε = 0.5 is not the ε folding assumes: the pair must stay as it is");
      assertFalse(model.isFolded());
    }
  }

  /** Running statistics, scale and shift away from their (0, 1, 1, 0) start, so that folding has work to do. */
  static void perturbBatchNorm(FeatureClassifier model, NDManager m) {
    for (Parameter p : model.getParameters().values()) {
      NDArray a = p.getArray();
      switch (p.getType()) {
        case RUNNING_MEAN, BETA -> a.addi(m.randomNormal(0f, 0.3f, a.getShape(), DataType.FLOAT32));
        case RUNNING_VAR, GAMMA -> a.muli(m.randomUniform(0.5f, 2f, a.getShape()));
        default -> { }
      }
    }
  }

  static void assertCloseInNorm(NDArray expected, NDArray actual, double relative, String what) {
    assertEquals(expected.getShape(), actual.getShape(), what);
    float norm = expected.norm().getFloat();
    float diff = expected.sub(actual).norm().getFloat();
    assertTrue(norm > 0, what + " are all zero: the check would be empty");
    assertTrue(diff <= relative * norm, what + " differ by " + diff + " in L2 norm (norm " + norm + ")");
  }

  static void assertClose(NDArray expected, NDArray actual, double relative, String what) {
    assertEquals(expected.getShape(), actual.getShape(), what);
    float scale = expected.abs().max().getFloat();
    float diff = expected.sub(actual).abs().max().getFloat();
    assertTrue(scale > 0, what + " are all zero: the check would be empty");
    assertTrue(diff <= relative * scale, what + " differ by " + diff + " (max |value| " + scale + ")");
  }
}
