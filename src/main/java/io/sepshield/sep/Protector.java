package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.ParameterStore;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.Gradients;
import io.sepshield.model.ImageTensors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
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
  private final InputAdapter.Cache inputs;

  public Protector(CheckpointEnsemble ensemble, ProtectionSettings settings) {
    this.ensemble = ensemble;
    this.settings = settings;
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
  }

  public ProtectionSettings settings() {
    return settings;
  }

  public CheckpointEnsemble ensemble() {
    return ensemble;
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
      NDArray crafted = craft(original, targets);
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

  /** g(y) for each label. */
  public int[] targetsFor(int[] labels) {
    int k = ensemble.numClasses();
    int[] t = new int[labels.length];
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= k) {
        throw new IllegalArgumentException("label " + labels[i] + " outside 0.." + (k - 1));
      }
      t[i] = settings.targets().target(labels[i], k);
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
   * The crafting loop on float images in [0,1], NCHW, of any size with 1 or 3 channels. Returns the crafted images (inside the ε-ball, not yet
   * quantised), attached to {@code originals}' manager and device.
   */
  public NDArray craft(NDArray originals, int[] targets) {
    if (targets.length != originals.getShape().get(0)) {
      throw new IllegalArgumentException(targets.length + " targets for " + originals.getShape().get(0) + " images");
    }
    InputAdapter.checkChannels(originals.getShape().get(1), ensemble.inputShape()[0]);
    try (NDManager scope = ensemble.manager().newSubManager()) {
      NDArray x0 = onDevice(originals, scope);
      Targets goal = new Targets(scope, targets);
      NDArray crafted;
      try (EpsilonBall ball = new EpsilonBall(x0, settings.epsilon())) {
        crafted = switch (settings.method()) {
          case UNIFORM_NOISE -> uniformNoise(x0, ball);
          case BASELINE -> signedDescent(x0, ball, List.of(ensemble.last()), goal);
          case SEP, SEP_FA -> signedDescent(x0, ball, members, goal);
          case SEP_FA_VR -> sepFaVr(x0, ball, goal);
        };
      }
      NDArray result = crafted.toDevice(originals.getDevice(), true);
      result.attach(originals.getManager());
      return result;
    }
  }

  /**
   * Algorithm 1 (SEP-FA-VR), line by line. Each outer iteration t:
   * g_k = ∇x L_k(x_t) for every k; g_ens = mean g_k; g_upd = 0; x̂ = x_t;
   * M times: pick k at random, g_upd += ∇x L_k(x̂) − (g_k − g_ens), x̂ = Π_ε(x̂ − α sign(g_upd));
   * then x_{t+1} = Π_ε(x_t − α sign(g_upd)).
   */
  private NDArray sepFaVr(NDArray x0, EpsilonBall ball, Targets goal) {
    Random random = new Random(settings.seed());
    float alpha = settings.alpha();
    NDManager home = x0.getManager();
    NDArray x = x0;
    for (int t = 0; t < settings.steps(); t++) {
      NDArray next;
      try (NDManager step = home.newSubManager()) {
        x.tempAttach(step); // everything derived from x_t this iteration is freed with the step
        NDArray[] g = new NDArray[members.size()];
        for (int k = 0; k < members.size(); k++) {
          g[k] = gradient(members.get(k), x, goal, step);
        }
        NDArray gEns = NDArrays.stack(new NDList(g)).mean(new int[] {0});
        NDArray[] deviation = new NDArray[members.size()]; // g_k − g_ens, fixed for this t
        for (int k = 0; k < members.size(); k++) {
          deviation[k] = g[k].sub(gEns);
        }
        NDArray gUpd = x.zerosLike();
        NDArray xHat = x;
        for (int m = 0; m < settings.innerSteps(); m++) {
          int k = random.nextInt(members.size()); // uniform, with replacement
          // Variance reduction: member k's fresh gradient at x̂ (with k's own centers), minus its deviation at x_t.
          gUpd = gUpd.add(gradient(members.get(k), xHat, goal, step).sub(deviation[k]));
          xHat = ball.project(xHat.sub(gUpd.sign().mul(alpha)));
        }
        next = ball.project(x.sub(gUpd.sign().mul(alpha)));
        next.attach(home);
      }
      if (x != x0) {
        x.close();
      }
      x = next;
    }
    return x;
  }

  /** x_{t+1} = Π_ε(x_t − α sign(mean_k ∇x L_k(x_t))): SEP, SEP-FA, and with one model the baseline. */
  private NDArray signedDescent(NDArray x0, EpsilonBall ball, List<Checkpoint> models, Targets goal) {
    NDManager home = x0.getManager();
    NDArray x = x0;
    for (int t = 0; t < settings.steps(); t++) {
      NDArray next;
      try (NDManager step = home.newSubManager()) {
        x.tempAttach(step);
        NDArray sum = x.zerosLike();
        for (Checkpoint c : models) {
          sum = sum.add(gradient(c, x, goal, step));
        }
        // The ensemble mean has the sign of the sum; the division is skipped.
        next = ball.project(x.sub(sum.sign().mul(settings.alpha())));
        next.attach(home);
      }
      if (x != x0) {
        x.close();
      }
      x = next;
    }
    return x;
  }

  private NDArray uniformNoise(NDArray x0, EpsilonBall ball) {
    Random random = new Random(settings.seed());
    float[] noise = new float[Math.toIntExact(x0.size())];
    for (int i = 0; i < noise.length; i++) {
      noise[i] = (random.nextFloat() * 2f - 1f) * settings.epsilon();
    }
    NDArray delta = x0.getManager().create(noise, x0.getShape());
    return ball.project(x0.add(delta));
  }

  /** ∇x L_k(x) for one checkpoint, attached to {@code into} (the forward graph is freed at once). */
  private NDArray gradient(Checkpoint c, NDArray x, Targets goal, NDManager into) {
    return Gradients.ofInput(x, leaf -> loss(c, leaf, goal), into);
  }

  /**
   * L_k(P(x)): feature alignment to c_k[g(y)] (this checkpoint's own centers) or targeted cross-entropy, on the
   * images mapped onto the bundle's input. The one place where a model is applied while crafting.
   */
  private NDArray loss(Checkpoint c, NDArray images, Targets goal) {
    ParameterStore ps = ensemble.parameterStore();
    NDArray x = inputs.apply(images);
    if (settings.method().usesFeatureAlignment()) {
      return Losses.featureAlignment(c.model().features(ps, x, false), goal.centersOf(c));
    }
    return Losses.targetedCrossEntropy(c.model().logits(ps, x, false), goal.oneHot);
  }

  /** Mean per-image crafting loss over the ensemble members: what crafting drives down. */
  public double meanLoss(NDArray images, int[] targets) {
    try (NDManager scope = ensemble.manager().newSubManager()) {
      NDArray x = onDevice(images, scope);
      Targets goal = new Targets(scope, targets);
      double total = 0;
      for (Checkpoint c : members) {
        total += loss(c, x, goal).getFloat();
      }
      return total / members.size() / targets.length;
    }
  }

  /** L_k(x) for one checkpoint, summed over the batch: exposed for gradient checks. */
  double lossValue(Checkpoint c, NDArray images, int[] targets) {
    try (NDManager scope = ensemble.manager().newSubManager()) {
      return loss(c, onDevice(images, scope), new Targets(scope, targets)).getFloat();
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

  private void checkShape(LabeledImages batch) {
    InputAdapter.checkChannels(batch.channels(), ensemble.inputShape()[0]);
  }

  /** g(y) for a batch as a one-hot matrix, and per checkpoint the matching centers c_k[g(y)] (computed once). */
  private final class Targets {
    final NDArray oneHot;
    private final Map<Checkpoint, NDArray> centers = new IdentityHashMap<>();

    Targets(NDManager scope, int[] targets) {
      int k = ensemble.numClasses();
      for (int t : targets) {
        if (t < 0 || t >= k) {
          throw new IllegalArgumentException("target class " + t + " outside 0.." + (k - 1));
        }
      }
      this.oneHot = ImageTensors.labels(scope, targets).oneHot(k).toType(DataType.FLOAT32, false);
    }

    NDArray centersOf(Checkpoint c) {
      return centers.computeIfAbsent(c, key -> oneHot.matMul(key.centers()));
    }
  }
}
