package io.sepshield.cli;

import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.DataSources;
import io.sepshield.data.ImageResize;
import io.sepshield.data.LabeledImages;
import io.sepshield.eval.AppropriatorInput;
import io.sepshield.eval.CraftingChoices;
import io.sepshield.eval.Defenses;
import io.sepshield.eval.EvaluationReport;
import io.sepshield.eval.EvaluationRecord;
import io.sepshield.eval.EvaluationRunner;
import io.sepshield.jobs.ProtectedOutput;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.ClassPattern;
import io.sepshield.sep.CraftingAugmentation;
import io.sepshield.sep.FeatureLayer;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.TargetMap;
import io.sepshield.train.TrainingConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** The efficacy harness from the command line: train appropriators on protected data, test on clean data. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = "Measure clean test accuracy of models trained from scratch on protected vs clean training data.")
public class EvaluateCommand implements Callable<Integer> {
  /** --defense-reference: the rest of --train. */
  static final String REST = "rest";

  @Option(names = "--bundle", defaultValue = "runs/bundles", split = ",",
      description = "Protecting-model bundle used to craft; a comma list crafts with the checkpoints of all of them "
          + "as one ensemble, in that order (e.g. a cross-architecture self-ensemble; same input shape and "
          + "classes). Default: ${DEFAULT-VALUE}")
  List<Path> bundles;

  @Option(names = "--targets", defaultValue = "half", description = "Target map g(y): half ((y + K/2) mod K, the "
      + "paper's), shift:N ((y + N) mod K) or closest (the derangement pairing classes whose centers lie closest "
      + "in the bundle's feature space; not the paper's) or a table 0>5,1>3,... (every class once, "
      + "never to itself; several may share a target). Default: ${DEFAULT-VALUE}")
  String targets;

  @Option(names = "--crafting-augment", defaultValue = "none", description = CraftingAugmentation.USAGE
      + ". Default: ${DEFAULT-VALUE}")
  String craftingAugment;

  @Option(names = "--feature-layer", defaultValue = "penultimate", description = FeatureLayer.USAGE
      + ". L counts the children before global pooling (resnet8: 4, vgg11s: 13; L = all of them is h(x)). "
      + "Default: ${DEFAULT-VALUE}")
  String featureLayer;

  @Option(names = "--alpha", description = "Crafting step size α in 1/255 levels for every method and ε, instead of "
      + "the profile's (cpu and paper: 1). The cpu profile's T = 10 steps reach no further than 10·α, so a run at "
      + "--eps 16 needs --alpha 2 to be comparable with --eps 8 at α = 1.")
  Float alpha;

  @Option(names = "--class-pattern", defaultValue = "none", description = ClassPattern.USAGE
      + ". Default: ${DEFAULT-VALUE}")
  String classPattern;

  @Option(names = "--checkpoint-indices", split = ",", description = "The ensemble's checkpoints by index into the "
      + "bundle(s), oldest first, instead of the profile's n spread evenly (the budget T(n+M) follows n).")
  int[] checkpointIndices;

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

  @Option(names = "--defense-reference", defaultValue = REST, description = "The clean images from elsewhere that "
      + "defense class-mean averages against: '" + REST + "' (the images of --train outside the training subset) or "
      + "a data spec (not --test: test images never reach training). Read only when a class-mean defense is listed. "
      + "Default: ${DEFAULT-VALUE}")
  String defenseReference;

  @Option(names = "--defense-reference-limit", defaultValue = "0", description = "Class-balanced subset of the "
      + "reference images (0 = all of them). Default: ${DEFAULT-VALUE}")
  int defenseReferenceLimit;

  @Option(names = "--epochs", defaultValue = "8", description = "Appropriator epochs. Default: ${DEFAULT-VALUE}")
  int epochs;

  @Option(names = "--appropriator-batch-size", defaultValue = "128", description = "Images per SGD step of the "
      + "appropriators (SGD, peak learning rate 0.1 whatever the batch). Default: ${DEFAULT-VALUE}")
  int appropriatorBatchSize;

  @Option(names = "--appropriator-schedule", defaultValue = "one-cycle", description = "The appropriators' "
      + "learning-rate schedule: one-cycle (warm-up, cosine to zero; converges in few epochs) or step (the paper's: "
      + "0.1, ÷10 at 62.5%% and 75%% of the epochs). Default: ${DEFAULT-VALUE}")
  String appropriatorSchedule;

