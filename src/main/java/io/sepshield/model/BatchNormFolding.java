package io.sepshield.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.training.ParameterStore;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * An eval-mode copy of a feature block in which every convolution directly followed by a BatchNorm is one
 * convolution with a bias: in eval mode BN is the per-channel affine map y = (x − μ)·s + β with s = γ/√(σ² + ε), so
 * conv then BN is a conv with weight W·s and bias (b − μ)·s + β. That removes BN's forward op and its backward op
 * (and their image-sized temporaries) from every crafting pass, for the same function up to float rounding.
 *
 * <p>Only for frozen models: the folded weights are computed once from the parameters as they are now. Blocks that
 * cannot be folded (a BN after a concatenation, as in DenseNet's pre-activation layers) are shared, not copied.
 */
final class BatchNormFolding {
  private BatchNormFolding() {}

  /**
   * A folded copy and the number of conv+BN pairs merged in it.
   *
   * @param ends for a sequential {@code block}: ends[i] children of the folded copy compute what the first i+1
   *     children of {@code block} compute (flattening changes the count), or −1 where a merged pair straddles that
   *     boundary; empty for other blocks
   */
  record Folded(Block block, int pairs, int[] ends) {}

  /**
   * The folded copy of {@code block}; new arrays (folded weights and biases) are attached to {@code manager} and
   * live on the device of the original parameters. Blocks without a conv+BN pair inside are shared, not copied.
   */
  static Folded fold(Block block, NDManager manager) {
    int[] pairs = {0};
    List<int[]> ends = new ArrayList<>();
    Block folded = fold(block, manager, pairs, ends);
    return new Folded(folded, pairs[0], ends.isEmpty() ? new int[0] : ends.get(0));
  }

  /** {@code ends} receives the top-level block's boundaries (see {@link Folded#ends}); null below the top. */
  private static Block fold(Block block, NDManager manager, int[] pairs, List<int[]> ends) {
    if (block instanceof SequentialBlock) {
      List<Block> flat = new ArrayList<>();
      List<Integer> owner = new ArrayList<>(); // which top-level child each flat block comes from
      int index = 0;
      for (Block child : block.getChildren().values()) {
        for (Block b : flatten(child)) {
          flat.add(b);
          owner.add(index);
        }
        index++;
      }
      int[] end = new int[index];
      SequentialBlock out = new SequentialBlock();
      for (int i = 0; i < flat.size(); i++) {
        Block b = flat.get(i);
        Block merged = b instanceof Conv2d conv && i + 1 < flat.size() && flat.get(i + 1) instanceof BatchNorm bn
            ? foldedConv(conv, bn, manager) : null;
        if (merged != null) {
          out.add(merged);
          pairs[0]++;
          i++;
        } else {
          out.add(fold(b, manager, pairs, null));
        }
        // Children whose blocks are all consumed end here (empty ones too); a pair across a boundary blurs it.
        int first = owner.get(i - (merged != null ? 1 : 0));
        for (int c = first; c <= owner.get(i); c++) {
          end[c] = c < owner.get(i) ? -1 : out.getChildren().size();
        }
        for (int c = owner.get(i) + 1; c < index && (i + 1 >= flat.size() || c < owner.get(i + 1)); c++) {
          end[c] = out.getChildren().size(); // empty children between this block and the next
        }
      }
      if (ends != null) {
        ends.add(end);
      }
      return out;
    }
    if (block instanceof ParallelBlock p) {
      Function<List<NDList>, NDList> join = Layers.joinOf(p);
      if (join == null) {
        return p; // built elsewhere: its join is unknown, keep it whole
      }
      List<Block> branches = new ArrayList<>();
      for (Block child : p.getChildren().values()) {
        branches.add(fold(child, manager, pairs, null));
      }
      return new ParallelBlock(join, branches);
    }
    return block;
  }

  /** Nested sequential blocks inlined: composition is associative, and it puts BN next to the conv before it. */
  private static List<Block> flatten(Block block) {
    List<Block> out = new ArrayList<>();
    if (block instanceof SequentialBlock) {
      for (Block child : block.getChildren().values()) {
        out.addAll(flatten(child));
      }
    } else {
      out.add(block);
    }
    return out;
  }

  /**
   * conv then bn as one conv, or null when bn is not the affine map assumed here: DJL keeps a BatchNorm's ε (and
   * axis) private, so the fold is checked on a probe against bn's own eval-mode forward and skipped if they differ.
   */
  private static Block foldedConv(Conv2d conv, BatchNorm bn, NDManager manager) {
    NDArray weight = parameter(conv, Parameter.Type.WEIGHT);
    NDArray bias = conv.isIncludeBias() ? parameter(conv, Parameter.Type.BIAS) : null;
    NDArray gamma = parameter(bn, Parameter.Type.GAMMA);
    NDArray beta = parameter(bn, Parameter.Type.BETA);
    NDArray mean = parameter(bn, Parameter.Type.RUNNING_MEAN);
    NDArray var = parameter(bn, Parameter.Type.RUNNING_VAR);
    NDArray w;
    NDArray b;
    if (!matchesAffineForm(bn, gamma, beta, mean, var, manager)) {
      return null;
    }
    // Intermediates in a scratch scope (results of DJL ops join their first operand's manager).
    try (NDManager scratch = manager.newSubManager(weight.getDevice())) {
      NDArray scale = copy(gamma, scratch).div(copy(var, scratch).add(Layers.BATCH_NORM_EPSILON).sqrt()); // s per channel
      NDArray shifted = bias == null ? copy(mean, scratch).neg() : copy(bias, scratch).sub(copy(mean, scratch));
      w = copy(weight, scratch).mul(scale.reshape(scale.getShape().get(0), 1, 1, 1));
      b = shifted.mul(scale).add(copy(beta, scratch));
      w.attach(manager);
      b.attach(manager);
    }
    NDArray foldedWeight = w;
    NDArray foldedBias = b;
    Shape stride = conv.getStride();
    Shape padding = conv.getPadding();
    Shape dilation = conv.getDilation();
    int groups = conv.getGroups();
    return LambdaBlock.singleton(
        x -> Conv2d.conv2d(x, foldedWeight, foldedBias, stride, padding, dilation, groups).singletonOrThrow(),
        "foldedConvBatchNorm");
  }

  private static boolean matchesAffineForm(BatchNorm bn, NDArray gamma, NDArray beta, NDArray mean, NDArray var,
      NDManager manager) {
    try (NDManager scratch = manager.newSubManager(gamma.getDevice())) {
      long channels = gamma.getShape().get(0);
      NDArray probe = scratch.randomNormal(new Shape(2, channels, 2, 2));
      NDArray actual = bn.forward(new ParameterStore(scratch, false), new NDList(probe), false).singletonOrThrow();
      NDArray scale = copy(gamma, scratch).div(copy(var, scratch).add(Layers.BATCH_NORM_EPSILON).sqrt())
          .reshape(1, channels, 1, 1);
      NDArray expected = probe.sub(copy(mean, scratch).reshape(1, channels, 1, 1)).mul(scale)
          .add(copy(beta, scratch).reshape(1, channels, 1, 1));
      return actual.sub(expected).abs().max().getFloat() <= 1e-4f * (1 + expected.abs().max().getFloat());
    }
  }

  private static NDArray copy(NDArray a, NDManager scope) {
    NDArray c = a.duplicate();
    c.attach(scope);
    return c;
  }

  private static NDArray parameter(Block block, Parameter.Type type) {
    for (Parameter p : block.getParameters().values()) {
      if (p.getType() == type) {
        if (!p.isInitialized()) {
          throw new IllegalStateException("cannot fold an uninitialised " + block.getClass().getSimpleName());
        }
        return p.getArray();
      }
    }
    throw new IllegalStateException(block.getClass().getSimpleName() + " has no " + type + " parameter");
  }
}
