package io.sepshield.train;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.initializer.XavierInitializer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.Gradients;
import io.sepshield.model.ImageTensors;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Trains a {@link FeatureClassifier} from scratch with SGD + momentum + weight decay, shuffling and augmenting each
 * epoch. Used for the protecting model of a bundle and for appropriator models in evaluations.
 */
public final class ClassifierTrainer {
  private final TrainingConfig config;
  private final Device device;
  private final BatchTransform batchTransform;
  private final InputTransform inputTransform;

  public ClassifierTrainer(TrainingConfig config, Device device) {
    this(config, device, null, null);
  }

  /** @param batchTransform applied to every training batch after crop/flip; null for none */
  public ClassifierTrainer(TrainingConfig config, Device device, BatchTransform batchTransform) {
    this(config, device, batchTransform, null);
  }

  /**
   * @param batchTransform applied to every training batch after crop/flip; null for none
   * @param inputTransform applied to every batch's float inputs after {@code batchTransform}, with the model at its
   *     current parameters (adversarial training); null for none
   */
  public ClassifierTrainer(TrainingConfig config, Device device, BatchTransform batchTransform,
      InputTransform inputTransform) {
    this.config = config;
    this.device = device;
    this.batchTransform = batchTransform;
    this.inputTransform = inputTransform;
  }

  /**
   * Trains {@code classifier} (uninitialised) on {@code data}; the listener sees the model after every epoch.
   * The model's parameters are freed when this returns: keep what you need from the listener.
   */
  public List<EpochStats> fit(FeatureClassifier classifier, LabeledImages data, TrainingListener listener) {
    // Initial weights come from the engine's generator: seed it for every run, so a run does not depend on what ran
    // before it in the same JVM.
    Engine.getInstance().setRandomSeed((int) config.seed());
    int n = data.size();
    int batches = (n + config.batchSize() - 1) / config.batchSize();
    LearningRateSchedule lr = new LearningRateSchedule(config.schedule(), config.learningRate(),
        batches * config.epochs());
    Optimizer sgd = Optimizer.sgd()
        .setLearningRateTracker(lr)
        .optMomentum(config.momentum())
        .optWeightDecays(config.weightDecay())
        .build();
    DefaultTrainingConfig trainingConfig = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
        .optOptimizer(sgd)
        .optDevices(new Device[] {device})
        // He initialisation: the right scale for ReLU networks.
        .optInitializer(new XavierInitializer(XavierInitializer.RandomType.GAUSSIAN,
            XavierInitializer.FactorType.IN, 2), Parameter.Type.WEIGHT);
    List<EpochStats> history = new ArrayList<>();
    Random random = new Random(config.seed());
    try (Model model = Model.newInstance("classifier", device)) {
      model.setBlock(classifier);
      try (Trainer trainer = model.newTrainer(trainingConfig)) {
        trainer.initialize(new Shape(1, data.channels(), data.height(), data.width()));
        ParameterStore evalStore = new ParameterStore(trainer.getManager(), false);
        int step = 0;
        for (int epoch = 1; epoch <= config.epochs(); epoch++) {
          long start = System.nanoTime();
          int[] order = permutation(n, random);
          double lossSum = 0;
          long correct = 0;
          for (int b = 0; b < batches; b++) {
            int from = b * config.batchSize();
            int to = Math.min(n, from + config.batchSize());
            int[] idx = java.util.Arrays.copyOfRange(order, from, to);
            LabeledImages batch = data.select(idx);
            byte[] pixels = Augmentation.apply(batch.rawPixels(), batch.size(), data.channels(), data.height(),
                data.width(), config.cropPadding(), config.horizontalFlip(), random);
            float[] soft = null;
            if (batchTransform != null) {
              BatchTransform.Batch changed = batchTransform.apply(pixels, batch.labels(), batch.size(),
                  data.channels(), data.height(), data.width(), classifier.numClasses(), random);
              pixels = changed.pixels();
              soft = changed.softLabels();
            }
            try (NDManager scope = trainer.getManager().newSubManager()) {
              NDArray x = ImageTensors.fromBytes(scope, pixels, batch.size(), data.channels(), data.height(),
                  data.width());
              NDArray y = ImageTensors.labels(scope, batch.labels());
              if (inputTransform != null) {
                // Detached parameters: whatever gradients the transform takes (PGD's) stay out of this step's.
                x = inputTransform.apply(x, y, classifier, new DetachedParameters(evalStore, scope), random);
              }
              try (GradientCollector collector = Gradients.collector(trainer.getManager().getEngine())) {
                NDArray logits = trainer.forward(new NDList(x)).singletonOrThrow();
                NDArray loss = soft == null ? trainer.getLoss().evaluate(new NDList(y), new NDList(logits))
                    : softCrossEntropy(logits, scope.create(soft, new Shape(batch.size(), classifier.numClasses())));
                collector.backward(loss);
                lossSum += loss.getFloat() * batch.size();
                // With a batch transform this is accuracy against the original labels of the batch.
                correct += logits.argMax(1).eq(y).countNonzero().getLong();
              }
              trainer.step();
            }
            step++;
            listener.onBatch(epoch, b + 1, batches, lossSum / to);
          }
          EpochStats stats = new EpochStats(epoch, lossSum / n, (double) correct / n, lr.getNewValue(step),
              (System.nanoTime() - start) / 1e9);
          history.add(stats);
          listener.onEpochEnd(stats, classifier, evalStore);
        }
      }
    }
    return history;
  }

  /** Mean over the batch of −Σ_k p_k log softmax(z)_k: cross-entropy against soft labels (mixup). */
  static NDArray softCrossEntropy(NDArray logits, NDArray probabilities) {
    return logits.logSoftmax(1).mul(probabilities).sum(new int[] {1}).neg().mean();
  }

  private static int[] permutation(int n, Random random) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}
