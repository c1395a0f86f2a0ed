package io.sepshield.sep;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import java.util.List;

/**
 * The checkpoints f_1..f_n and their centers, loaded once and kept on one device for the lifetime of a
 * {@link Protector}: no gradient ever reloads a checkpoint from disk. Closing the ensemble frees its native memory.
 */
public final class CheckpointEnsemble implements AutoCloseable {
  private final List<Checkpoint> checkpoints;
  private final NDManager manager;
  private final ParameterStore parameterStore;
  private final int numClasses;
  private final long[] inputShape;
  private final boolean ownsManager;
  private final float[] inputClassMeans;

  /**
   * @param manager owns every model parameter and center; closed with the ensemble
   * @param inputShape C, H, W the models were trained on
   */
  public CheckpointEnsemble(List<Checkpoint> checkpoints, NDManager manager, long[] inputShape) {
    this(checkpoints, manager, inputShape, null);
  }

  /**
   * @param inputClassMeans the mean training image per class on the input grid (K × C·H·W in [0, 1], see {@code
   *     LabeledImages.classMeans}), for a class pattern toward the target class; null when the bundle has none
   */
  public CheckpointEnsemble(List<Checkpoint> checkpoints, NDManager manager, long[] inputShape,
      float[] inputClassMeans) {
    this(checkpoints, manager, inputShape, inputClassMeans, true);
    for (Checkpoint c : checkpoints) {
      c.model().freezeParameters(true); // crafting needs ∇x only; skipping ∇θ saves time and memory
      c.model().foldBatchNorm(manager); // frozen and eval-mode from here on: conv+BN as one conv
    }
  }

  private CheckpointEnsemble(List<Checkpoint> checkpoints, NDManager manager, long[] inputShape,
      float[] inputClassMeans, boolean owns) {
    if (checkpoints.isEmpty()) {
      throw new IllegalArgumentException("an ensemble needs at least one checkpoint");
    }
    this.checkpoints = List.copyOf(checkpoints);
    this.manager = manager;
    this.ownsManager = owns;
    this.parameterStore = new ParameterStore(manager, false);
    this.numClasses = checkpoints.get(0).model().numClasses();
    this.inputShape = inputShape.clone();
    for (Checkpoint c : checkpoints) {
      if (c.model().numClasses() != numClasses) {
        throw new IllegalArgumentException("checkpoints disagree on the number of classes");
      }
    }
    if (inputClassMeans != null
        && inputClassMeans.length != (long) numClasses * inputShape[0] * inputShape[1] * inputShape[2]) {
      throw new IllegalArgumentException(inputClassMeans.length + " input class-mean values for " + numClasses
          + " classes of " + java.util.Arrays.toString(inputShape));
    }
    this.inputClassMeans = inputClassMeans == null ? null : inputClassMeans.clone();
  }

  /**
   * The checkpoints of several ensembles (e.g. of different architectures: a cross-architecture self-ensemble) as
   * one, in the given order: the last part's newest checkpoint is {@link #last}, and its input class means (if any)
   * are the union's, as the bundle that is served. The parts keep their checkpoints' memory; closing the union frees
   * nothing, closing a part frees its checkpoints, so close the union first.
   */
  public static CheckpointEnsemble union(List<CheckpointEnsemble> parts) {
    if (parts.isEmpty()) {
      throw new IllegalArgumentException("a union needs at least one ensemble");
    }
    CheckpointEnsemble first = parts.get(0);
    List<Checkpoint> all = new java.util.ArrayList<>();
    for (CheckpointEnsemble part : parts) {
      if (!java.util.Arrays.equals(part.inputShape, first.inputShape) || part.numClasses != first.numClasses
          || !part.device().equals(first.device())) {
        throw new IllegalArgumentException("ensembles differ in input shape, classes or device");
      }
      all.addAll(part.checkpoints);
    }
    CheckpointEnsemble newest = parts.get(parts.size() - 1);
    return new CheckpointEnsemble(all, first.manager, first.inputShape, newest.inputClassMeans, false);
  }

  public int size() {
    return checkpoints.size();
  }

  public Checkpoint get(int index) {
    return checkpoints.get(index);
  }

  /** The newest checkpoint: the single model of the baseline and the source of pseudo-labels. */
  public Checkpoint last() {
    return checkpoints.get(checkpoints.size() - 1);
  }

  public List<Checkpoint> all() {
    return checkpoints;
  }

  public int numClasses() {
    return numClasses;
  }

  public long[] inputShape() {
    return inputShape.clone();
  }

  /** The mean training image per class on the input grid (K × C·H·W, in [0, 1]), or null when not known. */
  public float[] inputClassMeans() {
    return inputClassMeans == null ? null : inputClassMeans.clone();
  }

  public Device device() {
    return manager.getDevice();
  }

  public NDManager manager() {
    return manager;
  }

  ParameterStore parameterStore() {
    return parameterStore;
  }

  @Override
  public void close() {
    if (ownsManager) {
      manager.close();
    }
  }
}
