package io.sepshield.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A classifier split the way SEP needs it: {@code logits = head(features(normalize(x)))}.
 *
 * <p>Inputs are images in [0,1], NCHW. Per-channel normalisation lives inside the model so that every caller
 * (training, crafting, evaluation) feeds the same pixel space and the ε-ball is measured in pixels.
 * {@link #features} is h(x) of the paper: everything but the last linear layer, ending in a pooled vector of
 * {@link #featureDim()} values per image.
 */
public final class FeatureClassifier extends AbstractBlock {
  private static final byte VERSION = 1;

  private final Block features;
  private final Block head;
  private final int featureDim;
  private final int numClasses;
  private final float[] mean;
  private final float[] std;
  private final Map<Device, NDArray[]> constantsByDevice = new ConcurrentHashMap<>();
  /** Eval-mode copy of {@link #features} with BatchNorm folded into the convolutions; null until folded. */
  private volatile Block foldedFeatures;
  /** Per child of {@link #features}, how many children of {@link #foldedFeatures} compute up to it (see fold). */
  private volatile int[] foldedEnds = new int[0];
  private volatile NDManager foldedOwner;

  /**
   * @param features block mapping normalised NCHW images to (N, featureDim)
   * @param mean per-channel mean subtracted before {@code features}
   * @param std per-channel standard deviation divided out before {@code features}
   */
  public FeatureClassifier(Block features, int featureDim, int numClasses, float[] mean, float[] std) {
    super(VERSION);
    if (mean.length != std.length) {
      throw new IllegalArgumentException("mean and std must have one value per channel");
    }
    this.features = addChildBlock("features", features);
    this.head = addChildBlock("head", Linear.builder().setUnits(numClasses).build());
    this.featureDim = featureDim;
    this.numClasses = numClasses;
    this.mean = mean.clone();
    this.std = std.clone();
  }

  public int featureDim() {
    return featureDim;
  }

  public int numClasses() {
    return numClasses;
  }

  public int channels() {
    return mean.length;
  }

  public float[] mean() {
    return mean.clone();
  }

  public float[] std() {
    return std.clone();
  }

  /** h(x): the penultimate representation, shape (N, featureDim). */
  public NDArray features(ParameterStore ps, NDArray images, boolean training) {
    Block folded = activeFolded(training);
    Block f = folded != null ? folded : features;
    return f.forward(ps, new NDList(normalize(images)), training).singletonOrThrow();
  }

  /** The folded copy where an eval-mode pass may use it, else null. */
  private Block activeFolded(boolean training) {
    Block folded = foldedFeatures;
    // The folded arrays belong to the manager given to foldBatchNorm; once it is closed, the model as it is.
    return !training && useFolded && folded != null && foldedOwner.isOpen() ? folded : null;
  }

  /**
   * An earlier layer's features: the output of the first {@code layer} children of the feature block (NCHW maps),
   * averaged over H and W to (N, C). {@link #layers} lists what each child yields; its last entry is the last map
   * before global pooling, whose features equal {@link #features} up to float rounding (callers wanting h(x) itself
   * call that). Eval-mode passes use the BatchNorm-folded copy, as {@link #features} does, where no folded conv+BN
   * pair straddles child {@code layer}'s end.
   *
   * @throws IllegalArgumentException if the feature block is not sequential, {@code layer} is not one of its
   *     children, or that child does not yield NCHW maps
   */
  public NDArray features(ParameterStore ps, NDArray images, boolean training, int layer) {
    List<Block> children = sequentialChildren();
    if (layer < 1 || layer > children.size()) {
      throw new IllegalArgumentException("feature layer " + layer + " outside 1.." + children.size()
          + ", the children of the feature block");
    }
    Block folded = activeFolded(training);
    int[] ends = foldedEnds;
    List<Block> run = children;
    int count = layer;
    if (folded != null && ends.length == children.size() && ends[layer - 1] >= 0) {
      run = List.copyOf(folded.getChildren().values());
      count = ends[layer - 1];
    }
    NDList x = new NDList(normalize(images));
    for (int i = 0; i < count; i++) {
      x = run.get(i).forward(ps, x, training);
    }
    NDArray maps = x.singletonOrThrow();
    if (maps.getShape().dimension() != 4) {
      throw new IllegalArgumentException("feature layer " + layer + " yields " + maps.getShape()
          + ", not NCHW maps: only the children before global pooling count");
    }
    return spatialMean(maps);
  }

  /** (N, C, H, W) averaged over H and W to (N, C) (PyTorch's engine in DJL averages over one axis at a time). */
  private static NDArray spatialMean(NDArray maps) {
    Shape s = maps.getShape();
    return maps.reshape(s.get(0), s.get(1), s.get(2) * s.get(3)).mean(new int[] {2});
  }

  /** One child of the feature block that yields NCHW maps: its count L, what it is, and its output for one image. */
  public record Layer(int index, String kind, long channels, long height, long width) {
    @Override
    public String toString() {
      return index + " " + kind + " (" + channels + " ch, " + height + "x" + width + ")";
    }
  }

  /**
   * The children of the feature block that {@link #features(ParameterStore, NDArray, boolean, int)} counts, for
   * images of shape {@code chw}: the leading ones that yield NCHW maps (global pooling and anything after it are
   * left out). Runs one zero image through the unfolded block in eval mode; the parameters must be initialised.
   *
   * @throws IllegalArgumentException if the feature block is not sequential
   */
  public List<Layer> layers(ParameterStore ps, long[] chw) {
    List<Block> children = sequentialChildren();
    NDManager owner = parameterManager();
    if (owner == null) {
      throw new IllegalStateException("the model's parameters are not initialised");
    }
    List<Layer> layers = new ArrayList<>();
    try (NDManager scope = owner.newSubManager()) {
      NDList x = new NDList(normalize(scope.zeros(new Shape(1, chw[0], chw[1], chw[2]))));
      for (Block child : children) {
        x = child.forward(ps, x, false);
        Shape s = x.singletonOrThrow().getShape();
        if (s.dimension() != 4) {
          break;
        }
        layers.add(new Layer(layers.size() + 1, describe(child), s.get(1), s.get(2), s.get(3)));
      }
    }
    return layers;
  }

  private List<Block> sequentialChildren() {
    if (!(features instanceof SequentialBlock)) {
      throw new IllegalArgumentException("the feature block is a " + features.getClass().getSimpleName()
          + ", not a SequentialBlock: an earlier feature layer needs children in sequence; use the penultimate "
          + "layer");
    }
    return List.copyOf(features.getChildren().values());
  }

  /** A block's structure in a few words: conv-bn-ReLU, [conv-bn-ReLU-conv-bn|identity]-ReLU (a residual), ... */
  private static String describe(Block block) {
    if (block instanceof Conv2d) {
      return "conv";
    }
    if (block instanceof BatchNorm) {
      return "bn";
    }
    if (block instanceof LambdaBlock lambda) {
      return lambda.getName();
    }
    List<String> parts = block.getChildren().values().stream().map(FeatureClassifier::describe).toList();
    if (block instanceof ParallelBlock) {
      return "[" + String.join("|", parts) + "]";
    }
    if (block instanceof SequentialBlock) {
      return String.join("-", parts);
    }
    return block.getClass().getSimpleName();
  }

  /**
   * Folds every BatchNorm that directly follows a convolution into that convolution for eval-mode passes (see
   * {@link BatchNormFolding}): the same features up to float rounding, two native ops fewer per such pair and pass,
   * forward and backward. For frozen models only (a {@link io.sepshield.sep.CheckpointEnsemble}): the folded
   * weights are computed from the parameters as they are now, so later training or loading would not reach them.
   * Training-mode passes always use the model as it is. The folded arrays are attached to {@code manager}.
   *
   * @return the number of conv+BN pairs folded
   */
  public int foldBatchNorm(NDManager manager) {
    BatchNormFolding.Folded folded = BatchNormFolding.fold(features, manager);
    foldedOwner = manager;
    foldedEnds = folded.ends();
    foldedFeatures = folded.pairs() == 0 ? null : folded.block();
    return folded.pairs();
  }

  /** Whether {@link #foldBatchNorm} is in force for this model. */
  public boolean isFolded() {
    return foldedFeatures != null;
  }

  /**
   * Whether eval-mode passes use the folded copy where one exists (the default). A process-wide switch only so that
   * {@code sep-shield bench} can measure both in one run.
   */
  private static volatile boolean useFolded = true;

  public static void useFoldedBatchNorm(boolean enabled) {
    useFolded = enabled;
  }

  /** f(x): class logits, shape (N, numClasses). */
  public NDArray logits(ParameterStore ps, NDArray images, boolean training) {
    return head.forward(ps, new NDList(features(ps, images, training)), training).singletonOrThrow();
  }

  private NDArray normalize(NDArray images) {
    if (images.getShape().dimension() != 4 || images.getShape().get(1) != mean.length) {
      throw new IllegalArgumentException("expected NCHW images with " + mean.length + " channels, got "
          + images.getShape());
    }
    NDArray[] constants = cacheNormalization ? cachedConstants(images.getDevice()) : null;
    if (constants == null) {
      constants = newConstants(images.getManager(), images.getDevice());
    }
    return images.sub(constants[0]).div(constants[1]);
  }

  /**
   * Whether models keep their normalisation constants per device (the default) instead of creating them on every
   * forward pass (4 extra native calls and 2 allocations per pass). A switch only so that {@code sep-shield bench}
   * can measure both in one run; the results are identical.
   */
  private static volatile boolean cacheNormalization = true;

  public static void cacheNormalization(boolean enabled) {
    cacheNormalization = enabled;
  }

  /**
   * Mean and std as (1, C, 1, 1) arrays on {@code device}, made once per device and owned by the manager of this
   * model's parameters, so that they are freed with the model. Null before the parameters exist.
   */
  private NDArray[] cachedConstants(Device device) {
    NDArray[] cached = constantsByDevice.get(device);
    if (cached != null && cached[0].isReleased()) { // the model's manager was closed under it: rebuild
      constantsByDevice.remove(device, cached);
      cached = null;
    }
    if (cached != null) {
      return cached;
    }
    NDManager owner = parameterManager();
    if (owner == null || !owner.isOpen()) {
      return null;
    }
    return constantsByDevice.computeIfAbsent(device, d -> newConstants(owner, d));
  }

  private NDArray[] newConstants(NDManager manager, Device device) {
    NDArray m = manager.create(mean).reshape(1, mean.length, 1, 1).toDevice(device, false);
    NDArray s = manager.create(std).reshape(1, std.length, 1, 1).toDevice(device, false);
    return new NDArray[] {m, s};
  }

  private NDManager parameterManager() {
    for (Parameter p : getParameters().values()) {
      if (p.isInitialized()) {
        return p.getArray().getManager();
      }
    }
    return null;
  }

  @Override
  protected NDList forwardInternal(ParameterStore ps, NDList inputs, boolean training,
      PairList<String, Object> params) {
    return new NDList(logits(ps, inputs.singletonOrThrow(), training));
  }

  @Override
  public Shape[] getOutputShapes(Shape[] inputShapes) {
    return new Shape[] {new Shape(inputShapes[0].get(0), numClasses)};
  }

  @Override
  protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
    features.initialize(manager, dataType, inputShapes);
    Shape featureShape = features.getOutputShapes(inputShapes)[0];
    if (featureShape.dimension() != 2 || featureShape.get(1) != featureDim) {
      throw new IllegalStateException("feature block yields " + featureShape + ", declared featureDim " + featureDim);
    }
    head.initialize(manager, dataType, featureShape);
  }
}
