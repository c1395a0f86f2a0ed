package io.sepshield.cli;

import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.stream.ProtectionTopology;
import io.sepshield.train.CheckpointSchedule;
import io.sepshield.train.TrainingConfig;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import io.sepshield.lifecycle.BundleUpdate;
import io.sepshield.lifecycle.BundleUpdates;
import io.sepshield.service.StreamConfig;
import jakarta.inject.Inject;
import java.util.HashMap;
import java.util.Map;

/** The retraining job from the command line. */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Train the protecting model and write a checkpoint bundle (n equidistant checkpoints + centers).")
public class TrainCommand implements Callable<Integer> {
  /** For --publish-to: the same Kafka security and registry settings (auth, TLS) as {@code serve}. */
  @Inject
  StreamConfig config;

  @Option(names = "--data", defaultValue = "fashion-mnist:train", description = "Training data spec. Default: "
      + "${DEFAULT-VALUE}. Also folder:DIR, idx:IMAGES,LABELS, synthetic:...")
  String data;

  @Option(names = "--test", defaultValue = "fashion-mnist:test",
      description = "Held-out data for per-epoch accuracy, or 'none'. Default: ${DEFAULT-VALUE}")
  String test;

  @Option(names = "--limit", defaultValue = "0", description = "Use a class-balanced subset of this many training "
      + "images (0 = all).")
  int limit;

  @Option(names = "--test-limit", defaultValue = "0", description = "Subset of the test data (0 = all).")
  int testLimit;

  @Option(names = "--arch", defaultValue = "resnet8", description = "Architecture. Default: ${DEFAULT-VALUE}")
  String architecture;

  // 10 epochs and 5 checkpoints: one every 2 epochs, and n = 5 is what the default crafting profile (cpu) uses, so
  // it crafts with all of them, equally spaced.
  @Option(names = "--epochs", defaultValue = "10", description = "N, training epochs (a multiple of --checkpoints "
      + "keeps the checkpoints equally spaced). Default: ${DEFAULT-VALUE}")
  int epochs;

  @Option(names = "--checkpoints", defaultValue = "5", description = "n, equidistant checkpoints kept; crafting "
      + "profiles pick theirs evenly only from a multiple of their n (cpu 5, fast 3, paper 15). "
      + "Default: ${DEFAULT-VALUE}")
  int checkpoints;

  @Option(names = "--batch-size", defaultValue = "128")
  int batchSize;

  @Option(names = "--lr", defaultValue = "0.1", description = "Peak learning rate. Default: ${DEFAULT-VALUE}")
  float learningRate;

  @Option(names = "--schedule", defaultValue = "one-cycle", description = "one-cycle or step (÷10 at 62.5%% and "
      + "75%%, the paper's). Default: ${DEFAULT-VALUE}")
  String schedule;

  @Option(names = "--crop-padding", defaultValue = "2", description = "Random-crop padding in pixels (0 = off).")
  int cropPadding;

  @Option(names = "--no-flip", description = "Disable random horizontal flips.")
  boolean noFlip;

  @Option(names = "--paper", description = "The paper's recipe: 120 epochs, 15 checkpoints, step schedule, "
      + "crop padding 4 (GPU advised).")
  boolean paper;

  @Option(names = "--out", defaultValue = "runs/bundles", description = "Bundle root; the bundle goes to "
      + "OUT/<bundle-id> and OUT/LATEST names it. Default: ${DEFAULT-VALUE}")
  Path out;

  @Option(names = "--publish-to", paramLabel = "BOOTSTRAP", description = "After writing the bundle, publish a "
      + "BundleUpdated event to this Kafka cluster: running services swap to the bundle (its directory must be "
      + "readable by them at the same absolute path).")
  String publishTo;

  @Option(names = "--schema-registry-url", paramLabel = "URL",
      description = "Schema registry for the event (required with --publish-to).")
  String schemaRegistryUrl;

  @Option(names = "--bundle-updates-topic", defaultValue = ProtectionTopology.BUNDLE_UPDATES_TOPIC,
      description = "Topic of the event. Default: ${DEFAULT-VALUE}")
  String bundleUpdatesTopic;

  @Mixin
  Options.Runtime runtime;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (publishTo != null && schemaRegistryUrl == null) {
      // Checked before training: finding out after an hour of training would waste it.
      throw new ParameterException(spec.commandLine(), "--publish-to needs --schema-registry-url");
    }
    RetrainingJob.Result result = run();
    if (publishTo != null) {
      BundleUpdate update = BundleUpdate.of(result.bundleDir());
      Map<String, Object> registryConfig = new HashMap<>(config.schemaRegistryConfig());
      registryConfig.put("schema.registry.url", schemaRegistryUrl);
      BundleUpdates.publish(publishTo, config.kafka(), SchemaRegistryClient.fromConfig(registryConfig),
          bundleUpdatesTopic, update);
      System.out.printf("published bundle %s (%s, manifest sha256 %s) to %s%n", update.bundleId(),
          update.directory().toUri(), update.sha256(), bundleUpdatesTopic);
    }
    return 0;
  }

  RetrainingJob.Result run() throws Exception {
    LabeledImages train = Options.load(data, limit, runtime.seed);
    LabeledImages held = test.equalsIgnoreCase("none") ? null : Options.load(test, testLimit, runtime.seed);
    TrainingConfig config = paper ? TrainingConfig.paper(120, runtime.seed)
        : new TrainingConfig(epochs, batchSize, learningRate, 0.9f, 5e-4f, TrainingConfig.Schedule.parse(schedule),
            cropPadding, !noFlip, runtime.seed);
    int n = paper ? 15 : checkpoints;
    CheckpointSchedule.unevenEpochs(config.epochs(), n).ifPresent(System.err::println);
    RetrainingJob.Spec spec = new RetrainingJob.Spec(train, Options.describe(data, limit, train), held,
        held == null ? null : Options.describe(test, testLimit, held), architecture, config, n, out,
        runtime.resolve());
    return new RetrainingJob(System.err).run(spec);
  }
}
