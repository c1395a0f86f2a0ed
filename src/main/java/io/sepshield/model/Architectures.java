package io.sepshield.model;

import ai.djl.nn.Block;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The classifier architectures by name. Every feature block takes normalised NCHW images of any channel count and
 * any size from 16x16 up, and ends in global average pooling to (N, featureDim); weights use DJL's default
 * initialisation, which for conv and linear weights is He (Kaiming) normal, N(0, 2/fan_in).
 */
public final class Architectures {
  private Architectures() {}

  /** A feature block and the length of the vector it yields per image. */
  record Features(Block block, int dim) {}

  private record Entry(String description, Supplier<Features> factory) {}

  private static final Map<String, Entry> REGISTRY = new LinkedHashMap<>();

  static {
    register("resnet8", "CIFAR ResNet-8 (He et al. 2016, 6n+2 with n=1), 16-32-64 filters, ~0.08M parameters;"
        + " the fast default protecting model on CPU", () -> ResNets.cifar(1));
    register("resnet20", "CIFAR ResNet-20 (He et al. 2016, 6n+2 with n=3), 16-32-64 filters, ~0.27M parameters",
        () -> ResNets.cifar(3));
    register("resnet18", "ResNet-18 for small images (3x3 stem, no max-pool), 64-512 filters, ~11.2M parameters",
        ResNets::resnet18);
    register("vgg11s", "VGG-11 with BatchNorm at half width (32-256 filters), ~2.3M parameters",
        Vgg::vgg11Half);
    register("densenet-s", "DenseNet-BC (Huang et al. 2017), growth rate 12, 3 blocks of 6 bottleneck layers,"
        + " ~0.18M parameters", DenseNets::bcSmall);
    register("googlenet-s", "small GoogLeNet (Szegedy et al. 2015) with BatchNorm, 4 Inception modules,"
        + " ~0.36M parameters", GoogLeNets::small);
  }

  private static void register(String name, String description, Supplier<Features> factory) {
    REGISTRY.put(name, new Entry(description, factory));
  }

  /** The registered names, in a stable order (smallest CIFAR ResNet first). */
  public static List<String> names() {
    return List.copyOf(REGISTRY.keySet());
  }

  /** A one-line description of the named architecture. */
  public static String description(String name) {
    return entry(name).description();
  }

  /**
   * A new, uninitialised classifier of the named architecture.
   *
   * @param channels image channels; {@code mean} and {@code std} need one value per channel
   * @param numClasses outputs of the linear head
   */
  public static FeatureClassifier create(String name, int channels, int numClasses, float[] mean, float[] std) {
    if (channels <= 0 || numClasses <= 0) {
      throw new IllegalArgumentException("channels and numClasses must be positive, got " + channels + " and "
          + numClasses);
    }
    if (mean.length != channels || std.length != channels) {
      throw new IllegalArgumentException("mean and std need " + channels + " values each, got " + mean.length
          + " and " + std.length);
    }
    Features features = entry(name).factory().get();
    return new FeatureClassifier(features.block(), features.dim(), numClasses, mean, std);
  }

  private static Entry entry(String name) {
    Entry entry = name == null ? null : REGISTRY.get(name);
    if (entry == null) {
      throw new IllegalArgumentException("unknown architecture '" + name + "'; valid: " + String.join(", ", names()));
    }
    return entry;
  }
}
