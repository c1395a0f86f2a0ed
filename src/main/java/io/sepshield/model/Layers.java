package io.sepshield.model;

import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.Function;

/** Building blocks shared by the architectures in {@link Architectures}. */
final class Layers {
  private Layers() {}

  /** BatchNorm's ε (PyTorch's and DJL's default), named because {@link BatchNormFolding} needs it too. */
  static final float BATCH_NORM_EPSILON = 1e-5f;

  /**
   * The join of every ParallelBlock built here (weak keys, identity): DJL keeps it private, and
   * {@link BatchNormFolding} rebuilds such blocks around folded branches.
   */
  private static final Map<ParallelBlock, Function<List<NDList>, NDList>> JOINS =
      Collections.synchronizedMap(new WeakHashMap<>());

  private static ParallelBlock parallel(Function<List<NDList>, NDList> join, List<Block> branches) {
    ParallelBlock block = new ParallelBlock(join, branches);
    JOINS.put(block, join);
    return block;
  }

  /** The join a ParallelBlock of this class was built with, or null for one built elsewhere. */
  static Function<List<NDList>, NDList> joinOf(ParallelBlock block) {
    return JOINS.get(block);
  }

  /**
   * A square convolution with "same" padding (so only the stride changes the spatial size) and no bias: every conv
   * here feeds a BatchNorm, whose shift makes a bias redundant.
   */
  static Conv2d conv(int filters, int kernel, int stride) {
    return Conv2d.builder()
        .setFilters(filters)
        .setKernelShape(new Shape(kernel, kernel))
        .optStride(new Shape(stride, stride))
        .optPadding(new Shape(kernel / 2, kernel / 2))
        .optBias(false)
        .build();
  }

  /** BatchNorm over channels. DJL's defaults match PyTorch's: running statistics keep 0.9 per step, ε is 1e-5. */
  static BatchNorm batchNorm() {
    return BatchNorm.builder().optEpsilon(BATCH_NORM_EPSILON).build();
  }

  static SequentialBlock convBnRelu(int filters, int kernel, int stride) {
    return new SequentialBlock().add(conv(filters, kernel, stride)).add(batchNorm()).add(Activation.reluBlock());
  }

  /** Pre-activation BN-ReLU as used by DenseNet. */
  static SequentialBlock bnRelu() {
    return new SequentialBlock().add(batchNorm()).add(Activation.reluBlock());
  }

  /** Runs the branches on the same input and concatenates their outputs along the channel axis. */
  static ParallelBlock concatChannels(List<Block> branches) {
    return parallel(
        outputs -> new NDList(NDArrays.concat(new NDList(outputs.stream().map(NDList::singletonOrThrow).toList()), 1)),
        branches);
  }

  /** Residual connection {@code relu(main(x) + shortcut(x))}. */
  static SequentialBlock residual(Block main, Block shortcut) {
    ParallelBlock sum = parallel(
        outputs -> new NDList(outputs.get(0).singletonOrThrow().add(outputs.get(1).singletonOrThrow())),
        List.of(main, shortcut));
    return new SequentialBlock().add(sum).add(Activation.reluBlock());
  }

  /** Global average pooling; DJL's version already returns (N, C), so no flatten is needed after it. */
  static Block globalAvgPool() {
    return Pool.globalAvgPool2dBlock();
  }
}
