package io.sepshield.testing;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.ParameterStore;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.ModelParams;
import io.sepshield.sep.Checkpoint;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.train.ClassCenters;
import io.sepshield.train.ClassifierTrainer;
import io.sepshield.train.EpochStats;
import io.sepshield.train.TrainingConfig;
import io.sepshield.train.TrainingListener;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

/** Small models and data that make engine tests run in seconds on two cores. */
public final class TinyModels {
  public static final int FEATURE_DIM = 16;

  private TinyModels() {}

  /** conv-BN-ReLU ×2 and global pooling: enough to learn {@link #textures} and to have BatchNorm to get wrong. */
  public static FeatureClassifier tinyClassifier(int channels, int classes) {
    SequentialBlock features = new SequentialBlock()
        .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(8).optPadding(new Shape(1, 1)).build())
        .add(BatchNorm.builder().build())
        .add(Activation::relu)
        .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).setFilters(FEATURE_DIM).optStride(new Shape(2, 2))
            .optPadding(new Shape(1, 1)).build())
        .add(BatchNorm.builder().build())
        .add(Activation::relu)
        .add(Pool.globalAvgPool2dBlock())
        .add(Blocks.batchFlattenBlock());
    float[] mean = new float[channels];
    float[] std = new float[channels];
    java.util.Arrays.fill(mean, 0.3f);
    java.util.Arrays.fill(std, 0.3f);
    return new FeatureClassifier(features, FEATURE_DIM, classes, mean, std);
  }

  /**
   * A learnable data set of 12x12 textures: each class has its own stripe orientation or pattern (horizontal,
   * vertical, checkerboard, diagonal; periods 2 and 3 beyond four classes) under noise. Textures, not positions:
   * global average pooling keeps texture and discards where things are.
   */
  public static LabeledImages textures(int classes, int perClass, int channels, long seed) {
    return textures(classes, perClass, channels, 12, seed);
  }

  /** {@link #textures(int, int, int, long)} at size x size pixels. */
  public static LabeledImages textures(int classes, int perClass, int channels, int size, long seed) {
    int h = size;
    int w = size;
    Random random = new Random(seed);
    int n = classes * perClass;
    byte[] pixels = new byte[n * channels * h * w];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      int label = i % classes;
      labels[i] = label;
      int period = 2 + label / 4;
      int phase = random.nextInt(period);
      for (int c = 0; c < channels; c++) {
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            int coordinate = switch (label % 4) {
              case 0 -> y;
              case 1 -> x;
              case 2 -> x / period + y / period;
              default -> x + y;
            };
            boolean on = coordinate % period == phase;
            int v = (on ? 170 : 60) + random.nextInt(50);
            pixels[((i * channels + c) * h + y) * w + x] = (byte) Math.min(255, v);
          }
        }
      }
    }
    List<String> names = new ArrayList<>();
    for (int k = 0; k < classes; k++) {
      names.add("class-" + k);
    }
    return new LabeledImages(channels, h, w, pixels, labels, names, LabeledImages.indexIds("tx", n));
  }

  /**
   * Trains a tiny classifier and keeps the given epochs as an ensemble on the CPU, the way a bundle would hold them
   * (parameters serialised, reloaded into fresh models; centers from the clean data in eval mode).
   */
  public static CheckpointEnsemble trainedEnsemble(LabeledImages data, int epochs, Set<Integer> keep, long seed) {
    record Saved(int epoch, byte[] params, float[] centers) {}
    List<Saved> saved = new ArrayList<>();
    TrainingConfig config = new TrainingConfig(epochs, 32, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE,
        1, false, seed);
    new ClassifierTrainer(config, Device.cpu()).fit(tinyClassifier(data.channels(), data.numClasses()), data,
        new TrainingListener() {
          @Override
          public void onEpochEnd(EpochStats stats, FeatureClassifier model, ParameterStore ps) {
            if (!keep.contains(stats.epoch())) {
              return;
            }
            try (NDManager m = DjlRuntime.engine().newBaseManager(Device.cpu())) {
              NDArray centers = ClassCenters.compute(model, ps, m, data, 64);
              saved.add(new Saved(stats.epoch(), ModelParams.toBytes(model), centers.toFloatArray()));
            }
          }
        });
    NDManager manager = DjlRuntime.engine().newBaseManager(Device.cpu());
    List<Checkpoint> checkpoints = new ArrayList<>();
    for (Saved s : saved) {
      FeatureClassifier model = tinyClassifier(data.channels(), data.numClasses());
      try {
        ModelParams.load(model, manager, s.params());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      NDArray centers = manager.create(s.centers(), new Shape(data.numClasses(), FEATURE_DIM));
      checkpoints.add(new Checkpoint(s.epoch(), model, centers));
    }
    return new CheckpointEnsemble(checkpoints, manager, new long[] {data.channels(), data.height(), data.width()});
  }

  /**
   * A real bundle, as the retraining job writes it: resnet8 trained on {@code data} for {@code epochs} epochs (a few
   * seconds on 12x12 images), every epoch kept, written under {@code root} (LATEST names it). Different seeds give
   * different bundle ids.
   */
  public static RetrainingJob.Result bundle(LabeledImages data, Path root, int epochs, long seed) {
    TrainingConfig config = new TrainingConfig(epochs, 32, 0.05f, 0.9f, 5e-4f, TrainingConfig.Schedule.ONE_CYCLE, 1,
        false, seed);
    return new RetrainingJob(new PrintStream(new ByteArrayOutputStream())).run(new RetrainingJob.Spec(data,
        "textures", data, "textures", "resnet8", config, epochs, root, Device.cpu()));
  }

  /** A copy of a bundle directory in a new folder under {@code parent}, to tamper with. */
  public static Path copyBundle(Path bundle, Path parent) throws IOException {
    Path target = Files.createTempDirectory(parent, "copy-");
    try (Stream<Path> files = Files.walk(bundle)) {
      for (Path p : files.toList()) {
        Path t = target.resolve(bundle.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(t);
        } else {
          Files.copy(p, t);
        }
      }
    }
    return target;
  }
}
