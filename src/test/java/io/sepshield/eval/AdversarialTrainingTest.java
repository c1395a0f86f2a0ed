package io.sepshield.eval;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.ImageTensors;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.sep.Losses;
import io.sepshield.testing.TinyModels;
import io.sepshield.train.ClassifierTrainer;
import io.sepshield.train.EpochStats;
import io.sepshield.train.TrainingConfig;
import io.sepshield.train.TrainingListener;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AdversarialTrainingTest {
  /** Mean cross-entropy of the true labels, BatchNorm in training mode like the attack. */
  private static float loss(FeatureClassifier model, ParameterStore ps, NDArray x, NDArray oneHot) {
    return Losses.targetedCrossEntropy(model.logits(ps, x, true), oneHot).getFloat() / x.getShape().get(0);
  }

  @Test
  void pgdMovesPixelsInsideTheBallAndRaisesTheLossMoreThanNoise() {
    LabeledImages data = TinyModels.textures(4, 16, 1, 21);
    float eps = 8 / 255f;
    try (CheckpointEnsemble ensemble = TinyModels.trainedEnsemble(data, 3, Set.of(3), 4);
        NDManager m = ensemble.manager().newSubManager()) {
      FeatureClassifier model = ensemble.last().model();
      ParameterStore ps = new ParameterStore(m, false);
      NDArray x = ImageTensors.batch(m, data, 0, 32);
      NDArray y = ImageTensors.labels(m, java.util.Arrays.copyOf(data.labels(), 32));
      NDArray oneHot = y.oneHot(4).toType(ai.djl.ndarray.types.DataType.FLOAT32, false);

      NDArray adv = new AdversarialTrainingDefense(8, 5).inputTransform().apply(x, y, model, ps, new Random(1));

      assertEquals(x.getShape(), adv.getShape());
      float[] a = adv.toFloatArray();
      float[] o = x.toFloatArray();
      double meanMove = 0;
      for (int i = 0; i < a.length; i++) {
        float d = Math.abs(a[i] - o[i]);
        assertTrue(d <= eps + 1e-6f, "pixel " + i + " moved " + d * 255 + "/255");
        assertTrue(a[i] >= 0 && a[i] <= 1, "pixel " + i + " = " + a[i]);
        meanMove += d;
      }
      meanMove /= a.length;
      // Signed steps end most pixels near the border of the ball.
      assertTrue(meanMove > 0.6 * eps, "mean |δ| " + meanMove * 255 + "/255");

      NDArray noisy;
      try (EpsilonBall ball = new EpsilonBall(x, eps)) {
        noisy = ball.project(x.add(m.randomUniform(-eps, eps, x.getShape())));
      }
      float clean = loss(model, ps, x, oneHot);
      float random = loss(model, ps, noisy, oneHot);
      float attacked = loss(model, ps, adv, oneHot);
      assertTrue(attacked > clean + 0.1f && attacked > random + 0.1f,
          "loss clean " + clean + ", uniform noise " + random + ", PGD " + attacked);
    }
  }

  @Test
  void adversarialTrainingRunsInsideTheTrainerAndTrainsOnHarderBatches() {
    LabeledImages data = TinyModels.textures(4, 8, 1, 22);
    TrainingConfig config = new TrainingConfig(2, 16, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 0, false,
        6);
    List<EpochStats> plain = new ClassifierTrainer(config, Device.cpu())
        .fit(TinyModels.tinyClassifier(1, 4), data, new TrainingListener() {});
    Defense adv = new AdversarialTrainingDefense(16, 3);
    List<EpochStats> adversarial = new ClassifierTrainer(config, Device.cpu(), adv.batchTransform(),
        adv.inputTransform()).fit(TinyModels.tinyClassifier(1, 4), data, new TrainingListener() {});
    // The same initialisation and batches; only the inputs differ, chosen to raise the loss.
    assertTrue(adversarial.get(1).trainLoss() > plain.get(1).trainLoss() + 0.1,
        "adversarial " + adversarial.get(1).trainLoss() + " vs plain " + plain.get(1).trainLoss());
  }

  @Test
  void specsParseWithMadryDefaultsAndBadOnesAreRefused() {
    assertEquals(new AdversarialTrainingDefense(4, AdversarialTrainingDefense.DEFAULT_STEPS), Defenses.parse("adv:4"));
    assertEquals(new AdversarialTrainingDefense(2.5f, 3), Defenses.parse("ADV:2.5:3"));
    assertEquals(List.of("adv:4:7", "adv:8:10"), Defenses.parseList("adv:4, adv:8:10").stream()
        .map(Defense::label).toList());
    for (String bad : List.of("adv", "adv:", "adv:0", "adv:-2", "adv:x", "adv:4:0", "adv:4:x", "adv:4:5:6",
        "adv:nan", "adv:300")) {
      assertThrows(IllegalArgumentException.class, () -> Defenses.parse(bad), bad);
    }
    assertNull(new CutoutDefense(4).inputTransform());
  }
}
