package io.sepshield.model;

import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.LambdaBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.pooling.Pool;

/** VGG of Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition" (ICLR 2015). */
final class Vgg {
  /** Marks a 2x2 max-pool in a configuration. */
  private static final int POOL = 0;

  /** Configuration "A" (VGG-11) with every width halved. */
  private static final int[] VGG11_HALF = {32, POOL, 64, POOL, 128, 128, POOL, 256, 256, POOL, 256, 256, POOL};

  private Vgg() {}

  /**
   * VGG-11 with BatchNorm after every conv, at half width. As in the CIFAR adaptations of VGG, the three
   * fully-connected layers are dropped: global average pooling feeds the classifier's single linear head directly.
   */
  static Architectures.Features vgg11Half() {
    SequentialBlock net = new SequentialBlock();
    int width = 0;
    for (int layer : VGG11_HALF) {
      if (layer == POOL) {
        net.add(maxPoolUnlessTooSmall());
      } else {
        net.add(Layers.convBnRelu(layer, 3, 1));
        width = layer;
      }
    }
    net.add(Layers.globalAvgPool());
    return new Architectures.Features(net, width);
  }

  /**
   * 2x2/2 max-pool, skipped when it would leave a side shorter than 2: five pools need 32x32 inputs, and this lets
   * the same network take 28x28 (MNIST) or 16x16 images, pooling as often as their size allows.
   */
  private static Block maxPoolUnlessTooSmall() {
    Shape window = new Shape(2, 2);
    return LambdaBlock.singleton(x -> {
      Shape s = x.getShape();
      return s.get(2) < 4 || s.get(3) < 4 ? x : Pool.maxPool2d(x, window, window, new Shape(0, 0), false);
    }, "maxPoolUnlessTooSmall");
  }
}
