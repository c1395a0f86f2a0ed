package io.sepshield.train;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.ImageTensors;
import io.sepshield.testing.TinyModels;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TrainingTest {
  @Test
  void checkpointsAreEquidistantOverEpochsAndEndWithTheLast() {
    assertEquals(Set.of(8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120),
        CheckpointSchedule.equidistant(120, 15));
    assertEquals(Set.of(3, 5, 8), CheckpointSchedule.equidistant(8, 3));
    assertEquals(Set.of(1, 2, 3), CheckpointSchedule.equidistant(3, 3));
    assertThrows(IllegalArgumentException.class, () -> CheckpointSchedule.equidistant(3, 4));
  }

  @Test
  void schedulesFollowTheirShape() {
    LearningRateSchedule step = new LearningRateSchedule(TrainingConfig.Schedule.STEP, 0.1f, 1200);
    assertEquals(0.1f, step.getNewValue(0), 1e-7);
    assertEquals(0.01f, step.getNewValue(800), 1e-7); // epoch 80 of 120
    assertEquals(0.001f, step.getNewValue(1000), 1e-7);
    LearningRateSchedule cycle = new LearningRateSchedule(TrainingConfig.Schedule.ONE_CYCLE, 0.1f, 1000);
    assertTrue(cycle.getNewValue(0) < 0.02f);
    assertEquals(0.1f, cycle.getNewValue(150), 1e-6);
    assertTrue(cycle.getNewValue(999) < 1e-4f);
  }

  @Test
  void reportsDescribeTheRecipeInWords() {
    assertEquals("30 epochs, batch 128, SGD lr 0.1 one-cycle, momentum 0.9, weight decay 0.0005, random crop "
        + "(padding 2) + flip", TrainingConfig.shortRun(30, 7).describe());
    assertEquals("40 epochs, batch 64, SGD lr 0.1 step, momentum 0.9, weight decay 0.0005, no augmentation",
        TrainingConfig.paper(40, 0).withBatchSize(64).withAugmentation(0, false).describe());
  }

  @Test
  void augmentationShiftsAndFlipsWithinTheImage() {
    byte[] img = new byte[9];
    for (int i = 0; i < 9; i++) {
      img[i] = (byte) (i + 1);
    }
    byte[] same = Augmentation.apply(img, 1, 1, 3, 3, 0, false, new Random(1));
    assertArrayEquals(img, same);
    // With padding 1 every output pixel is either 0 (padding) or one of the source pixels.
    Random random = new Random(2);
    boolean sawShift = false;
    for (int trial = 0; trial < 20; trial++) {
      byte[] out = Augmentation.apply(img, 1, 1, 3, 3, 1, true, random);
      for (byte b : out) {
        assertTrue(b >= 0 && b <= 9);
      }
      sawShift |= !java.util.Arrays.equals(out, img);
    }
    assertTrue(sawShift);
  }

  @Test
  void trainerLearnsAPlantedPatternAndCentersAreClassMeansOfFeatures() {
    LabeledImages data = TinyModels.textures(4, 40, 1, 3);
    TrainingConfig config = new TrainingConfig(8, 32, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 1,
        false, 9);
    double[] finalAccuracy = new double[1];
    float[][] check = new float[2][];
    List<EpochStats> history = new ClassifierTrainer(config, Device.cpu()).fit(TinyModels.tinyClassifier(1, 4), data,
        new TrainingListener() {
          @Override
          public void onEpochEnd(EpochStats stats, FeatureClassifier model, ParameterStore ps) {
            if (stats.epoch() != 8) {
              return;
            }
            try (NDManager m = DjlRuntime.engine().newBaseManager(Device.cpu())) {
              finalAccuracy[0] = ClassifierMetrics.accuracy(model, ps, m, data, 50);
              NDArray centers = ClassCenters.compute(model, ps, m, data, 7); // odd batch size on purpose
              // Class 2's center by hand: mean of the features of its images.
              NDArray features = model.features(ps, ImageTensors.batch(m, data, 0, data.size()), false);
              float[] f = features.toFloatArray();
              float[] manual = new float[TinyModels.FEATURE_DIM];
              int count = 0;
              for (int i = 0; i < data.size(); i++) {
                if (data.label(i) == 2) {
                  count++;
                  for (int j = 0; j < manual.length; j++) {
                    manual[j] += f[i * manual.length + j];
                  }
                }
              }
              for (int j = 0; j < manual.length; j++) {
                manual[j] /= count;
              }
              check[0] = manual;
              check[1] = java.util.Arrays.copyOfRange(centers.toFloatArray(), 2 * manual.length,
                  3 * manual.length);
            }
          }
        });
    assertEquals(8, history.size());
    assertTrue(history.get(7).trainLoss() < history.get(0).trainLoss(), "loss should fall: " + history);
    assertTrue(finalAccuracy[0] > 0.9, "accuracy on a planted pattern: " + finalAccuracy[0]);
    assertArrayEquals(check[0], check[1], 1e-4f);
  }

  @Test
  void metricsCountCorrectly() {
    assertEquals(0.5, ClassifierMetrics.accuracy(new int[] {0, 1, 2, 2}, new int[] {0, 1, 1, 0}));
    int[][] cm = ClassifierMetrics.confusionMatrix(new int[] {0, 1, 2, 2}, new int[] {0, 1, 1, 0}, 3);
    assertArrayEquals(new int[] {1, 0, 1}, cm[0]);
    assertArrayEquals(new int[] {0, 1, 1}, cm[1]);
  }

  @Test
  void channelStatsMatchTheData() {
    byte[] px = {0, (byte) 255, 0, (byte) 255};
    LabeledImages one = new LabeledImages(1, 2, 2, px, new int[] {0}, List.of("a"), List.of("x"));
    ChannelStats s = ChannelStats.of(one);
    assertEquals(0.5f, s.mean()[0], 1e-6);
    assertEquals(0.5f, s.std()[0], 1e-6);
  }
}
