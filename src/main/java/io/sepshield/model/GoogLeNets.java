package io.sepshield.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.pooling.Pool;
import java.util.List;

/** GoogLeNet of Szegedy et al., "Going Deeper with Convolutions" (CVPR 2015). */
final class GoogLeNets {
  private GoogLeNets() {}

  /**
   * A small GoogLeNet for low-resolution images: a 3x3 stem instead of the 7x7/2 stem and its pools, two Inception
   * modules at full resolution, a 3x3/2 max-pool, two more modules, global average pooling. The modules have half
   * the widths of the paper's 3a, 3b, 4a and 4b. Every conv is followed by BN and ReLU (BN postdates the paper, but
   * trains far more reliably from scratch).
   */
  static Architectures.Features small() {
    Inception last = new Inception(80, 56, 112, 12, 32, 32);
    SequentialBlock net = new SequentialBlock()
        .add(Layers.convBnRelu(64, 3, 1))
        .add(new Inception(32, 48, 64, 8, 16, 16).block())
        .add(new Inception(64, 64, 96, 16, 48, 32).block())
        .add(Pool.maxPool2dBlock(new Shape(3, 3), new Shape(2, 2), new Shape(1, 1)))
        .add(new Inception(96, 48, 104, 8, 24, 32).block())
        .add(last.block())
        .add(Layers.globalAvgPool());
    return new Architectures.Features(net, last.outChannels());
  }

  /**
   * An Inception module: four parallel branches concatenated along channels, 1x1; 1x1 → 3x3; 1x1 → 3x3 → 3x3 (two
   * 3x3 convs cover the paper's 5x5 field with fewer weights, as in Inception v2); and 3x3 max-pool → 1x1.
   */
  private record Inception(int n1x1, int reduce3x3, int n3x3, int reduce5x5, int n5x5, int poolProjection) {
    int outChannels() {
      return n1x1 + n3x3 + n5x5 + poolProjection;
    }

    Block block() {
      Block pool = Pool.maxPool2dBlock(new Shape(3, 3), new Shape(1, 1), new Shape(1, 1));
      return Layers.concatChannels(List.of(
          Layers.convBnRelu(n1x1, 1, 1),
          new SequentialBlock().add(Layers.convBnRelu(reduce3x3, 1, 1)).add(Layers.convBnRelu(n3x3, 3, 1)),
          new SequentialBlock()
              .add(Layers.convBnRelu(reduce5x5, 1, 1))
              .add(Layers.convBnRelu(n5x5, 3, 1))
              .add(Layers.convBnRelu(n5x5, 3, 1)),
          new SequentialBlock().add(pool).add(Layers.convBnRelu(poolProjection, 1, 1))));
    }
  }
}
