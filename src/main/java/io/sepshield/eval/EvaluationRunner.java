package io.sepshield.eval;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.DatasetProtection;
import io.sepshield.model.Architectures;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.report.Progress;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.Protector;
import io.sepshield.train.ChannelStats;
import io.sepshield.train.CheckpointSchedule;
import io.sepshield.train.ClassifierMetrics;
import io.sepshield.train.ClassifierTrainer;
import io.sepshield.train.EpochStats;
import io.sepshield.train.TrainingConfig;
import io.sepshield.train.TrainingListener;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * The efficacy harness: crafts protected training sets (or takes a given one), trains appropriator models from
 * scratch on them, under each defense, and on the clean set, and measures clean test accuracy. The test images
 * never reach crafting or training; the appropriator's seed is derived from the run seed, not the bundle's.
 */
public final class EvaluationRunner {
  /** The method name for "no protection": the clean images themselves. */
  public static final String NONE = "none";
  /** The method name for a protected set read from disk. */
  public static final String GIVEN = "given";

  /** Creates an untrained appropriator; its normalisation comes from the data it will be trained on. */
  @FunctionalInterface
  public interface ModelFactory {
    FeatureClassifier create(String arch, LabeledImages trainingData);

    ModelFactory ZOO = (arch, data) -> {
      ChannelStats stats = ChannelStats.of(data);
      return Architectures.create(arch, data.channels(), data.numClasses(), stats.mean(), stats.std());
    };
  }

  /**
   * What to measure.
   *
   * @param ensemble the protecting model's checkpoints; null when only {@code given} and "none" are evaluated
   * @param methods "none" or {@link Method} names
   * @param eps255 radii in 1/255 levels
   * @param given an already protected version of {@code train} (same images, order and labels), or null
   * @param outDir where before/after strips and crafted sets go, and where earlier crafted sets are reused from
   *     (null: nothing is written or reused)
   * @param repeats training runs per setting, each with its own appropriator seed (error bars)
   * @param input the resolution and kernel the appropriators train and test at; crafting always runs on
   *     {@code train} as it is (the uploads), so their size is the record's {@code upload_size}
   * @param crafting what the run changes in the profile's crafting settings (ablations)
   */
  public record Spec(LabeledImages train, String dataset, LabeledImages test, CheckpointEnsemble ensemble,
      String bundle, List<String> methods, List<Float> eps255, Profile profile, List<String> archs,
      List<Defense> defenses, TrainingConfig appropriator, long seed, String command, Device device,
      int craftBatchSize, LabeledImages given, Path outDir, int repeats, AppropriatorInput input,
      CraftingChoices crafting) {
    public Spec {
      if (repeats < 1) {
        throw new IllegalArgumentException("repeats must be at least 1, got " + repeats);
      }
      input = input == null ? AppropriatorInput.AS_UPLOADED : input;
      crafting = crafting == null ? CraftingChoices.PROFILE : crafting;
    }

    /** Crafting as the profile has it. */
    public Spec(LabeledImages train, String dataset, LabeledImages test, CheckpointEnsemble ensemble,
        String bundle, List<String> methods, List<Float> eps255, Profile profile, List<String> archs,
        List<Defense> defenses, TrainingConfig appropriator, long seed, String command, Device device,
        int craftBatchSize, LabeledImages given, Path outDir, int repeats, AppropriatorInput input) {
      this(train, dataset, test, ensemble, bundle, methods, eps255, profile, archs, defenses, appropriator, seed,
          command, device, craftBatchSize, given, outDir, repeats, input, CraftingChoices.PROFILE);
    }

    /** Appropriators that train on the uploads as they are. */
    public Spec(LabeledImages train, String dataset, LabeledImages test, CheckpointEnsemble ensemble,
        String bundle, List<String> methods, List<Float> eps255, Profile profile, List<String> archs,
        List<Defense> defenses, TrainingConfig appropriator, long seed, String command, Device device,
        int craftBatchSize, LabeledImages given, Path outDir, int repeats) {
      this(train, dataset, test, ensemble, bundle, methods, eps255, profile, archs, defenses, appropriator, seed,
          command, device, craftBatchSize, given, outDir, repeats, AppropriatorInput.AS_UPLOADED,
          CraftingChoices.PROFILE);
    }

    /** H x W of the uploads, the images crafting runs on. */
    public String uploadSize() {
      return train.height() + "x" + train.width();
    }
  }

