package io.sepshield.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;

/** Residual networks of He et al., "Deep Residual Learning for Image Recognition" (CVPR 2016). */
final class ResNets {
  private ResNets() {}

  /**
   * The CIFAR family of the paper's §4.2: 6n+2 layers, a 3x3 conv with 16 filters, then three stages of n
   * BasicBlocks with 16, 32 and 64 filters (the last two starting with stride 2), global average pooling.
   * Shortcuts are identities everywhere ("option A"): where a stage halves the resolution and doubles the width,
   * the input is subsampled and zero-padded, which keeps the family's parameter counts (0.27M for n=3).
   */
  static Architectures.Features cifar(int n) {
    SequentialBlock net = new SequentialBlock().add(Layers.convBnRelu(16, 3, 1));
    int in = 16;
    for (int stage = 0; stage < 3; stage++) {
      int width = 16 << stage;
      for (int i = 0; i < n; i++) {
        int stride = stage > 0 && i == 0 ? 2 : 1;
        Block shortcut = stride == 1 ? Blocks.identityBlock() : subsampleAndZeroPad(width - in);
        net.add(basicBlock(width, stride, shortcut));
        in = width;
      }
    }
    net.add(Layers.globalAvgPool());
    return new Architectures.Features(net, 64);
  }

  /**
   * ResNet-18 adapted to small images in the usual way: the 7x7/2 stem and its max-pool are replaced by one 3x3/1
   * conv, so 32x32 inputs keep their resolution until the first strided stage. Stages of two BasicBlocks with
   * 64/128/256/512 filters and strides 1/2/2/2; where the shape changes, the shortcut is a 1x1 conv + BN
   * projection ("option B").
   */
  static Architectures.Features resnet18() {
    SequentialBlock net = new SequentialBlock().add(Layers.convBnRelu(64, 3, 1));
    int in = 64;
    int[] widths = {64, 128, 256, 512};
    for (int stage = 0; stage < widths.length; stage++) {
      int width = widths[stage];
      for (int i = 0; i < 2; i++) {
        int stride = stage > 0 && i == 0 ? 2 : 1;
        Block shortcut = stride == 1 && in == width
            ? Blocks.identityBlock()
            : new SequentialBlock().add(Layers.conv(width, 1, stride)).add(Layers.batchNorm());
        net.add(basicBlock(width, stride, shortcut));
        in = width;
      }
    }
    net.add(Layers.globalAvgPool());
    return new Architectures.Features(net, 512);
  }

  /** Two 3x3 convs with BN, the first possibly strided, added to the shortcut before the final ReLU. */
  private static Block basicBlock(int width, int stride, Block shortcut) {
    SequentialBlock main = new SequentialBlock()
        .add(Layers.conv(width, 3, stride))
        .add(Layers.batchNorm())
        .add(Activation.reluBlock())
        .add(Layers.conv(width, 3, 1))
        .add(Layers.batchNorm());
    return Layers.residual(main, shortcut);
  }

  /**
   * Option-A shortcut for a stride-2 block: keeps every second row and column (ceil(H/2), the same size a padded
   * stride-2 3x3 conv yields for any H) and appends {@code extraChannels} zero channels. It has no parameters.
   */
  private static Block subsampleAndZeroPad(int extraChannels) {
    return LambdaBlock.singleton(x -> {
      NDArray sub = x.get(":, :, ::2, ::2");
      Shape s = sub.getShape();
      NDArray zeros = x.getManager()
          .zeros(new Shape(s.get(0), extraChannels, s.get(2), s.get(3)), x.getDataType(), x.getDevice());
      return sub.concat(zeros, 1);
    }, "subsampleAndZeroPad");
  }
}
