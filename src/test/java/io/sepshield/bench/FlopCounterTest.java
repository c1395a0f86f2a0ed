package io.sepshield.bench;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.sepshield.model.Architectures;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.testing.TinyModels;
import org.junit.jupiter.api.Test;

class FlopCounterTest {

  @Test
  void countsTheMacsOfTheTinyClassifierByHand() {
    try (NDManager m = DjlRuntime.engine().newBaseManager(Device.cpu())) {
      FeatureClassifier model = TinyModels.tinyClassifier(1, 4);
      model.initialize(m, DataType.FLOAT32, new Shape(1, 1, 12, 12));
      // conv 1->8 3x3 at 12x12: 144*8*9; conv 8->16 3x3 stride 2 -> 6x6: 36*16*72; linear 16->4: 64.
      long expected = 144L * 8 * 9 + 36L * 16 * 72 + 16 * 4;
      assertEquals(expected, FlopCounter.forwardMacsPerImage(model, new long[] {1, 12, 12}));
      assertEquals(4.0 * expected, FlopCounter.passFlopsPerImage(model, new long[] {1, 12, 12}));
    }
  }

  @Test
  void countsResNet8ThroughItsResidualBlocksAndScalesWithTheImageArea() {
    try (NDManager m = DjlRuntime.engine().newBaseManager(Device.cpu())) {
      FeatureClassifier model = Architectures.create("resnet8", 1, 10, new float[] {0.5f}, new float[] {0.25f});
      model.initialize(m, DataType.FLOAT32, new Shape(1, 1, 28, 28));
      // stem 1->16 at 28x28; stage 1: two 16->16; stage 2 (14x14): 16->32, 32->32; stage 3 (7x7): 32->64, 64->64.
      long convs = 784L * 16 * 9 + 2 * 784L * 16 * 144 + 196L * 32 * 144 + 196L * 32 * 288 + 49L * 64 * 288
          + 49L * 64 * 576;
      assertEquals(convs + 640, FlopCounter.forwardMacsPerImage(model, new long[] {1, 28, 28}));
      long at56 = FlopCounter.forwardMacsPerImage(model, new long[] {1, 56, 56});
      assertEquals(4 * convs + 640, at56, "conv MACs grow with H x W, the head's do not");
    }
  }
}