  /** One trained appropriator: accuracy after each epoch, confusion matrix of the final model. */
  public record TrainedModel(List<Double> curve, int[][] confusion, double seconds) {
    public double finalAccuracy() {
      return curve.get(curve.size() - 1);
    }
  }

  /** A protected training set and what it cost; {@code featureLayer} is empty where nothing was crafted. */
  record Crafted(LabeledImages images, String settings, long gradientEvaluations, double seconds,
      double imagesPerSecond, double eps255, String featureLayer, List<Integer> checkpointEpochs,
      List<Integer> targetClasses) {}

  /**
   * Per class, the mean |δ| (1/255 levels) of {@code crafted} against {@code clean} over the pixels that are 0 in the
   * clean image; null for a class with no such pixel. Where the background clips a class's perturbation most, that
   * class is where a clean test image lands in the ablations so far, whatever it shows.
   */
  static List<Double> backgroundDelta(LabeledImages clean, LabeledImages crafted) {
    byte[] a = clean.rawPixels();
    byte[] b = crafted.rawPixels();
    int pixels = a.length / clean.size();
    int[] labels = clean.labels();
    double[] sum = new double[clean.numClasses()];
    long[] count = new long[clean.numClasses()];
    for (int i = 0; i < clean.size(); i++) {
      if (labels[i] < 0) {
        continue; // an unknown label has no class to count it for
      }
      for (int j = i * pixels; j < (i + 1) * pixels; j++) {
        if (a[j] == 0) {
          sum[labels[i]] += b[j] & 0xff;
          count[labels[i]]++;
        }
      }
    }
    List<Double> delta = new ArrayList<>();
    for (int k = 0; k < sum.length; k++) {
      delta.add(count[k] == 0 ? null : sum[k] / count[k]);
    }
    return delta;
  }

  private void logBackground(String method, double eps255, List<Double> delta, List<String> classNames) {
    List<Integer> ranked = IntStream.range(0, delta.size()).filter(k -> delta.get(k) != null).boxed()
        .sorted(java.util.Comparator.comparingDouble(delta::get)).toList();
    log.printf("%s ε=%s/255: mean |δ| on the background (clean pixel 0) per class, least first: %s%n", method,
        fmt(eps255), ranked.stream().map(k -> String.format(Locale.ROOT, "%s %.2f", classNames.get(k), delta.get(k)))
            .collect(Collectors.joining(", ")));
  }

  private final PrintStream log;
  private final ModelFactory factory;
  private List<EvaluationRecord> earlierClean = List.of();
  private List<EvaluationRecord> earlierProtected = List.of();

  public EvaluationRunner(PrintStream log, ModelFactory factory) {
    this.log = log;
    this.factory = factory;
  }

  /**
   * Takes clean-trained models from the records of an earlier run instead of training them again, where one matches
   * exactly (dataset, sizes, architecture, appropriator seed, epochs and batch size, defense, appropriator input;
   * records that do not name their batch size never match): an ablation
   * that only changes crafting then trains only its protected models. Only the clean model's accuracy curve is
   * known from a record, so a run that lists method "none" still trains it (its row needs the confusion matrix).
   */
  public EvaluationRunner reusingCleanModelsOf(List<EvaluationRecord> records) {
    this.earlierClean = List.copyOf(records);
    return this;
  }

