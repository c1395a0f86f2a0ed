package io.sepshield.cli;

import io.sepshield.bundle.BundleException;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.DatasetProtection;
import io.sepshield.jobs.ProtectedOutput;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.Protector;
import io.sepshield.train.TrainingConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The end-to-end batch demo on real Fashion-MNIST: train (or reuse) a protecting model bundle, protect a few
 * thousand training images with SEP-FA-VR, print the figures and write the pictures.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Train or reuse a bundle on Fashion-MNIST, protect training images with SEP-FA-VR, print a summary.")
public class DemoCommand implements Callable<Integer> {
  @Option(names = "--out", defaultValue = "runs/demo", description = "Working directory. Default: ${DEFAULT-VALUE}")
  Path out;

  @Option(names = "--train-images", defaultValue = "6000",
      description = "Balanced subset of Fashion-MNIST train used to train the protecting model. Default: "
          + "${DEFAULT-VALUE}")
  int trainImages;

  @Option(names = "--epochs", defaultValue = "5", description = "N. Default: ${DEFAULT-VALUE}")
  int epochs;

  @Option(names = "--checkpoints", defaultValue = "5", description = "n. Default: ${DEFAULT-VALUE}")
  int checkpoints;

  @Option(names = "--protect-images", defaultValue = "1000", description = "Training images to protect. "
      + "Default: ${DEFAULT-VALUE}")
  int protectImages;

  @Option(names = "--profile", defaultValue = "fast", description = "Crafting profile (fast, cpu, paper). Default: "
      + "${DEFAULT-VALUE}")
  String profile;

  @Option(names = "--eps", defaultValue = "8", description = "ε in 1/255. Default: ${DEFAULT-VALUE}")
  float eps;

  @Option(names = "--retrain", description = "Train a new bundle even if one exists.")
  boolean retrain;

  @Option(names = "--data-dir", description = "Fashion-MNIST directory (default: the Debian package's).")
  Path dataDir;

  @Mixin
  Options.Runtime runtime;

  @Override
  public Integer call() throws Exception {
    Path bundles = out.resolve("bundles");
    String train = "fashion-mnist:train" + (dataDir == null ? "" : "@" + dataDir);
    String test = "fashion-mnist:test" + (dataDir == null ? "" : "@" + dataDir);
    LabeledImages trainSet = Options.load(train, trainImages, runtime.seed);
    if (retrain || !hasBundle(bundles)) {
      LabeledImages testSet = Options.load(test, 0, runtime.seed);
      TrainingConfig config = TrainingConfig.shortRun(epochs, runtime.seed);
      new RetrainingJob(System.err).run(new RetrainingJob.Spec(trainSet, Options.describe(train, trainImages,
          trainSet), testSet, test, "resnet8", config, checkpoints, bundles, runtime.resolve()));
    } else {
      System.err.println("reusing the bundle in " + bundles + " (--retrain to train a new one)");
    }
    LabeledImages toProtect = trainSet.slice(0, Math.min(protectImages, trainSet.size()));
    try (BundleLoader.LoadedBundle loaded = BundleLoader.load(bundles, runtime.resolve())) {
      var manifest = loaded.manifest();
      ProtectionSettings settings = Profile.parse(profile).settings(Method.SEP_FA_VR, eps / 255f,
          loaded.ensemble().size(), runtime.seed);
      System.err.printf("protecting %d images with %s%n", toProtect.size(), settings);
      DatasetProtection.Result result = new DatasetProtection(System.err)
          .run(new Protector(loaded.ensemble(), settings), toProtect, 64);
      Path protectedDir = out.resolve("protected");
      ProtectedOutput.write(result.protectedImages(), protectedDir, "idx");
      Path strip = DatasetProtection.writeBeforeAfter(toProtect, result.protectedImages(), eps, 10,
          out.resolve("before-after.png"), settings + "; bundle " + manifest.bundleId());
      StringBuilder acc = new StringBuilder();
      for (var c : manifest.checkpoints()) {
        acc.append(String.format(" e%d=%.2f%%", c.epoch(), 100 * c.testAccuracy()));
      }
      System.out.println("bundle:      " + manifest.bundleId() + " (" + manifest.architecture() + ", trained "
          + String.format("%.0f s", manifest.training().seconds()) + " on " + manifest.training().dataset() + ")");
      System.out.println("test acc:   " + acc);
      System.out.println("protection:  " + result.summary().describe());
      System.out.println("outputs:     " + protectedDir + " (IDX), " + strip + ", "
          + loaded.directory().resolve("training-curve.png"));
    }
    return 0;
  }

  private static boolean hasBundle(Path root) {
    if (!Files.exists(root)) {
      return false;
    }
    try {
      BundleLoader.verify(BundleLoader.resolve(root));
      return true;
    } catch (BundleException e) {
      System.err.println("existing bundle unusable (" + e.getMessage() + "); training a new one");
      return false;
    }
  }
}