  @Option(names = "--repeats", defaultValue = "1", description = "Training runs per setting, each with its own "
      + "appropriator seed; the table shows mean ± standard deviation. Default: ${DEFAULT-VALUE}")
  int repeats;

  @Option(names = "--batch-size", defaultValue = "64", description = "Crafting batch size. Default: "
      + "${DEFAULT-VALUE}")
  int batchSize;

  @Option(names = "--upload-size", defaultValue = "0", description = "Upscale the clean training and test images "
      + "to SIZE x SIZE with --upload-kernel before anything else, as if users had uploaded them at that size: "
      + "crafting runs at SIZE through the bundle's preprocessing (stretch, area). 0 = the data's own size. "
      + "Default: ${DEFAULT-VALUE}")
  int uploadSize;

  @Option(names = "--upload-kernel", defaultValue = "bicubic", description = "Kernel of --upload-size: nearest, "
      + "area, bilinear, bicubic. Default: ${DEFAULT-VALUE}")
  String uploadKernel;

  @Option(names = "--appropriator-inputs", defaultValue = "upload", description = "Comma list of what the "
      + "appropriators train and test at: 'upload' (the uploads as they are) or SIZE:KERNEL (resized with nearest, "
      + "area, bilinear or bicubic, e.g. 28:bicubic). Crafted sets are shared (several runs may use one OUT); "
      + "except in a plain evaluation (no --upload-size, only 'upload') each input writes its report to "
      + "OUT/input-upload or OUT/input-SIZE-KERNEL. Default: ${DEFAULT-VALUE}")
  String appropriatorInputs;

  @Option(names = "--clean-from", description = "results.json of an earlier run: its clean-trained models are "
      + "reused where they match exactly (data, architecture, seed, epochs, defense, appropriator input), so an "
      + "ablation trains only its protected models. Ignored when --methods lists none.")
  Path cleanFrom;