  private Optional<TrainedModel> earlierCleanModel(Spec spec, Views views, String arch, Defense defense, long seed) {
    if (spec.methods().contains(NONE)) {
      return Optional.empty();
    }
    return earlierClean.stream().filter(r -> sameCleanRecipe(r, spec, views, arch, defense) && r.seed() == seed)
        .findFirst().map(r -> new TrainedModel(r.cleanCurve(), null, r.trainSeconds()));
  }

  /**
   * The trap this names: the seed follows the architecture's position in --archs, so "--archs vgg11s" cannot reuse
   * the vgg11s of an earlier "--archs resnet8,vgg11s" run.
   */
  private void noteCleanModelsWithOtherSeeds(Spec spec, Views views, String arch, Defense defense, long seed) {
    if (spec.methods().contains(NONE)) {
      return;
    }
    List<String> otherSeeds = earlierClean.stream().filter(r -> sameCleanRecipe(r, spec, views, arch, defense))
        .map(r -> Long.toString(r.seed())).distinct().toList();
    if (!otherSeeds.isEmpty() && !otherSeeds.contains(Long.toString(seed))) {
      log.printf("note: --clean-from has %s trained the same way but with appropriator seed %s, not %d (the seed "
          + "follows the architecture's position in --archs and the run's --seed); training a new one%n", arch,
          String.join(", ", otherSeeds), seed);
    }
  }

  /**
   * Takes protected-trained models from the records of an earlier run instead of training them again, where one
   * trained on the very same protected set (its fingerprint: only identical images match, not a set crafted again
   * where the floating point came out otherwise), with the same method, ε, defense, appropriator seed and recipe as
   * for {@link #reusingCleanModelsOf}: adding runs to a setting ({@code --repeats}) then trains only the new seeds.
   * Records written before the fingerprint was recorded never match.
   */
  public EvaluationRunner reusingProtectedRunsOf(List<EvaluationRecord> records) {
    this.earlierProtected = List.copyOf(records);
    return this;
  }

  private Optional<TrainedModel> earlierProtectedModel(Spec spec, Views views, String arch, Defense defense,
      long seed, String method, double eps255, String fingerprint) {
    return earlierProtected.stream()
        .filter(r -> r.protectedSha256() != null && r.protectedSha256().equals(fingerprint)
            && r.method().equals(method) && r.eps() == eps255 && r.defense().equals(defense.label())
            && r.seed() == seed && r.protectedCurve() != null && r.confusion() != null
            && sameCleanRecipe(r, spec, views, arch, defense))
        .findFirst().map(r -> new TrainedModel(r.protectedCurve(), r.confusion(), r.trainSeconds()));
  }

  /** An earlier clean-trained record of this architecture on the same data, recipe, defense and input, any seed. */
  private static boolean sameCleanRecipe(EvaluationRecord r, Spec spec, Views views, String arch, Defense defense) {
    String input = spec.input().describe(spec.uploadSize());
    return r.dataset().equals(spec.dataset()) && r.trainImages() == spec.train().size()
        && r.testImages() == views.test().size() && r.arch().equals(arch)
        && r.epochs() == spec.appropriator().epochs() && r.cleanCurve() != null
        && r.batchSize() == spec.appropriator().batchSize()
        && r.schedule().equals(spec.appropriator().schedule().cliName())
        && defense.label().equals(r.cleanModelDefense()) && spec.uploadSize().equals(r.craftedSize())
        && input.equals(r.appropriatorView());
  }

