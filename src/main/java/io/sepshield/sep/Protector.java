package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.Gradients;
import io.sepshield.model.ImageTensors;
import io.sepshield.train.ClassCenters;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Crafts protective perturbations with a {@link CheckpointEnsemble}: SEP-FA-VR (Algorithm 1 of Chen et al., ICLR
 * 2023), its ablations SEP and SEP-FA, the single-model baseline, and uniform noise.
 *
 * <p>Models run in eval mode (BatchNorm uses running statistics) and losses are sums of per-image terms, so an
 * image's perturbation does not depend on its batch mates. Every batch allocates inside its own {@link NDManager}
 * scope, every outer step and every gradient inside nested ones, so native memory does not grow across batches.
 *
 * <p>Images may have any size and 1 or 3 channels (one shape per batch): δ lives at the images' own size and
 * colour, and the models see P(x + δ), the differentiable {@link InputAdapter} onto the bundle's input, applied in
 * {@link #loss} and {@link #predict}. Gradients flow through P to every full-size pixel, so Algorithm 1 runs
 * unchanged; on the bundle's own shape P is the identity and adds no op.
 *
 * <p>Not thread-safe: use one Protector per thread. DJL's PyTorch engine allows one gradient collection per process
 * at a time, so gradient evaluations of all Protectors in a JVM are serialised by the lock of {@link Gradients}.
 */
public final class Protector {
  private final CheckpointEnsemble ensemble;
  private final ProtectionSettings settings;
  private final List<Checkpoint> members;
  /** g(y) as crafting uses it: the settings' map resolved against the members (see {@link TargetMap#resolve}). */
  private final TargetMap targetMap;
  private final ClassPattern.Grid patternGrid; // null without a class pattern
  /** Per member aligning at an earlier layer, that layer's count L; members absent align h(x) to their own centers. */
  private final Map<Checkpoint, Integer> earlierLayer = new IdentityHashMap<>();
  /** Per member in {@link #earlierLayer}, its (K, C_L) class centers at that layer, row-major; see withLayerCentersOf. */
  private final Map<Checkpoint, float[]> layerCenters = new IdentityHashMap<>();
  private final InputAdapter.Cache inputs;
  private final Tuning tuning;
  private StepProbe probe = StepProbe.NONE;
  /** The draws of {@link ProtectionSettings#augmentation} while crafting; null otherwise (no augmentation). */
  private Random augmenting;

  /** Test hook: sees the crafting scope after every inner step (m ≥ 0) and every outer step (m = −1) of t. */
  interface StepProbe {
    StepProbe NONE = (t, m, crafting) -> {};

    void after(int t, int m, NDManager crafting);
  }

  /**
   * How the crafting loop is executed; none of it changes the mathematics (same gradients, same random draws), only
   * how many gradient evaluations and native calls it takes. {@link #OPTIMIZED} is what production uses;
   * {@link #STRAIGHTFORWARD} is Algorithm 1 as written, kept so that benchmarks compare both in one run and tests
   * check that they agree.
   *
   * @param reuseFirstGradient at m = 0 the virtual point x̂ is x_t, so ∇L_k(x̂) = g_k: use it instead of evaluating
   *     it again (saves T gradient evaluations per image for SEP-FA-VR)
   * @param oneCollectionPerStep the n gradients of an outer step come from one gradient collection and one backward
   *     pass of Σ_k L_k(x_k) over n views of x_t, instead of n collections
   */
  public record Tuning(boolean reuseFirstGradient, boolean oneCollectionPerStep) {
    /**
     * Reuse on, one collection off: on CPU (2026-12-01, 2-core VM) holding n forward graphs at once for one backward
     * was slower than n collections in turn (0.8x at batch 8, worse at 64), more memory traffic than the native calls
     * it saves. It stays selectable for devices where per-call overhead dominates.
     */
    public static final Tuning OPTIMIZED = new Tuning(true, false);
    /** Both loop changes: the n gradients of a step in one collection. */
    public static final Tuning ONE_COLLECTION = new Tuning(true, true);
    public static final Tuning STRAIGHTFORWARD = new Tuning(false, false);
  }

  public Protector(CheckpointEnsemble ensemble, ProtectionSettings settings) {
    this(ensemble, settings, Tuning.OPTIMIZED);
  }

  public Protector(CheckpointEnsemble ensemble, ProtectionSettings settings, Tuning tuning) {
    this.ensemble = ensemble;
    this.tuning = tuning;
    int[] selection = settings.checkpoints().length == 0
        ? IntStream.range(0, ensemble.size()).toArray()
        : settings.checkpoints();
    List<Checkpoint> chosen = new ArrayList<>();
    for (int i : selection) {
      if (i < 0 || i >= ensemble.size()) {
        throw new IllegalArgumentException("checkpoint index " + i + " outside 0.." + (ensemble.size() - 1));
      }
      chosen.add(ensemble.get(i));
    }
    this.members = List.copyOf(chosen);
    this.inputs = new InputAdapter.Cache(ensemble.manager(), ensemble.inputShape(), settings.preprocessing());
    if (!settings.featureLayer().isPenultimate()) {
      resolveLayer(settings.featureLayer().children());
      // L = every member's last map before pooling is h(x) itself: the same protection, so the same settings.
      settings = earlierLayer.isEmpty() ? settings.withFeatureLayer(FeatureLayer.PENULTIMATE) : settings;
    }
    this.settings = settings;
    this.targetMap = settings.targets().resolve(members);
    this.patternGrid = settings.classPattern().isNone() ? null
        : settings.classPattern().onGrid(ensemble.inputShape(), settings.seed(), ensemble.inputClassMeans());
  }

  /**
   * Checks L against every member's feature block and notes the members for which it is an earlier layer than h(x).
   */
  private void resolveLayer(int layer) {
    for (Checkpoint c : members) {
      List<FeatureClassifier.Layer> layers = c.model().layers(ensemble.parameterStore(), ensemble.inputShape());
      if (layer > layers.size()) {
        throw new IllegalArgumentException("feature layer " + layer + " outside 1.." + layers.size() + " for the "
            + "checkpoint of epoch " + c.epoch() + " (" + layers.size() + " = h(x), before global pooling); its "
            + "feature block's children for " + Arrays.toString(ensemble.inputShape()) + " inputs: "
            + layers.stream().map(FeatureClassifier.Layer::toString).collect(Collectors.joining("; ")));
      }
      if (layer < layers.size()) {
        earlierLayer.put(c, layer);
      }
    }
  }

  /**
   * Class centers at the settings' feature layer, for crafting at a layer before h(x) (a no-op otherwise: h(x) aligns
   * to the bundle's own centers): per member, the mean of that layer's pooled features over each class of
   * {@code clean}, in eval mode through P and without augmentation, as the bundle's centers were computed over its
   * training data. {@code clean} are labelled clean images the data owner has, normally the very images to protect.
   *
   * @return this protector
   */
  public Protector withLayerCentersOf(LabeledImages clean, int batchSize) {
    InputAdapter.checkChannels(clean.channels(), ensemble.inputShape()[0]);
    ParameterStore ps = ensemble.parameterStore();
    for (Map.Entry<Checkpoint, Integer> e : earlierLayer.entrySet()) {
      FeatureClassifier model = e.getKey().model();
      int layer = e.getValue();
      try (NDManager scope = ensemble.manager().newSubManager()) {
        NDArray centers = ClassCenters.compute(x -> model.features(ps, inputs.apply(x), false, layer),
            ensemble.numClasses(), scope, clean, batchSize);
        layerCenters.put(e.getKey(), centers.toFloatArray());
      }
    }
    return this;
  }

  public ProtectionSettings settings() {
    return settings;
  }

  public CheckpointEnsemble ensemble() {
    return ensemble;
  }

  public Tuning tuning() {
    return tuning;
  }

  void probe(StepProbe probe) {
    this.probe = probe;
  }

  /**
   * Gradient evaluations (forward+backward passes) this protector runs per image: {@link
   * ProtectionSettings#gradientEvaluationsPerImage} less the T first inner steps that reuse g_k.
   */
  public long passesPerImage() {
    long passes = settings.gradientEvaluationsPerImage(members.size());
    if (settings.method() == Method.SEP_FA_VR && tuning.reuseFirstGradient()) {
      passes -= settings.steps();
    }
    return passes;
  }

  /** The checkpoints this protector ensembles, oldest first. */
  public List<Checkpoint> members() {
    return members;
  }

  /**
   * Protects 8-bit images end to end: labels (given, or pseudo-labels for {@link LabeledImages#UNKNOWN_LABEL}),
   * targets g(y), crafting, rounding to 8 bits inside the ε-ball. The images keep their own size and channels.
   *
   * @throws IllegalArgumentException for channel counts P cannot map onto the bundle (see
   *     {@link InputAdapter#checkChannels})
   */
  public ProtectedBatch protect(LabeledImages batch) {
    checkShape(batch);
    int n = batch.size();
    try (NDManager scope = ensemble.manager().newSubManager()) {
      NDArray original = ImageTensors.batch(scope, batch, 0, n);
      int[] labels = batch.labels();
      boolean[] predicted = new boolean[n];
      if (Arrays.stream(labels).anyMatch(l -> l == LabeledImages.UNKNOWN_LABEL)) {
        int[] guess = predict(original);
        for (int i = 0; i < n; i++) {
          if (labels[i] == LabeledImages.UNKNOWN_LABEL) {
            labels[i] = guess[i];
            predicted[i] = true;
          }
        }
      }
      int[] targets = targetsFor(labels);
      NDArray crafted = craftFrom(original, labels, targets); // original lives on the ensemble's device, in scope
      byte[] originalBytes = batch.rawPixels();
      byte[] protectedBytes = EpsilonBall.quantize(originalBytes, crafted, settings.epsilon());
      int size = batch.imageBytes();
      int[] maxDelta = new int[n];
      double[] meanDelta = new double[n];
      for (int i = 0; i < n; i++) {
        byte[] a = Arrays.copyOfRange(originalBytes, i * size, (i + 1) * size);
        byte[] b = Arrays.copyOfRange(protectedBytes, i * size, (i + 1) * size);
        maxDelta[i] = EpsilonBall.maxAbsDelta(a, b);
        meanDelta[i] = EpsilonBall.meanAbsDelta(a, b);
      }
      LabeledImages out = batch.withPixels(protectedBytes).withLabels(labels);
      return new ProtectedBatch(out, predicted, targets, maxDelta, meanDelta);
    }
  }

  /** g as crafting uses it with these members: the settings' map, or the table a model-dependent map picked. */
  public TargetMap targetMap() {
    return targetMap;
  }

  /**
   * What the settings string alone does not show, one line each, for the caller's log: the table a map picked from
   * these members became (the settings only name it), and a step size too small to reach ε.
   */
  public List<String> craftingNotes() {
    List<String> notes = new ArrayList<>();
    if (!targetMap.equals(settings.targets())) {
      notes.add("target map " + settings.targets() + " with these checkpoints: g = " + targetMap);
    }
    settings.shortReach().ifPresent(notes::add);
    return notes;
  }

  /** g(y) for each label. */
  public int[] targetsFor(int[] labels) {
    int k = ensemble.numClasses();
    int[] t = new int[labels.length];
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= k) {
        throw new IllegalArgumentException("label " + labels[i] + " outside 0.." + (k - 1));
      }
      t[i] = targetMap.target(labels[i], k);
    }
    return t;
  }

  /** Pseudo-labels: the newest checkpoint's prediction on images in [0,1] of any supported shape (through P). */
  public int[] predict(NDArray images) {
    try (NDManager scope = ensemble.manager().newSubManager()) {
      NDArray x = inputs.apply(onDevice(images, scope));
      NDArray logits = ensemble.last().model().logits(ensemble.parameterStore(), x, false);
      long[] arg = logits.argMax(1).toType(DataType.INT64, false).toLongArray();
      return Arrays.stream(arg).mapToInt(v -> (int) v).toArray();
    }
  }

  /**
   * The crafting loop on float images in [0,1], NCHW, of any size with 1 or 3 channels. Returns the crafted images
   * (inside the ε-ball, not yet quantised), attached to {@code originals}' manager and device. Settings with a {@link
   * ClassPattern} need the labels: use {@link #craft(NDArray, int[], int[])}.
   */
  public NDArray craft(NDArray originals, int[] targets) {
    return craft(originals, null, targets);
  }

  /** {@link #craft(NDArray, int[])} with the labels y the settings' class pattern (if any) is keyed on. */
  public NDArray craft(NDArray originals, int[] labels, int[] targets) {
    try (NDManager scope = ensemble.manager().newSubManager()) {
      NDArray crafted = craftFrom(onDevice(originals, scope), labels, targets);
      NDArray result = crafted.toDevice(originals.getDevice(), true);
      result.attach(originals.getManager());
      return result;
    }
  }

  /**
   * {@link #craft} on float images x0 that already live on the ensemble's device, in a scope the caller owns: the
   * crafted images and every temporary are attached to x0's manager (the temporaries freed as the loop goes), and x0
   * is not changed. Saves {@link #protect} one image-sized copy.
   *
   * <p>With a {@link ClassPattern}, the methods run unchanged from x0' = clip(x0 + sε·P_y) in the ball of radius
   * (1 − s)ε around x0', a subset of x0's ε-ball.
   */
  private NDArray craftFrom(NDArray x0, int[] labels, int[] targets) {
    if (targets.length != x0.getShape().get(0)) {
      throw new IllegalArgumentException(targets.length + " targets for " + x0.getShape().get(0) + " images");
    }
    InputAdapter.checkChannels(x0.getShape().get(1), ensemble.inputShape()[0]);
    Targets goal = new Targets(x0.getManager(), targets);
    NDArray start = x0;
    ClassPattern pattern = settings.classPattern();
    if (!pattern.isNone()) {
      if (labels == null || labels.length != targets.length) {
        throw new IllegalArgumentException("the class pattern " + pattern + " needs one label per image");
      }
      try (NDManager scope = x0.getManager().newSubManager()) {
        NDArray shift = patternGrid.signs(scope, labels, targets, x0.getShape())
            .toDevice(x0.getDevice(), false).muli(pattern.share() * settings.epsilon());
        NDArray shifted = shift.addi(x0);
        start = shifted.clip(0f, 1f);
        start.attach(x0.getManager());
      }
    }
    // Every batch draws the same sequence, so a crafted image does not depend on the batches before it.
    augmenting = settings.augmentation().isNone() ? null : new Random(settings.seed() ^ 0x5DEECE66DL);
    try (EpsilonBall ball = new EpsilonBall(start, settings.craftingRadius())) {
      return switch (settings.method()) {
        case UNIFORM_NOISE -> uniformNoise(start, ball);
        case BASELINE -> signedDescent(start, ball, List.of(ensemble.last()), goal);
        case SEP, SEP_FA -> signedDescent(start, ball, members, goal);
        case SEP_FA_VR -> sepFaVr(start, ball, goal);
      };
    } finally {
      augmenting = null;
      if (start != x0) {
        start.close();
      }
    }
  }

  /**
   * Algorithm 1 (SEP-FA-VR), line by line. Each outer iteration t:
   * g_k = ∇x L_k(x_t) for every k; g_ens = mean g_k; g_upd = 0; x̂ = x_t;
   * M times: pick k at random, g_upd += ∇x L_k(x̂) − (g_k − g_ens), x̂ = Π_ε(x̂ − α sign(g_upd));
   * then x_{t+1} = Π_ε(x_t − α sign(g_upd)).
   *
   * <p>Memory: at full size every array here is image-sized (144 MB for a 12-megapixel RGB photo), so the loop
   * keeps only what Algorithm 1 still needs. Each inner step runs in its own scope that only g_upd and x̂ leave;
   * the M draws of k are made up front (same draws, same order), so only the deviations g_k − g_ens that a later
   * inner step uses are kept, each freed after its last use, and they are computed in place from g_k.
   */
  private NDArray sepFaVr(NDArray x0, EpsilonBall ball, Targets goal) {
    Random random = new Random(settings.seed());
    float alpha = settings.alpha();
    int n = members.size();
    NDManager home = x0.getManager();
    NDArray x = x0;
    for (int t = 0; t < settings.steps(); t++) {
      int[] picks = new int[settings.innerSteps()];
      for (int m = 0; m < picks.length; m++) {
        picks[m] = random.nextInt(n); // uniform, with replacement: drawn at m = 0 too
      }
      int[] lastUse = new int[n]; // the last inner step that needs k's deviation, −1 for none
      Arrays.fill(lastUse, -1);
      for (int m = 0; m < picks.length; m++) {
        lastUse[picks[m]] = m;
      }
      NDArray next;
      try (NDManager step = home.newSubManager()) {
        x.tempAttach(step); // everything derived from x_t this iteration is freed with the step
        NDArray[] g = gradients(members, x, goal, step);
        // PyTorch's own mean over the stack: a running in-place sum rounds some pixels differently for n ≥ 5.
        // The stack is transient and smaller than the inner steps' peak for the cpu and fast profiles.
        NDArray stacked = NDArrays.stack(new NDList(g));
        NDArray gEns = stacked.mean(new int[] {0});
        stacked.close();
        // At m = 0, x̂ = x_t, so member k's fresh gradient is g_k, already in hand: keep that one.
        NDArray firstFresh = tuning.reuseFirstGradient() && picks.length > 0 ? g[picks[0]].duplicate() : null;
        NDArray[] deviation = new NDArray[n]; // g_k − g_ens, fixed for this t; only for the k some inner step draws
        for (int k = 0; k < n; k++) {
          if (lastUse[k] >= 0) {
            deviation[k] = g[k].subi(gEns); // g_k is not needed any more: its deviation takes its place
          } else {
            g[k].close();
          }
        }
        gEns.close();
        NDArray gUpd = x.zerosLike();
        NDArray xHat = x.duplicate();
        for (int m = 0; m < picks.length; m++) {
          int k = picks[m];
          try (NDManager inner = step.newSubManager()) {
            gUpd.tempAttach(inner);
            xHat.tempAttach(inner);
            // Variance reduction: member k's fresh gradient at x̂ (with k's own centers), minus its deviation at x_t.
            NDArray fresh = m == 0 && firstFresh != null ? firstFresh : gradient(members.get(k), xHat, goal, inner);
            gUpd.addi(fresh.subi(deviation[k]));
            fresh.close();
            if (lastUse[k] == m) {
              deviation[k].close();
            }
            NDArray moved = descend(xHat, gUpd, alpha, ball);
            moved.attach(step);
            xHat.close();
            xHat = moved;
          }
          probe.after(t, m, home);
        }
        xHat.close();
        next = descend(x, gUpd, alpha, ball);
        next.attach(home);
      }
      if (x != x0) {
        x.close();
      }
      x = next;
      probe.after(t, -1, home);
    }
    return x;
  }

  /**
   * Π_ε(z − α sign(g)) as a new array on z's manager; its temporaries are freed at once (z and g are kept).
   */
  private static NDArray descend(NDArray z, NDArray g, float alpha, EpsilonBall ball) {
    NDArray change = g.sign().muli(alpha);
    NDArray moved = z.sub(change);
    change.close();
    NDArray projected = ball.project(moved);
    moved.close();
    return projected;
  }

  /** x_{t+1} = Π_ε(x_t − α sign(mean_k ∇x L_k(x_t))): SEP, SEP-FA, and with one model the baseline. */
  private NDArray signedDescent(NDArray x0, EpsilonBall ball, List<Checkpoint> models, Targets goal) {
    NDManager home = x0.getManager();
    NDArray x = x0;
    for (int t = 0; t < settings.steps(); t++) {
      NDArray next;
      try (NDManager step = home.newSubManager()) {
        x.tempAttach(step);
        NDArray sum = summedGradient(models, x, goal, step);
        // The ensemble mean has the sign of the sum; the division is skipped.
        next = descend(x, sum, settings.alpha(), ball);
        next.attach(home);
      }
      if (x != x0) {
        x.close();
      }
      x = next;
      probe.after(t, -1, home);
    }
    return x;
  }

  private NDArray uniformNoise(NDArray x0, EpsilonBall ball) {
    Random random = new Random(settings.seed());
    float[] noise = new float[Math.toIntExact(x0.size())];
    for (int i = 0; i < noise.length; i++) {
      noise[i] = (random.nextFloat() * 2f - 1f) * ball.epsilon();
    }
    NDArray delta = x0.getManager().create(noise, x0.getShape());
    return ball.project(x0.add(delta));
  }

  /** ∇x L_k(x) for every given checkpoint, in that order, attached to {@code into}. */
  private NDArray[] gradients(List<Checkpoint> models, NDArray x, Targets goal, NDManager into) {
    if (!tuning.oneCollectionPerStep()) {
      NDArray[] g = new NDArray[models.size()];
      for (int k = 0; k < g.length; k++) {
        g[k] = gradient(models.get(k), x, goal, into);
      }
      return g;
    }
    return Gradients.ofInputCopies(x, models.size(), leaves -> {
      NDArray total = loss(models.get(0), leaves[0], goal);
      for (int k = 1; k < leaves.length; k++) {
        total = total.add(loss(models.get(k), leaves[k], goal));
      }
      return total;
    }, into);
  }

  /** Σ_k ∇x L_k(x) = ∇x Σ_k L_k(x), attached to {@code into}. */
  private NDArray summedGradient(List<Checkpoint> models, NDArray x, Targets goal, NDManager into) {
    if (!tuning.oneCollectionPerStep()) {
      NDArray sum = x.zerosLike();
      for (Checkpoint c : models) {
        NDArray g = gradient(c, x, goal, into);
        sum.addi(g);
        g.close();
      }
      return sum;
    }
    return Gradients.ofInput(x, leaf -> {
      NDArray total = loss(models.get(0), leaf, goal);
      for (int k = 1; k < models.size(); k++) {
        total = total.add(loss(models.get(k), leaf, goal));
      }
      return total;
    }, into);
  }

  /** ∇x L_k(x) for one checkpoint, attached to {@code into} (the forward graph is freed at once). */
  private NDArray gradient(Checkpoint c, NDArray x, Targets goal, NDManager into) {
    return Gradients.ofInput(x, leaf -> loss(c, leaf, goal), into);
  }

  /**
   * L_k(A(P(x))): feature alignment to c_k[g(y)] (this checkpoint's own centers) or targeted cross-entropy, on the
   * images mapped onto the bundle's input, under a fresh random draw of the crafting augmentation A while crafting
   * (the identity otherwise). The one place where a model is applied while crafting.
   */
  private NDArray loss(Checkpoint c, NDArray images, Targets goal) {
    ParameterStore ps = ensemble.parameterStore();
    NDArray x = inputs.apply(images);
    if (augmenting != null) {
      x = settings.augmentation().apply(x, augmenting);
    }
    if (settings.method().usesFeatureAlignment()) {
      Integer layer = earlierLayer.get(c);
      NDArray features = layer == null ? c.model().features(ps, x, false) : c.model().features(ps, x, false, layer);
      return Losses.featureAlignment(features, goal.centersOf(c));
    }
    return Losses.targetedCrossEntropy(c.model().logits(ps, x, false), goal.oneHot);
  }

  /**
   * The checkpoints whose loss this method drives down: the newest one for the single-model baseline, the ensemble
   * members otherwise (uniform noise has no objective; its members' loss is reported for comparison).
   */
  public List<Checkpoint> objectiveMembers() {
    return settings.method() == Method.BASELINE ? List.of(ensemble.last()) : members;
  }

  /** Mean per-image crafting loss over {@link #objectiveMembers}: what crafting drives down. */
  public double meanLoss(NDArray images, int[] targets) {
    List<Checkpoint> objective = objectiveMembers();
    try (NDManager scope = ensemble.manager().newSubManager()) {
      NDArray x = onDevice(images, scope);
      Targets goal = new Targets(scope, targets);
      double total = 0;
      for (Checkpoint c : objective) {
        total += loss(c, x, goal).getFloat();
      }
      return total / objective.size() / targets.length;
    }
  }

  /** L_k(x) for one checkpoint, summed over the batch: exposed for gradient checks. */
  double lossValue(Checkpoint c, NDArray images, int[] targets) {
    try (NDManager scope = ensemble.manager().newSubManager()) {
      return loss(c, onDevice(images, scope), new Targets(scope, targets)).getFloat();
    }
  }

  /** ∇x L_k(x) for every member, as one step of the loop computes them: exposed for gradient checks. */
  NDArray[] memberGradients(NDArray images, int[] targets) {
    try (NDManager scope = ensemble.manager().newSubManager()) {
      NDArray[] g = gradients(members, onDevice(images, scope), new Targets(scope, targets), scope);
      NDArray[] out = new NDArray[g.length];
      for (int k = 0; k < g.length; k++) {
        out[k] = g[k].toDevice(images.getDevice(), true);
        out[k].attach(images.getManager());
      }
      return out;
    }
  }

  /** ∇x L_k(x) for one checkpoint, attached to {@code images}' manager: exposed for gradient checks. */
  NDArray lossGradient(Checkpoint c, NDArray images, int[] targets) {
    try (NDManager scope = ensemble.manager().newSubManager()) {
      NDArray g = gradient(c, onDevice(images, scope), new Targets(scope, targets), scope);
      NDArray out = g.toDevice(images.getDevice(), true);
      out.attach(images.getManager());
      return out;
    }
  }

  private NDArray onDevice(NDArray images, NDManager scope) {
    NDArray x = images.toDevice(ensemble.device(), true);
    if (x == images) {
      x = images.duplicate();
    }
    x.attach(scope);
    return x.toType(DataType.FLOAT32, false);
  }

  /** The centers at an earlier layer of one member, or null: exposed for tests. */
  float[] layerCentersOf(Checkpoint c) {
    float[] centers = layerCenters.get(c);
    return centers == null ? null : centers.clone();
  }

  private void checkLayerCenters() {
    if (settings.method().usesFeatureAlignment() && !layerCenters.keySet().containsAll(earlierLayer.keySet())) {
      throw new IllegalStateException("feature layer " + settings.featureLayer() + " needs class centers at that "
          + "layer: call withLayerCentersOf(clean labelled images) first");
    }
  }

  private void checkShape(LabeledImages batch) {
    InputAdapter.checkChannels(batch.channels(), ensemble.inputShape()[0]);
  }

  /** g(y) for a batch as a one-hot matrix, and per checkpoint the matching centers c_k[g(y)] (computed once). */
  private final class Targets {
    final NDArray oneHot;
    private final Map<Checkpoint, NDArray> centers = new IdentityHashMap<>();

    Targets(NDManager scope, int[] targets) {
      checkLayerCenters();
      int k = ensemble.numClasses();
      for (int t : targets) {
        if (t < 0 || t >= k) {
          throw new IllegalArgumentException("target class " + t + " outside 0.." + (k - 1));
        }
      }
      this.oneHot = ImageTensors.labels(scope, targets).oneHot(k).toType(DataType.FLOAT32, false);
    }

    NDArray centersOf(Checkpoint c) {
      return centers.computeIfAbsent(c, key -> {
        float[] atLayer = layerCenters.get(key);
        if (atLayer == null) {
          return oneHot.matMul(key.centers());
        }
        // Made per batch from Java memory: tiny (K x C_L), and nothing outlives the batch's scope.
        int k = ensemble.numClasses();
        return oneHot.matMul(oneHot.getManager().create(atLayer, new Shape(k, atLayer.length / k))
            .toDevice(oneHot.getDevice(), false));
      });
    }
  }
}
