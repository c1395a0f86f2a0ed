package io.sepshield.cli;

import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.LabeledImages;
import io.sepshield.eval.Defenses;
import io.sepshield.eval.EvaluationReport;
import io.sepshield.eval.EvaluationRecord;
import io.sepshield.eval.EvaluationRunner;
import io.sepshield.jobs.ProtectedOutput;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.train.TrainingConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The efficacy harness from the command line: train appropriators on protected data, test on clean data. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = "Measure clean test accuracy of models trained from scratch on protected vs clean training data.")
public class EvaluateCommand implements Callable<Integer> {
  @Option(names = "--bundle", defaultValue = "runs/bundles",
      description = "Protecting-model bundle used to craft. Default: ${DEFAULT-VALUE}")
  Path bundle;

  @Option(names = "--train", defaultValue = "fashion-mnist:train", description = "Clean training data spec. "
      + "Default: ${DEFAULT-VALUE}")
  String train;

  @Option(names = "--train-limit", defaultValue = "2000", description = "Class-balanced subset of the training data "
      + "(0 = all). Default: ${DEFAULT-VALUE}")
  int trainLimit;

  @Option(names = "--test", defaultValue = "fashion-mnist:test", description = "Clean test data spec. Default: "
      + "${DEFAULT-VALUE}")
  String test;

  @Option(names = "--test-limit", defaultValue = "0", description = "Subset of the test data (0 = all).")
  int testLimit;

  @Option(names = "--protected", description = "An already protected version of the training subset (IDX "
      + "directory written by 'protect --format idx' with the same --train/--train-limit/--seed), evaluated as "
      + "method 'given'.")
  Path protectedDir;

  @Option(names = "--methods", defaultValue = "none,noise,baseline,sep,sep-fa,sep-fa-vr",
      description = "Comma list of none, noise, baseline, sep, sep-fa, sep-fa-vr. Default: ${DEFAULT-VALUE}")
  String methods;

  @Option(names = "--eps", defaultValue = "8", description = "Comma list of L-inf radii in 1/255. Default: "
      + "${DEFAULT-VALUE}")
  String eps;

  @Option(names = "--profile", defaultValue = "cpu", description = "Crafting budget: paper, cpu or fast; every "
      + "method gets SEP-FA-VR's T(n+M) gradient evaluations per image. Default: ${DEFAULT-VALUE}")
  String profile;

  @Option(names = "--archs", defaultValue = "resnet8,vgg11s,densenet-s", description = "Appropriator "
      + "architectures. Default: ${DEFAULT-VALUE}")
  String archs;

  @Option(names = "--defenses", defaultValue = "none", description = "Comma list: " + Defenses.USAGE
      + ". Default: ${DEFAULT-VALUE}")
  String defenses;

  @Option(names = "--epochs", defaultValue = "8", description = "Appropriator epochs. Default: ${DEFAULT-VALUE}")
  int epochs;

  @Option(names = "--repeats", defaultValue = "1", description = "Training runs per setting, each with its own "
      + "appropriator seed; the table shows mean ± standard deviation. Default: ${DEFAULT-VALUE}")
  int repeats;

  @Option(names = "--batch-size", defaultValue = "64", description = "Crafting batch size. Default: "
      + "${DEFAULT-VALUE}")
  int batchSize;

  @Option(names = "--out", defaultValue = "runs/eval", description = "Output directory. Default: ${DEFAULT-VALUE}")
  Path out;

  @Mixin
  Options.Runtime runtime;

  @Spec
  CommandSpec commandSpec;

  @Override
  public Integer call() throws Exception {
    // originalArgs() holds the whole command line, subcommand name included.
    String command = "sep-shield " + String.join(" ", commandSpec.commandLine().getParseResult()
        .originalArgs());
    LabeledImages trainData = Options.load(train, trainLimit, runtime.seed);
    LabeledImages testData = Options.load(test, testLimit, runtime.seed);
    List<String> methodList = new ArrayList<>();
    for (String m : methods.split(",")) {
      String name = m.trim().toLowerCase();
      if (!name.isEmpty()) {
        methodList.add(name.equals(EvaluationRunner.NONE) ? name : Method.parse(name).cliName());
      }
    }
    List<Float> epsList = Arrays.stream(eps.split(",")).map(String::trim).filter(s -> !s.isEmpty())
        .map(Float::parseFloat).toList();
    LabeledImages given = null;
    if (protectedDir != null) {
      given = ProtectedOutput.readIdx(protectedDir, "protected");
    }
    boolean crafts = methodList.stream().anyMatch(m -> !m.equals(EvaluationRunner.NONE));
    TrainingConfig appropriator = TrainingConfig.shortRun(epochs, runtime.seed);
    Files.createDirectories(out);
    BundleLoader.LoadedBundle loaded = crafts ? BundleLoader.load(bundle, runtime.resolve()) : null;
    try {
      EvaluationRunner.Spec spec = new EvaluationRunner.Spec(trainData, Options.describe(train, trainLimit,
          trainData), testData, loaded == null ? null : loaded.ensemble(),
          loaded == null ? "" : loaded.manifest().bundleId(), methodList, epsList, Profile.parse(profile),
          Arrays.stream(archs.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList(),
          Defenses.parseList(defenses), appropriator, runtime.seed, command, runtime.resolve(), batchSize, given,
          out, repeats);
      List<EvaluationRecord> records = new EvaluationRunner(System.err, EvaluationRunner.ModelFactory.ZOO).run(spec);
      String preamble = String.format("Training data %s (%d images), test data %s (%d images); bundle %s; "
          + "appropriator %s; device %s.", spec.dataset(), trainData.size(), Options.describe(test, testLimit,
          testData), testData.size(), spec.bundle().isEmpty() ? "none" : spec.bundle(), appropriator,
          spec.device());
      Path report = EvaluationReport.write(records, out, trainData.classNames(), preamble);
      System.out.print(EvaluationReport.table(records));
      System.out.println("wrote " + out.resolve("results.json") + " and " + report);
    } finally {
      if (loaded != null) {
        loaded.close();
      }
    }
    return 0;
  }
}