  public List<EvaluationRecord> run(Spec spec) {
    checkDisjointShapes(spec);
    // The appropriator's view of the uploads: crafting sees spec.train(), training and testing see these.
    Views views = new Views(spec);
    if (spec.input().size() > 0) {
      log.printf("appropriators train and test at %s%n", spec.input().describe(spec.uploadSize()));
    }
    List<EvaluationRecord> records = new ArrayList<>();
    // Protected sets first: a bad given set or a crafting problem shows before any training time is spent.
    warnOnUnevenCheckpoints(spec);
    spec.crafting().checkMethods(spec.methods().stream().filter(m -> !m.equals(NONE)).map(Method::parse).toList());
    List<Crafted> sets = new ArrayList<>();
    List<String> methodNames = new ArrayList<>();
    if (spec.given() != null) {
      sets.add(given(spec));
      methodNames.add(GIVEN);
    }
    for (String m : spec.methods()) {
      if (m.equals(NONE)) {
        sets.add(new Crafted(spec.train(), "", 0, 0, 0, 0, "", null, null));
        methodNames.add(NONE);
        continue;
      }
      for (float eps : spec.eps255()) {
        sets.add(craft(spec, Method.parse(m), eps));
        methodNames.add(Method.parse(m).cliName());
      }
    }
    // What the background keeps of each class's perturbation, per set: logged now, recorded with every row.
    // And its fingerprint, which names the set in the records (protected runs are reused by it).
    List<List<Double>> backgrounds = new ArrayList<>();
    List<String> fingerprints = new ArrayList<>();
    for (int s = 0; s < sets.size(); s++) {
      boolean crafted = !methodNames.get(s).equals(NONE);
      backgrounds.add(crafted ? backgroundDelta(spec.train(), sets.get(s).images()) : null);
      fingerprints.add(crafted ? CraftedSets.fingerprint(sets.get(s).images()) : null);
      if (crafted) {
        logBackground(methodNames.get(s), sets.get(s).eps255(), backgrounds.get(s), spec.train().classNames());
      }
    }
    // Clean-trained models per defense: a defended row compares with the clean set trained under the same defense,
    // so its drop measures the protection, not what the defense itself costs on clean images. The undefended ones
    // come first, as they always did, where a row needs them; the defended ones when first needed.
    int total = countTrainings(spec, views, methodNames, sets, fingerprints);
    int[] done = {0};
    CleanModels clean = new CleanModels(spec, views, total, done);
    if (cleanDefenses(spec).contains(Defenses.NONE.label())) {
      for (int r = 0; r < spec.repeats(); r++) {
        for (int a = 0; a < spec.archs().size(); a++) {
          clean.get(Defenses.NONE, a, r);
        }
      }
    }
    for (int s = 0; s < sets.size(); s++) {
      Crafted set = sets.get(s);
      String method = methodNames.get(s);
      for (Defense defense : spec.defenses()) {
        // Defended when first trained on: a set whose runs all come from an earlier run needs no defense.
        LabeledImages[] defended = {null};
        for (int a = 0; a < spec.archs().size(); a++) {
          String arch = spec.archs().get(a);
          for (int r = 0; r < spec.repeats(); r++) {
            long seed = appropriatorSeed(spec.seed(), a, r);
            TrainedModel cleanModel = clean.get(defense, a, r);
            TrainedModel model;
            if (method.equals(NONE)) {
              model = cleanModel; // the same images, defense, architecture and seed: the clean-trained run itself
            } else {
              Optional<TrainedModel> earlier = earlierProtectedModel(spec, views, arch, defense, seed, method,
                  set.eps255(), fingerprints.get(s));
              String what = String.format(Locale.ROOT, "%s on %s eps=%s/255 with defense %s%s", arch, method,
                  fmt(set.eps255()), defense.label(), runLabel(spec, r));
              if (earlier.isPresent()) {
                log.printf("%s: taken from an earlier run (the same set, recipe and seed)%n", what);
                model = earlier.get();
              } else {
                log.printf("[%d/%d] %s%n", ++done[0], total, what);
                if (defended[0] == null) {
                  defended[0] = defend(defense, views.train(set.images()), method);
                }
                model = train(spec, views, arch, defended[0], defense, seed);
              }
            }
            EvaluationRecord rec = new EvaluationRecord(spec.dataset(), spec.train().size(), views.test().size(),
                method, method.equals(NONE) || method.equals(GIVEN) ? "" : spec.profile().cliName(), set.eps255(),
                arch, defense.label(), cleanModel.finalAccuracy(), model.finalAccuracy(), seed, r, spec.command(),
                spec.appropriator().epochs(), spec.bundle(), set.settings(), set.gradientEvaluations(),
                set.seconds(), set.imagesPerSecond(), model.seconds(), cleanModel.curve(), model.curve(),
                model.confusion(), defense.label(), 0, 0, spec.uploadSize(), spec.input().describe(spec.uploadSize()),
                spec.appropriator().batchSize(), set.featureLayer(), spec.appropriator().schedule().cliName(),
                set.checkpointEpochs(), set.targetClasses(), null, backgrounds.get(s),
                fingerprints.get(s));
            records.add(rec);
            log.printf("    clean-trained %.2f%%  protected-trained %.2f%%  (best epoch %.2f%% / %.2f%%)%s%n",
                100 * rec.cleanTrainedAcc(), 100 * rec.protectedAcc(), 100 * rec.cleanBestAcc(),
                100 * rec.bestAcc(), rec.redirected() == null ? ""
                    : String.format(Locale.ROOT, "  redirected %.2f%%", 100 * rec.redirected()));
          }
        }
      }
    }
    return records;
  }

