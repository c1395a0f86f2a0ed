package io.sepshield.jobs;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.sepshield.bundle.BundleManifest;
import io.sepshield.bundle.BundleWriter;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.Architectures;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.report.Charts;
import io.sepshield.report.Progress;
import io.sepshield.train.ChannelStats;
import io.sepshield.train.CheckpointSchedule;
import io.sepshield.train.ClassCenters;
import io.sepshield.train.ClassifierMetrics;
import io.sepshield.train.ClassifierTrainer;
import io.sepshield.train.EpochStats;
import io.sepshield.train.TrainingConfig;
import io.sepshield.train.TrainingListener;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The retraining job: trains the protecting model for N epochs, keeps n equidistant checkpoints with their class
 * centers (clean training data, eval mode), measures test accuracy every epoch, and publishes a verified bundle with
 * a training-curve plot and the training data's mean image per class (for a class pattern toward the target class).
 */
public final class RetrainingJob {

  /**
   * @param trainDescription how the training data was chosen (recorded in the manifest)
   * @param test held-out data for per-epoch accuracy; may be null
   */
  public record Spec(LabeledImages train, String trainDescription, LabeledImages test, String testDescription,
      String architecture, TrainingConfig training, int checkpoints, Path bundleRoot, Device device) {}

  /** A finished run: where the bundle is and how training went. */
  public record Result(Path bundleDir, String bundleId, List<EpochStats> history, List<Double> testAccuracy,
      double seconds) {}

  private final PrintStream log;

  public RetrainingJob(PrintStream log) {
    this.log = log;
  }

  public Result run(Spec spec) {
    LabeledImages train = spec.train();
    Set<Integer> keep = CheckpointSchedule.equidistant(spec.training().epochs(), spec.checkpoints());
    ChannelStats stats = ChannelStats.of(train);
    float[] classMeans = train.classMeans(); // before training: a class without images fails now, not in an hour
    FeatureClassifier classifier = Architectures.create(spec.architecture(), train.channels(), train.numClasses(),
        stats.mean(), stats.std());
    BundleWriter writer = new BundleWriter(spec.bundleRoot());
    List<Double> testAccuracy = new ArrayList<>();
    long start = System.nanoTime();
    log.printf("training %s on %s (%d images, %dx%dx%d, %d classes) for %d epochs on %s; checkpoints at epochs %s%n",
        spec.architecture(), spec.trainDescription(), train.size(), train.channels(), train.height(), train.width(),
        train.numClasses(), spec.training().epochs(), spec.device(), keep);
    List<EpochStats> history;
    try (NDManager manager = DjlRuntime.engine().newBaseManager(spec.device())) {
      int batchesPerEpoch = (train.size() + spec.training().batchSize() - 1) / spec.training().batchSize();
      Progress progress = new Progress("train", (long) batchesPerEpoch * spec.training().epochs(), log)
          .unit("batches");
      history = new ClassifierTrainer(spec.training(), spec.device()).fit(classifier, train, new TrainingListener() {
        @Override
        public void onBatch(int epoch, int done, int total, double meanLoss) {
          progress.metric("epoch", epoch).metric("loss", meanLoss).step();
        }

        @Override
        public void onEpochEnd(EpochStats epoch, FeatureClassifier model, ParameterStore ps) {
          double acc = spec.test() == null ? Double.NaN
              : ClassifierMetrics.accuracy(model, ps, manager, spec.test(), 256);
          testAccuracy.add(acc);
          progress.metric("test-acc", 100 * acc);
          if (keep.contains(epoch.epoch())) {
            try (NDManager scope = manager.newSubManager()) {
              NDArray centers = ClassCenters.compute(model, ps, scope, train, 256);
              writer.addCheckpoint(epoch.epoch(), model, centers, acc, epoch.trainAccuracy(), epoch.trainLoss());
            }
          }
          log.printf("epoch %3d/%d  loss %.4f  train-acc %5.2f%%  test-acc %5.2f%%  lr %.4f  %.1fs%s%n",
              epoch.epoch(), spec.training().epochs(), epoch.trainLoss(), 100 * epoch.trainAccuracy(), 100 * acc,
              epoch.learningRate(), epoch.seconds(), keep.contains(epoch.epoch()) ? "  [checkpoint]" : "");
        }
      });
      progress.close();
    } catch (RuntimeException e) {
      writer.abandon();
      throw e;
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    writer.addFile("training-curve.png", curve(spec, history, testAccuracy, keep));
    writer.addInputClassMeans(train.numClasses(), classMeans);
    TrainingConfig t = spec.training();
    BundleManifest.Training training = new BundleManifest.Training(spec.trainDescription(), train.size(),
        spec.testDescription(), t.epochs(), t.batchSize(), t.learningRate(), t.momentum(), t.weightDecay(),
        t.schedule().name(), t.cropPadding(), t.horizontalFlip(), t.seed(), seconds, spec.device().toString());
    Path dir = writer.finish(spec.architecture(), classifier, new long[] {train.channels(), train.height(),
        train.width()}, train.classNames(), training);
    String id = dir.getFileName().toString();
    log.printf("bundle %s written to %s (%.1f s)%n", id, dir, seconds);
    return new Result(dir, id, history, testAccuracy, seconds);
  }

  private static byte[] curve(Spec spec, List<EpochStats> history, List<Double> testAccuracy, Set<Integer> keep) {
    double[] epochs = history.stream().mapToDouble(EpochStats::epoch).toArray();
    double[] trainAcc = history.stream().mapToDouble(e -> 100 * e.trainAccuracy()).toArray();
    double[] testAcc = testAccuracy.stream().mapToDouble(a -> 100 * a).toArray();
    List<Charts.Curve> curves = new ArrayList<>();
    curves.add(new Charts.Curve("train (augmented)", epochs, trainAcc, null, false));
    if (spec.test() != null) {
      curves.add(new Charts.Curve("test (" + spec.testDescription() + ")", epochs, testAcc, null, false));
    }
    return Charts.png(Charts.lines("Protecting model " + spec.architecture() + " on " + spec.trainDescription(),
        "epoch", "accuracy (%)", new double[] {0, 100}, curves, "checkpoints at epochs " + keep + "; "
            + spec.training() + "; device " + spec.device()), Charts.WIDTH, Charts.HEIGHT);
  }
}
