package io.sepshield.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.pooling.Pool;
import java.util.List;

/** DenseNet of Huang et al., "Densely Connected Convolutional Networks" (CVPR 2017). */
final class DenseNets {
  private static final int GROWTH_RATE = 12;
  private static final int DENSE_BLOCKS = 3;
  private static final int LAYERS_PER_BLOCK = 6;
  private static final double COMPRESSION = 0.5;

  private DenseNets() {}

  /**
   * A small DenseNet-BC in the paper's CIFAR layout: a 3x3 conv with 2k filters, three dense blocks of bottleneck
   * layers (k = 12) separated by transitions that compress channels by θ = 0.5 and halve the resolution, then BN,
   * ReLU and global average pooling. With 6 layers per block (depth 40) the features have
   * 24 + 72 → 48 + 72 → 60 + 72 = 132 channels.
   */
  static Architectures.Features bcSmall() {
    int channels = 2 * GROWTH_RATE;
    SequentialBlock net = new SequentialBlock().add(Layers.conv(channels, 3, 1));
    for (int block = 0; block < DENSE_BLOCKS; block++) {
      for (int layer = 0; layer < LAYERS_PER_BLOCK; layer++) {
        // Dense connectivity: each layer's k new feature maps are appended to everything before it.
        net.add(Layers.concatChannels(List.of(Blocks.identityBlock(), bottleneckLayer())));
        channels += GROWTH_RATE;
      }
      if (block < DENSE_BLOCKS - 1) {
        channels = (int) Math.floor(COMPRESSION * channels);
        net.add(transition(channels));
      }
    }
    net.add(Layers.bnRelu()).add(Layers.globalAvgPool());
    return new Architectures.Features(net, channels);
  }

  /** "B": BN-ReLU-Conv1x1 down to 4k channels before the BN-ReLU-Conv3x3 that produces the k new maps. */
  private static SequentialBlock bottleneckLayer() {
    return new SequentialBlock()
        .add(Layers.bnRelu())
        .add(Layers.conv(4 * GROWTH_RATE, 1, 1))
        .add(Layers.bnRelu())
        .add(Layers.conv(GROWTH_RATE, 3, 1));
  }

  /** "C": BN-ReLU-Conv1x1 to the compressed width, then 2x2 average pooling. */
  private static SequentialBlock transition(int outChannels) {
    Shape window = new Shape(2, 2);
    return new SequentialBlock()
        .add(Layers.bnRelu())
        .add(Layers.conv(outChannels, 1, 1))
        .add(Pool.avgPool2dBlock(window, window));
  }
}
