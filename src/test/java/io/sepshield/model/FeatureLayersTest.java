package io.sepshield.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Features at an earlier layer of the feature block: what the children compute, folded or not. */
class FeatureLayersTest {
  private static final long[] MNIST = {1, 28, 28};

  @AfterEach
  void restoreDefault() {
    FeatureClassifier.useFoldedBatchNorm(true);
  }

  @Test
  void resnet8AndVgg11sCountTheirChildrenBeforeGlobalPooling() {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      assertEquals(List.of(16L, 16L, 32L, 64L), channels(initialised("resnet8", m), m));
      // conv, pool, conv, pool, conv, conv, pool, conv, conv, pool, conv, conv, pool (the last two skipped at 3x3)
      assertEquals(List.of(32L, 32L, 64L, 64L, 128L, 128L, 128L, 256L, 256L, 256L, 256L, 256L, 256L),
          channels(initialised("vgg11s", m), m));
      List<FeatureClassifier.Layer> layers = initialised("resnet8", m).layers(new ParameterStore(m, false), MNIST);
      assertEquals("1 conv-bn-ReLU (16 ch, 28x28)", layers.get(0).toString());
      assertTrue(layers.get(2).toString().startsWith("3 [conv-bn-ReLU-conv-bn|"), layers.get(2).toString());
      assertEquals(14, layers.get(2).height(), "the second stage halves 28x28 to 14x14");
      assertEquals(7, layers.get(3).height(), "the third halves it again");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.sepshield.model.ArchitecturesTest#architectures")
  void layerFeaturesAreTheFirstChildrenAveragedOverHeightAndWidth(String name) {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      FeatureClassifier model = initialised(name, m);
      ParameterStore ps = new ParameterStore(m, false);
      NDArray x = m.randomUniform(0, 1, new Shape(3, 1, 28, 28));
      List<FeatureClassifier.Layer> layers = model.layers(ps, MNIST);
      assertFalse(layers.isEmpty());
      List<Block> children = List.copyOf(model.getChildren().valueAt(0).getChildren().values());
      NDList h = new NDList(x.sub(0.5f).div(0.25f)); // ArchitecturesTest's normalisation
      for (FeatureClassifier.Layer layer : layers) {
        h = children.get(layer.index() - 1).forward(ps, h, false);
        NDArray maps = h.singletonOrThrow();
        long[] s = maps.getShape().getShape();
        NDArray byHand = maps.reshape(s[0], s[1], s[2] * s[3]).mean(new int[] {2});
        NDArray got = model.features(ps, x, false, layer.index());
        assertEquals(new Shape(3, layer.channels()), got.getShape(), name + " layer " + layer);
        assertArrayEquals(byHand.toFloatArray(), got.toFloatArray(), name + " layer " + layer);
      }
      // The last map before pooling, averaged, is h(x): global pooling is that average.
      BatchNormFoldingTest.assertClose(model.features(ps, x, false), model.features(ps, x, false, layers.size()), 1e-5,
          name + " last layer vs h(x)");
      int outside = layers.size() + 1;
      assertThrows(IllegalArgumentException.class, () -> model.features(ps, x, false, 0));
      if (outside <= children.size()) { // global pooling itself yields (N, C): not a layer
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> model.features(ps, x, false, outside));
        assertTrue(e.getMessage().contains("not NCHW maps"), e.getMessage());
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.sepshield.model.ArchitecturesTest#architectures")
  void foldedAndUnfoldedLayersAgreeUpToRounding(String name) {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      FeatureClassifier model = initialised(name, m);
      model.freezeParameters(true);
      BatchNormFoldingTest.perturbBatchNorm(model, m);
      ParameterStore ps = new ParameterStore(m, false);
      List<FeatureClassifier.Layer> layers = model.layers(ps, MNIST);
      assertTrue(model.foldBatchNorm(m) > 0);
      NDArray x = m.randomUniform(0, 1, new Shape(3, 1, 28, 28));
      boolean anyRoundedDifferently = false;
      for (FeatureClassifier.Layer layer : layers) {
        FeatureClassifier.useFoldedBatchNorm(false);
        NDArray plain = model.features(ps, x, false, layer.index());
        FeatureClassifier.useFoldedBatchNorm(true);
        NDArray folded = model.features(ps, x, false, layer.index());
        BatchNormFoldingTest.assertClose(plain, folded, 1e-4, name + " layer " + layer);
        anyRoundedDifferently |= !java.util.Arrays.equals(plain.toFloatArray(), folded.toFloatArray());
      }
      // Bit-equal everywhere would mean the folded copy was never run.
      assertTrue(anyRoundedDifferently, name + ": the folded copy was not used at any layer");
    }
  }

  @Test
  void aFeatureBlockThatIsNotSequentialIsRefused() {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      FeatureClassifier model = new FeatureClassifier(Layers.globalAvgPool(), 1, 3, new float[] {0.5f},
          new float[] {0.25f});
      model.initialize(m, DataType.FLOAT32, new Shape(1, 1, 8, 8));
      ParameterStore ps = new ParameterStore(m, false);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> model.layers(ps, new long[] {1, 8, 8}));
      assertTrue(e.getMessage().contains("not a SequentialBlock"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> model.features(ps, m.zeros(new Shape(1, 1, 8, 8)), false, 1));
    }
  }

  private static FeatureClassifier initialised(String name, NDManager m) {
    FeatureClassifier model = ArchitecturesTest.create(name, 1, 10);
    model.initialize(m, DataType.FLOAT32, new Shape(2, 1, 28, 28));
    return model;
  }

  private static List<Long> channels(FeatureClassifier model, NDManager m) {
    return model.layers(new ParameterStore(m, false), MNIST).stream().map(FeatureClassifier.Layer::channels).toList();
  }
}
