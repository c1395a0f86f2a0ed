package io.sepshield.train;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.loss.Loss;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.Gradients;
import io.sepshield.testing.TinyModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BatchTransformTest {
  @Test
  void softCrossEntropyOnOneHotLabelsIsTheUsualLoss() {
    try (NDManager m = DjlRuntime.engine().newBaseManager(Device.cpu())) {
      NDArray logits = m.create(new float[] {1f, -2f, 0.5f, 0.3f, 0.1f, 2f}, new ai.djl.ndarray.types.Shape(2, 3));
      NDArray labels = m.create(new long[] {2, 0});
      float usual = Loss.softmaxCrossEntropyLoss().evaluate(new NDList(labels), new NDList(logits)).getFloat();
      NDArray oneHot = m.create(new float[] {0, 0, 1, 1, 0, 0}, new ai.djl.ndarray.types.Shape(2, 3));
      assertEquals(usual, ClassifierTrainer.softCrossEntropy(logits, oneHot).getFloat(), 1e-5);
      NDArray half = m.create(new float[] {0.5f, 0, 0.5f, 0.5f, 0, 0.5f}, new ai.djl.ndarray.types.Shape(2, 3));
      assertNotEquals(usual, ClassifierTrainer.softCrossEntropy(logits, half).getFloat(), 1e-3);
    }
  }

  @Test
  void theTrainerTrainsOnTheTransformedBatchesWithSoftLabels() {
    LabeledImages data = TinyModels.textures(2, 8, 1, 2);
    List<Integer> sizes = new ArrayList<>();
    // Blank every image and give it uniform soft labels: nothing is learnable, so the loss must sit at ln 2.
    BatchTransform blank = (pixels, labels, n, c, h, w, classes, random) -> {
      sizes.add(n);
      float[] soft = new float[n * classes];
      java.util.Arrays.fill(soft, 1f / classes);
      return new BatchTransform.Batch(new byte[pixels.length], soft);
    };
    TrainingConfig config = new TrainingConfig(2, 6, 0.05f, 0.9f, 0f, TrainingConfig.Schedule.ONE_CYCLE, 0, false, 1);
    List<EpochStats> history = new ClassifierTrainer(config, Device.cpu(), blank)
        .fit(TinyModels.tinyClassifier(1, 2), data, new TrainingListener() {});
    assertEquals(List.of(6, 6, 4, 6, 6, 4), sizes);
    for (EpochStats s : history) {
      assertEquals(Math.log(2), s.trainLoss(), 0.05, "loss " + s.trainLoss());
    }
  }

  @Test
  void inputGradientsTakenInTheInputTransformDoNotReachTheTrainingStep() {
    LabeledImages data = TinyModels.textures(2, 12, 1, 3);
    // One epoch: the order is drawn before any transform runs, so both runs see the same batches.
    TrainingConfig config = new TrainingConfig(1, 6, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 0, false,
        4);
    int[] calls = {0};
    InputTransform lookOnly = (images, labels, model, parameters, random) -> {
      calls[0]++;
      try (NDManager scope = images.getManager().newSubManager()) {
        NDArray grad = Gradients.ofInput(images, leaf -> model.logits(parameters, leaf, false).sum(), scope);
        assertTrue(grad.abs().sum().getFloat() > 0, "no input gradient");
      }
      return images;
    };
    List<EpochStats> plain = new ClassifierTrainer(config, Device.cpu())
        .fit(TinyModels.tinyClassifier(1, 2), data, new TrainingListener() {});
    List<EpochStats> looked = new ClassifierTrainer(config, Device.cpu(), null, lookOnly)
        .fit(TinyModels.tinyClassifier(1, 2), data, new TrainingListener() {});
    assertEquals(4, calls[0]);
    assertEquals(plain.get(0).trainLoss(), looked.get(0).trainLoss(), 1e-6);
    assertEquals(plain.get(0).trainAccuracy(), looked.get(0).trainAccuracy());
  }

  @Test
  void theTrainerTrainsOnWhatTheInputTransformReturns() {
    LabeledImages data = TinyModels.textures(2, 8, 1, 2);
    // Blank inputs: nothing is learnable from them, so the loss must sit near ln 2.
    InputTransform blank = (images, labels, model, parameters, random) -> images.zerosLike();
    TrainingConfig config = new TrainingConfig(2, 6, 0.05f, 0.9f, 0f, TrainingConfig.Schedule.ONE_CYCLE, 0, false, 1);
    for (EpochStats s : new ClassifierTrainer(config, Device.cpu(), null, blank)
        .fit(TinyModels.tinyClassifier(1, 2), data, new TrainingListener() {})) {
      assertEquals(Math.log(2), s.trainLoss(), 0.05, "loss " + s.trainLoss());
    }
  }
}
