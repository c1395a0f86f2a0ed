package io.sepshield.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The default protecting model must be trainable with DJL's standard Trainer. */
class ResNet8TrainingTest {
  private static final int N = 64;
  private static final int BATCH = 16;
  private static final int SIZE = 16;

  @Test
  void sgdReducesLossOnSyntheticTwoClassProblem() {
    DjlRuntime.engine().setRandomSeed(7);
    FeatureClassifier classifier = Architectures.create("resnet8", 1, 2, new float[] {0.5f}, new float[] {0.25f});
    try (Model model = Model.newInstance("resnet8-synthetic", Device.cpu(), "PyTorch")) {
      model.setBlock(classifier);
      DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
          .optDevices(new Device[] {Device.cpu()})
          .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.05f)).optMomentum(0.9f).build());
      try (Trainer trainer = model.newTrainer(config)) {
        trainer.initialize(new Shape(BATCH, 1, SIZE, SIZE));
        NDManager m = trainer.getManager();
        NDArray[] data = syntheticImages(m);
        NDArray x = data[0];
        NDArray y = data[1];

        float before = evalLoss(trainer, classifier, x, y);
        for (int epoch = 0; epoch < 3; epoch++) {
          for (int from = 0; from < N; from += BATCH) {
            String rows = from + ":" + (from + BATCH);
            try (GradientCollector gc = trainer.newGradientCollector()) {
              NDArray logits = trainer.forward(new NDList(x.get(rows))).singletonOrThrow();
              gc.backward(trainer.getLoss().evaluate(new NDList(y.get(rows)), new NDList(logits)));
            }
            trainer.step();
          }
        }
        float after = evalLoss(trainer, classifier, x, y);
        assertTrue(after < 0.3f * before && after < 0.2f, "loss " + before + " -> " + after);
      }
    }
  }

  /**
   * Noisy grey images whose class says which half, left or right, is brighter: learnable in a few steps, yet not by
   * the mean pixel value alone.
   */
  private static NDArray[] syntheticImages(NDManager m) {
    Random random = new Random(1);
    float[] pixels = new float[N * SIZE * SIZE];
    long[] labels = new long[N];
    for (int i = 0; i < N; i++) {
      labels[i] = i % 2;
      for (int r = 0; r < SIZE; r++) {
        for (int c = 0; c < SIZE; c++) {
          boolean brightHalf = (c < SIZE / 2) == (labels[i] == 0);
          pixels[(i * SIZE + r) * SIZE + c] = 0.3f + (brightHalf ? 0.3f : 0f) + 0.3f * random.nextFloat();
        }
      }
    }
    return new NDArray[] {m.create(pixels, new Shape(N, 1, SIZE, SIZE)), m.create(labels)};
  }

  /** Mean cross-entropy over the whole set in eval mode (BatchNorm on running statistics). */
  private static float evalLoss(Trainer trainer, FeatureClassifier classifier, NDArray x, NDArray y) {
    NDArray logits = classifier.logits(new ParameterStore(trainer.getManager(), false), x, false);
    return trainer.getLoss().evaluate(new NDList(y), new NDList(logits)).getFloat();
  }
}
