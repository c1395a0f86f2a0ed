package io.sepshield.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

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
    return features.forward(ps, new NDList(normalize(images)), training).singletonOrThrow();
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
    NDManager manager = images.getManager();
    NDArray m = manager.create(mean).reshape(1, mean.length, 1, 1).toDevice(images.getDevice(), false);
    NDArray s = manager.create(std).reshape(1, std.length, 1, 1).toDevice(images.getDevice(), false);
    return images.sub(m).div(s);
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