  /**
   * Settings at equal crafting compute: SEP-FA-VR's T·(n+M) gradient evaluations per image is the budget;
   * the baseline (one model) gets T·(n+M) steps, SEP and SEP-FA (n models per step) T·(n+M)/n steps, noise none.
   */
  public static ProtectionSettings equalCompute(Profile profile, Method method, float eps255, int available,
      long seed) {
    return equalCompute(profile, CraftingChoices.PROFILE, method, eps255, available, seed);
  }

  /** {@link #equalCompute} with the run's changes to the profile applied first (the budget follows them). */
  public static ProtectionSettings equalCompute(Profile profile, CraftingChoices choices, Method method,
      float eps255, int available, long seed) {
    ProtectionSettings vr = choices.applyTo(profile.settings(Method.SEP_FA_VR, eps255 / 255f, available, seed));
    int n = vr.checkpoints().length;
    long budget = vr.gradientEvaluationsPerImage(n);
    return switch (method) {
      case SEP_FA_VR, UNIFORM_NOISE -> vr.withMethod(method);
      case BASELINE -> vr.withMethod(method).withSteps((int) budget);
      case SEP, SEP_FA -> vr.withMethod(method).withSteps((int) Math.max(1, Math.round((double) budget / n)));
    };
  }

  /**
   * The appropriator's seed for the a-th architecture in its r-th training run: derived from the run seed, never
   * the bundle's. Run 0 has the seed single-run evaluations always had.
   */
  public static long appropriatorSeed(long runSeed, int archIndex, int repeat) {
    return 1_000_003L * (runSeed + 1) + 7919L * archIndex + 104_729L * repeat;
  }

  /** Nothing for single-run evaluations, so their log reads as it always did. */
  private static String runLabel(Spec spec, int repeat) {
    return spec.repeats() == 1 ? "" : " (run " + (repeat + 1) + "/" + spec.repeats() + ")";
  }