  @Option(names = "--protected-from", description = "results.json of an earlier run: its protected-trained models "
      + "are reused where one trained on the very same protected set (by fingerprint) with the same method, eps, "
      + "defense, appropriator seed and recipe, so that --repeats R after a run with fewer repeats trains only the "
      + "new seeds. Results written before 2026-12-03 never match (they do not name their set).")
  Path protectedFrom;

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
    String trainName = Options.describe(train, trainLimit, trainData);
    String testName = Options.describe(test, testLimit, testData);
    Supplier<LabeledImages> reference = defenseReference(trainData);
    if (uploadSize < 0) {
      throw new IllegalArgumentException("--upload-size must be 0 or positive, got " + uploadSize);
    }
    if (uploadSize > 0) {
      ImageResize.Kernel kernel = ImageResize.Kernel.parse(uploadKernel);
      String how = String.format(" upscaled from %dx%d to %dx%d (%s)", trainData.height(), trainData.width(),
          uploadSize, uploadSize, kernel.cliName());
      trainData = AppropriatorInput.resize(trainData, uploadSize, uploadSize, kernel);
      testData = AppropriatorInput.resize(testData, uploadSize, uploadSize, kernel);
      trainName += how;
      testName += how;
    }
    List<AppropriatorInput> inputs = Arrays.stream(appropriatorInputs.split(",")).map(String::trim)
        .filter(x -> !x.isEmpty()).map(AppropriatorInput::parse).distinct().toList();
    if (inputs.isEmpty()) {
      throw new IllegalArgumentException("--appropriator-inputs names none");
    }
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
    TrainingConfig appropriator = TrainingConfig.shortRun(epochs, runtime.seed)
        .withBatchSize(appropriatorBatchSize).withSchedule(TrainingConfig.Schedule.parse(appropriatorSchedule));
    Files.createDirectories(out);
    List<BundleLoader.LoadedBundle> loaded = new ArrayList<>();
    CheckpointEnsemble ensemble = null;
    String bundleId = "";
    CraftingChoices choices = new CraftingChoices(TargetMap.parse(targets),
        CraftingAugmentation.parse(craftingAugment), checkpointIndices, FeatureLayer.parse(featureLayer),
        alpha == null ? null : alpha / 255f, ClassPattern.parse(classPattern));
    try {
      if (crafts) {
        for (Path b : bundles) {
          loaded.add(BundleLoader.load(b, runtime.resolve()));
        }
        ensemble = loaded.size() == 1 ? loaded.get(0).ensemble()
            : CheckpointEnsemble.union(loaded.stream().map(BundleLoader.LoadedBundle::ensemble).toList());
        bundleId = loaded.stream().map(l -> l.manifest().bundleId()).collect(Collectors.joining("+"));
      }
      // One runner per appropriator input, all on the same output folder: the first crafts, the others reuse the
      // crafted sets kept there (CraftedSets), so each input costs only its training.
      for (AppropriatorInput input : inputs) {
        EvaluationRunner.Spec spec = new EvaluationRunner.Spec(trainData, trainName, testData, ensemble, bundleId,
            methodList, epsList, Profile.parse(profile),
            Arrays.stream(archs.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList(),
            Defenses.parseList(defenses, () -> input.apply(reference.get())), appropriator, runtime.seed, command,
            runtime.resolve(), batchSize, given, out, repeats, input, choices);
        List<EvaluationRecord> records = new EvaluationRunner(System.err, EvaluationRunner.ModelFactory.ZOO)
            .reusingCleanModelsOf(cleanFrom == null ? List.of() : EvaluationReport.readJson(cleanFrom))
            .reusingProtectedRunsOf(protectedFrom == null ? List.of() : EvaluationReport.readJson(protectedFrom))
            .run(spec);
        String preamble = String.format("Training data %s (%d images), test data %s (%d images); uploads %s, "
            + "appropriators train and test at %s; bundle %s; appropriators %s; device %s.", spec.dataset(),
            trainData.size(), testName, testData.size(), spec.uploadSize(), input.describe(spec.uploadSize()),
            spec.bundle().isEmpty() ? "none" : spec.bundle(), appropriator.describe(), spec.device())
            + (choices.layer().isPenultimate() ? "" : " Feature alignment at feature layer " + choices.layer()
                + " (the first " + choices.layer() + " children of the protecting model's feature block, averaged "
                + "over H and W), with class centers at that layer from the clean training images.");
        // A plain evaluation keeps its report in OUT as always; upload-size runs and resized inputs get their own
        // folder, so that runs on the same OUT (sharing crafted sets) do not overwrite each other's reports.
        boolean plain = inputs.size() == 1 && input.equals(AppropriatorInput.AS_UPLOADED) && uploadSize == 0;
        Path dir = plain ? out : Files.createDirectories(out.resolve("input-" + input.folderName()));
        Path report = EvaluationReport.write(records, dir, trainData.classNames(), preamble);
        System.out.println("appropriators at " + input.describe(spec.uploadSize()) + ":");
        System.out.print(EvaluationReport.table(records));
        System.out.println("wrote " + dir.resolve("results.json") + " and " + report);
      }
    } finally {
      for (BundleLoader.LoadedBundle l : loaded) {
        l.close(); // a union owns nothing of its own
      }
    }
    return 0;
  }

  /**
   * The clean reference images of defense class-mean, loaded once when first asked for: from --defense-reference,
   * never the training subset's images nor the test data, upscaled like the uploads.
   */
  private Supplier<LabeledImages> defenseReference(LabeledImages trainSubset) {
    LabeledImages[] loaded = new LabeledImages[1];
    return () -> {
      if (loaded[0] == null) {
        try {
          loaded[0] = loadDefenseReference(trainSubset);
        } catch (IOException e) {
          throw new UncheckedIOException("cannot read --defense-reference " + defenseReference, e);
        }
      }
      return loaded[0];
    };
  }

  private LabeledImages loadDefenseReference(LabeledImages trainSubset) throws IOException {
    String spec = defenseReference.equals(REST) ? train : defenseReference;
    if (spec.equals(test)) {
      throw new IllegalArgumentException("--defense-reference must not be the test data (" + test + ")");
    }
    LabeledImages images = DataSources.load(spec);
    if (spec.equals(train)) {
      images = DataSources.excluding(images, trainSubset);
      if (images.size() == 0) {
        throw new IllegalArgumentException("--train-limit takes every image of " + train + ", so no image is left "
            + "for the class-mean reference; give --defense-reference SPEC");
      }
    }
    if (defenseReferenceLimit > 0) {
      images = DataSources.balancedSubset(images, defenseReferenceLimit, runtime.seed);
    }
    if (uploadSize > 0) {
      images = AppropriatorInput.resize(images, uploadSize, uploadSize, ImageResize.Kernel.parse(uploadKernel));
    }
    System.err.printf("class-mean reference: %d clean images of %s%s%n", images.size(), spec,
        spec.equals(train) ? " outside the training subset" : "");
    return images;
  }
}
