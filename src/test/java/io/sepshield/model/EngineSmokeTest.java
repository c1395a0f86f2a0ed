package io.sepshield.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import org.junit.jupiter.api.Test;

class EngineSmokeTest {
  @Test
  void pytorchEngineGivesInputGradientsThroughFrozenModel() {
    var engine = DjlRuntime.engine();
    assertEquals("PyTorch", engine.getEngineName());
    try (NDManager m = engine.newBaseManager()) {
      SequentialBlock f = new SequentialBlock()
          .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(4).optPadding(new Shape(1, 1)).build())
          .add(Activation::relu)
          .add(Pool.globalAvgPool2dBlock());
      FeatureClassifier model = new FeatureClassifier(f, 4, 3, new float[] {0.5f}, new float[] {0.25f});
      model.initialize(m, DataType.FLOAT32, new Shape(2, 1, 8, 8));
      model.freezeParameters(true);
      NDArray x = m.randomUniform(0, 1, new Shape(2, 1, 8, 8));
      x.setRequiresGradient(true);
      try (GradientCollector gc = engine.newGradientCollector()) {
        NDArray logits = model.logits(new ParameterStore(m, false), x, false);
        assertEquals(new Shape(2, 3), logits.getShape());
        gc.backward(logits.sum());
      }
      NDArray g = x.getGradient();
      assertEquals(x.getShape(), g.getShape());
      assertTrue(g.abs().sum().getFloat() > 0);
    }
  }
}
