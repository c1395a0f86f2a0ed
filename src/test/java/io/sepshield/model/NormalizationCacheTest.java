package io.sepshield.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.sepshield.testing.TinyModels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class NormalizationCacheTest {

  @AfterEach
  void restoreDefault() {
    FeatureClassifier.cacheNormalization(true);
  }

  @Test
  void cachedConstantsGiveTheSameLogitsWithoutAllocatingPerForward() {
    try (NDManager m = DjlRuntime.engine().newBaseManager(Device.cpu())) {
      FeatureClassifier model = TinyModels.tinyClassifier(2, 3);
      model.initialize(m, DataType.FLOAT32, new Shape(1, 2, 12, 12));
      ParameterStore ps = new ParameterStore(m, false);
      NDArray x = m.randomUniform(0f, 1f, new Shape(4, 2, 12, 12));
      float[] uncached;
      int perForwardUncached;
      int perForwardCached;
      FeatureClassifier.cacheNormalization(false);
      try (NDManager scope = m.newSubManager()) {
        uncached = model.logits(ps, x, false).toFloatArray();
        int before = scope.getManagedArrays().size();
        perForwardUncached = count(model, ps, x, scope) - before;
      }
      FeatureClassifier.cacheNormalization(true);
      float[] cached;
      try (NDManager scope = m.newSubManager()) {
        cached = model.logits(ps, x, false).toFloatArray(); // first call fills the cache
        int before = scope.getManagedArrays().size();
        perForwardCached = count(model, ps, x, scope) - before;
      }
      assertArrayEquals(uncached, cached, 0f);
      assertTrue(perForwardCached < perForwardUncached,
          "cached " + perForwardCached + " vs uncached " + perForwardUncached + " arrays per forward");
      int owned = m.getManagedArrays().size();
      try (NDManager scope = m.newSubManager()) {
        count(model, ps, x, scope);
      }
      assertEquals(owned, m.getManagedArrays().size(), "the constants are made once, not per forward");
    }
  }

  /** Runs a forward pass whose intermediates land in {@code scope}; returns the arrays the scope then holds. */
  private static int count(FeatureClassifier model, ParameterStore ps, NDArray x, NDManager scope) {
    NDArray input = x.duplicate();
    input.attach(scope);
    model.logits(ps, input, false);
    return scope.getManagedArrays().size();
  }
}
