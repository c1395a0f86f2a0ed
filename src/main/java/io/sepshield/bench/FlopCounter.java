package io.sepshield.bench;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.convolutional.Convolution;
import ai.djl.nn.core.Linear;

/**
 * Multiply-accumulates of a model's convolutions and linear layers, counted by walking its DJL blocks with their
 * output shapes (the models here are built from sequential and parallel blocks only). Element-wise layers
 * (BatchNorm, ReLU, pooling, additions) are not counted: on these models they are a few per cent of the MACs.
 *
 * <p>A crafting pass is a forward and a backward pass for the input gradient with frozen weights: the backward pass
 * of a conv or linear layer then computes only the data gradient, which costs the same MACs as its forward pass (no
 * weight gradient). So one pass is counted as 2 × forward MACs × 2 FLOPs, i.e. 2 × the forward FLOPs, not the
 * 3 × usual for training.
 */
public final class FlopCounter {
  private long macs;

  private FlopCounter() {}

  /** Forward MACs for ONE image of shape {@code chw} (C, H, W). The block must be initialised. */
  public static long forwardMacsPerImage(Block model, long[] chw) {
    FlopCounter counter = new FlopCounter();
    counter.walk(model, new Shape(1, chw[0], chw[1], chw[2]));
    return counter.macs;
  }

  /** FLOPs of one forward+backward pass for the input gradient, per image (see the class comment). */
  public static double passFlopsPerImage(Block model, long[] chw) {
    return 2.0 * 2.0 * forwardMacsPerImage(model, chw);
  }

  private Shape walk(Block block, Shape in) {
    if (block instanceof Convolution conv) {
      Shape out = conv.getOutputShapes(new Shape[] {in})[0];
      Shape w = conv.getParameters().get("weight").getArray().getShape(); // (out, in/groups, kh, kw)
      macs += out.size() * (w.size() / w.get(0));
      return out;
    }
    if (block instanceof Linear linear) {
      Shape out = linear.getOutputShapes(new Shape[] {in})[0];
      macs += out.size() * in.get(in.dimension() - 1);
      return out;
    }
    if (block instanceof ParallelBlock) {
      for (Block branch : block.getChildren().values()) {
        walk(branch, in);
      }
      return block.getOutputShapes(new Shape[] {in})[0];
    }
    if (!block.getChildren().isEmpty()) {
      // Sequential blocks, and the classifier (features, then head): children in order, each on the last output.
      Shape s = in;
      for (Block child : block.getChildren().values()) {
        s = walk(child, s);
      }
      return s;
    }
    return block.getOutputShapes(new Shape[] {in})[0];
  }
}