  private Crafted craft(Spec spec, Method method, float eps255) {
    if (spec.ensemble() == null) {
      throw new IllegalArgumentException("method " + method + " needs a bundle to craft with");
    }
    // The protector checks the feature layer against the checkpoints and names L = h(x) penultimate.
    Protector protector = new Protector(spec.ensemble(), equalCompute(spec.profile(), spec.crafting(), method,
        eps255, spec.ensemble().size(), spec.seed()));
    ProtectionSettings settings = protector.settings();
    String layer = settings.featureLayer().toString();
    long gradientEvaluations = settings.gradientEvaluationsPerImage(settings.checkpoints().length);
    List<Integer> epochs = Arrays.stream(settings.checkpoints()).mapToObj(i -> spec.ensemble().get(i).epoch())
        .toList();
    // Noise is not pushed toward any class, so it has no redirection to measure.
    int classes = spec.train().numClasses();
    List<Integer> targets = method == Method.UNIFORM_NOISE ? null
        : IntStream.range(0, classes).mapToObj(y -> protector.targetMap().target(y, classes)).toList();
    Path dir = spec.outDir() == null ? null : spec.outDir().resolve(craftedSetName(method.cliName(), eps255));
    CraftedSets.Inputs inputs = new CraftedSets.Inputs(spec.bundle(), method.cliName(), settings.toString(),
        spec.dataset(), spec.train().size(), CraftedSets.fingerprint(spec.train()), spec.seed(),
        spec.craftBatchSize());
    Optional<CraftedSets.Reused> reused = dir == null ? Optional.empty()
        : CraftedSets.find(dir, inputs, spec.train(), log);
    if (reused.isPresent()) {
      CraftedSets.Sidecar was = reused.get().sidecar();
      log.printf("reusing %s from an earlier run with the same inputs (%s; crafted in %.1f s, %.2f images/s)%n", dir,
          settings, was.craftingSeconds(), was.imagesPerSecond());
      writeStrip(spec, reused.get().images(), method.cliName(), eps255, settings.toString());
      return new Crafted(reused.get().images(), settings.toString(), gradientEvaluations, was.craftingSeconds(),
          was.imagesPerSecond(), eps255, layer, epochs, targets);
    }
    log.printf("crafting %s (%d gradient evaluations per image)%n", settings, gradientEvaluations);
    protector.craftingNotes().forEach(log::println);
    if (!settings.featureLayer().isPenultimate()) {
      // The data owner's centers: class means at that layer over the clean images being protected.
      log.printf("class centers at feature layer %s from the %d clean training images%n", layer, spec.train().size());
      protector.withLayerCentersOf(spec.train(), spec.craftBatchSize());
    }
    DatasetProtection.Result result = new DatasetProtection(log).run(protector, spec.train(), spec.craftBatchSize());
    log.println(result.summary().describe());
    // Crafting may replace unknown labels by pseudo-labels; the appropriator trains on the true labels.
    LabeledImages images = spec.train().withPixels(result.protectedImages().rawPixels());
    writeStrip(spec, images, method.cliName(), eps255, settings.toString());
    if (dir != null) {
      // Keep the set, for 'evaluate --protected DIR' and for reuse by a later run with the same inputs.
      try {
        CraftedSets.save(dir, images, inputs, gradientEvaluations, result.summary().seconds(),
            result.summary().imagesPerSecond(), spec.command());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return new Crafted(images, settings.toString(), gradientEvaluations, result.summary().seconds(),
        result.summary().imagesPerSecond(), eps255, layer, epochs, targets);
  }

  private void warnOnUnevenCheckpoints(Spec spec) {
    if (spec.ensemble() == null || spec.methods().stream().allMatch(m -> m.equals(NONE))) {
      return;
    }
    int available = spec.ensemble().size();
    if (spec.crafting().checkpoints() != null) {
      return; // chosen by hand
    }
    int[] selected = spec.profile().settings(Method.SEP_FA_VR, 1f, available, 0).checkpoints();
    CheckpointSchedule.unevenSelection(spec.profile().checkpointCount(), available, selected)
        .ifPresent(w -> log.println(w + " (profile " + spec.profile().cliName() + ")"));
  }

  /** Where a crafted set is kept in the output folder. */
  static String craftedSetName(String method, double eps255) {
    return "protected-" + method + "-eps" + fmt(eps255);
  }

  private Crafted given(Spec spec) {
    LabeledImages g = spec.given();
    if (g.size() != spec.train().size() || !Arrays.equals(g.labels(), spec.train().labels())) {
      throw new IllegalArgumentException("the protected set (" + g.size() + " images) is not the clean training set "
          + "(" + spec.train().size() + " images) in the same order with the same labels; use the same --train, "
          + "--train-limit and --seed as the protect run");
    }
    int max = 0;
    byte[] a = spec.train().rawPixels();
    byte[] b = g.rawPixels();
    for (int i = 0; i < a.length; i++) {
      max = Math.max(max, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
    }
    log.printf("given protected set: max |δ| = %d/255%n", max);
    writeStrip(spec, g, GIVEN, max, "given protected set");
    return new Crafted(g, "given", 0, 0, 0, max, "", null, null);
  }

  private void writeStrip(Spec spec, LabeledImages protectedImages, String method, float eps255, String settings) {
    if (spec.outDir() == null) {
      return;
    }
    try {
      DatasetProtection.writeBeforeAfter(spec.train(), protectedImages, eps255, 10,
          spec.outDir().resolve(stripName(method, eps255)), spec.command() + " | " + settings + " | seed "
              + spec.seed());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String stripName(String method, double eps255) {
    return "before-after-" + method + "-eps" + fmt(eps255) + ".png";
  }

  /** The appropriator's view of training and test images, the test set resized once. */
  private static final class Views {
    private final AppropriatorInput input;
    private final LabeledImages test;

    Views(Spec spec) {
      this.input = spec.input();
      this.test = input.apply(spec.test());
    }

    LabeledImages train(LabeledImages uploads) {
      return input.apply(uploads);
    }

    LabeledImages test() {
      return test;
    }
  }

  private TrainedModel train(Spec spec, Views views, String arch, LabeledImages data, Defense defense, long seed) {
    LabeledImages test = views.test();
    // Every appropriator starts from its own seed (ClassifierTrainer seeds the engine with it).
    FeatureClassifier model = factory.create(arch, data);
    TrainingConfig config = spec.appropriator().withSeed(seed);
    List<Double> curve = new ArrayList<>();
    int[][][] confusion = new int[1][][];
    long start = System.nanoTime();
    int batches = (data.size() + config.batchSize() - 1) / config.batchSize();
    try (NDManager manager = DjlRuntime.engine().newBaseManager(spec.device());
        Progress progress = new Progress("  " + arch, (long) batches * config.epochs(), log).unit("batches")) {
      new ClassifierTrainer(config, spec.device(), defense.batchTransform(), defense.inputTransform()).fit(model, data, new TrainingListener() {
        @Override
        public void onBatch(int epoch, int b, int total, double loss) {
          progress.metric("epoch", epoch).metric("loss", loss).step();
        }

        @Override
        public void onEpochEnd(EpochStats stats, FeatureClassifier m, ParameterStore ps) {
          int[] predictions = ClassifierMetrics.predict(m, ps, manager, test, 256);
          double acc = ClassifierMetrics.accuracy(predictions, test.labels());
          curve.add(acc);
          progress.metric("test-acc", 100 * acc);
          if (stats.epoch() == config.epochs()) {
            confusion[0] = ClassifierMetrics.confusionMatrix(predictions, test.labels(), test.numClasses());
          }
        }
      });
    }
    return new TrainedModel(List.copyOf(curve), confusion[0], (System.nanoTime() - start) / 1e9);
  }

  /** Clean-trained appropriators by defense, architecture and run, each trained once when first asked for. */
  private final class CleanModels {
    private final Spec spec;
    private final Views views;
    private final int total;
    private final int[] done;
    private final Map<String, TrainedModel[][]> models = new HashMap<>();
    private final Map<String, LabeledImages> defendedSets = new HashMap<>();

    CleanModels(Spec spec, Views views, int total, int[] done) {
      this.spec = spec;
      this.views = views;
      this.total = total;
      this.done = done;
    }

    TrainedModel get(Defense defense, int arch, int repeat) {
      TrainedModel[][] byArch = models.computeIfAbsent(defense.label(),
          k -> new TrainedModel[spec.archs().size()][spec.repeats()]);
      if (byArch[arch][repeat] == null) {
        String name = spec.archs().get(arch);
        long seed = appropriatorSeed(spec.seed(), arch, repeat);
        Optional<TrainedModel> earlier = earlierCleanModel(spec, views, name, defense, seed);
        noteCleanModelsWithOtherSeeds(spec, views, name, defense, seed);
        if (earlier.isPresent()) {
          log.printf("%s on the clean training set%s%s: taken from an earlier run (final %.2f%%)%n", name,
              defense == Defenses.NONE ? "" : " with defense " + defense.label(), runLabel(spec, repeat),
              100 * earlier.get().finalAccuracy());
          byArch[arch][repeat] = earlier.get();
          return earlier.get();
        }
        log.printf("[%d/%d] %s on the clean training set%s%s%n", ++done[0], total, name,
            defense == Defenses.NONE ? "" : " with defense " + defense.label(), runLabel(spec, repeat));
        LabeledImages data = defendedSets.computeIfAbsent(defense.label(),
            k -> defend(defense, views.train(spec.train()), "the clean training set"));
        byArch[arch][repeat] = train(spec, views, name, data, defense, seed);
      }
      return byArch[arch][repeat];
    }
  }

  /** The defense applied to a training set, with what it took off in the log where it says so. */
  private LabeledImages defend(Defense defense, LabeledImages images, String what) {
    String note = defense.describeOn(images);
    if (!note.isEmpty()) {
      log.printf("%s on %s: %s%n", defense.label(), what, note);
    }
    return defense.preprocess(images);
  }

  /**
   * The models this run will train, for the log's [i/N]: clean-trained ones (one per defense the rows need) plus
   * protected ones, less those an earlier run's records supply.
   */
  private int countTrainings(Spec spec, Views views, List<String> methodNames, List<Crafted> sets,
      List<String> fingerprints) {
    List<Defense> cleanUnder = anySet(spec) ? spec.defenses() : List.of(Defenses.NONE);
    int count = 0;
    for (int a = 0; a < spec.archs().size(); a++) {
      String arch = spec.archs().get(a);
      for (int r = 0; r < spec.repeats(); r++) {
        long seed = appropriatorSeed(spec.seed(), a, r);
        for (Defense defense : cleanUnder) {
          count += earlierCleanModel(spec, views, arch, defense, seed).isPresent() ? 0 : 1;
        }
        for (int s = 0; s < sets.size(); s++) {
          if (methodNames.get(s).equals(NONE)) {
            continue;
          }
          for (Defense defense : spec.defenses()) {
            count += earlierProtectedModel(spec, views, arch, defense, seed, methodNames.get(s),
                sets.get(s).eps255(), fingerprints.get(s)).isPresent() ? 0 : 1;
          }
        }
      }
    }
    return count;
  }

  /**
   * The defenses clean-trained models are needed under: those of the rows, i.e. every listed defense when any set
   * is evaluated; without a set only the undefended model (what a run without rows always trained). A run whose
   * defenses leave out none trains no undefended model it would not use.
   */
  private static Set<String> cleanDefenses(Spec spec) {
    Set<String> labels = new HashSet<>();
    if (anySet(spec)) {
      spec.defenses().forEach(d -> labels.add(d.label()));
    } else {
      labels.add(Defenses.NONE.label());
    }
    return labels;
  }

  /** Whether the run has any set to evaluate: a given set, method none, or a method with an ε. */
  private static boolean anySet(Spec spec) {
    return spec.given() != null || spec.methods().stream().anyMatch(m -> m.equals(NONE) || !spec.eps255().isEmpty());
  }

  private static void checkDisjointShapes(Spec spec) {
    LabeledImages tr = spec.train();
    LabeledImages te = spec.test();
    if (tr.channels() != te.channels() || tr.height() != te.height() || tr.width() != te.width()
        || !tr.classNames().equals(te.classNames())) {
      throw new IllegalArgumentException("training and test data differ in image shape or classes: " + tr + " vs "
          + te);
    }
  }

  static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }
}
