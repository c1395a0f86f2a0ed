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

  /**
   * @param manager owns every model parameter and center; closed with the ensemble
   * @param inputShape C, H, W the models were trained on
   */
  public CheckpointEnsemble(List<Checkpoint> checkpoints, NDManager manager, long[] inputShape) {
    if (checkpoints.isEmpty()) {
      throw new IllegalArgumentException("an ensemble needs at least one checkpoint");
    }
    this.checkpoints = List.copyOf(checkpoints);
    this.manager = manager;
    this.parameterStore = new ParameterStore(manager, false);
    this.numClasses = checkpoints.get(0).model().numClasses();
    this.inputShape = inputShape.clone();
    for (Checkpoint c : checkpoints) {
      if (c.model().numClasses() != numClasses) {
        throw new IllegalArgumentException("checkpoints disagree on the number of classes");
      }
      c.model().freezeParameters(true); // crafting needs ∇x only; skipping ∇θ saves time and memory
      c.model().foldBatchNorm(manager); // frozen and eval-mode from here on: conv+BN as one conv
    }
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
    manager.close();
  }
}
