package io.sepshield.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

class ArchitecturesTest {
  private static final int CLASSES = 10;

  static FeatureClassifier create(String name, int channels, int classes) {
    float[] mean = new float[channels];
    float[] std = new float[channels];
    Arrays.fill(mean, 0.5f);
    Arrays.fill(std, 0.25f);
    return Architectures.create(name, channels, classes, mean, std);
  }

  static List<String> architectures() {
    return Architectures.names();
  }

  /** Every architecture on MNIST- and CIFAR-shaped images. */
  static Stream<Arguments> architecturesAndImageShapes() {
    List<int[]> shapes = List.of(new int[] {1, 28, 28}, new int[] {3, 32, 32});
    return Architectures.names().stream()
        .flatMap(name -> shapes.stream().map(s -> Arguments.of(name, s[0], s[1], s[2])));
  }

  @ParameterizedTest(name = "{0} on {1}x{2}x{3}")
  @MethodSource("architecturesAndImageShapes")
  void shapesInputGradientsAndBatchIndependence(String name, int c, int h, int w) {
    Engine engine = DjlRuntime.engine();
    try (NDManager m = engine.newBaseManager()) {
      FeatureClassifier model = create(name, c, CLASSES);
      model.initialize(m, DataType.FLOAT32, new Shape(2, c, h, w));
      ParameterStore ps = new ParameterStore(m, false);
      // A training-mode pass moves the BatchNorm running statistics off their (0, 1) start, so that the eval-mode
      // checks below depend on them being used.
      model.logits(ps, m.randomUniform(0, 1, new Shape(4, c, h, w)), true);
      model.freezeParameters(true);

      NDArray x = m.randomUniform(0, 1, new Shape(3, c, h, w));
      x.setRequiresGradient(true);
      NDArray logits;
      // Through Gradients, as every production gradient: its backward path is DjlRuntime's CPU convolution setting.
      try (GradientCollector gc = Gradients.collector(engine)) {
        logits = model.logits(ps, x, false);
        gc.backward(logits.get(":, 0").sum());
      }
      assertEquals(new Shape(3, CLASSES), logits.getShape());
      NDArray g = x.getGradient();
      assertEquals(x.getShape(), g.getShape());
      assertFalse(g.isNaN().any().getBoolean() || g.isInfinite().any().getBoolean(), "gradient not finite");
      float[] perImage = g.abs().sum(new int[] {1, 2, 3}).toFloatArray();
      for (float v : perImage) {
        assertTrue(v > 0, "zero input gradient for an image: " + Arrays.toString(perImage));
      }

      assertEquals(new Shape(3, model.featureDim()), model.features(ps, x, false).getShape());

      // Eval mode must not mix images: BatchNorm uses running statistics, not the batch's.
      NDArray alone = model.logits(ps, x.get("1:2"), false);
      assertClose(logits.get("1:2").toFloatArray(), alone.toFloatArray());
    }
  }

  /** The smallest side the feature blocks must take, with an odd other side and an unusual channel count. */
  @ParameterizedTest
  @MethodSource("architectures")
  void smallOddlyShapedImages(String name) {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      FeatureClassifier model = create(name, 2, CLASSES);
      Shape shape = new Shape(2, 2, 16, 23);
      model.initialize(m, DataType.FLOAT32, shape);
      NDArray features = model.features(new ParameterStore(m, false), m.randomUniform(0, 1, shape), false);
      assertEquals(new Shape(2, model.featureDim()), features.getShape());
    }
  }

  /**
   * Counts for 3 channels and 10 classes, BatchNorm running statistics excluded. The standard networks match their
   * published layouts exactly: 0.27M for ResNet-20 with option-A shortcuts, 11.17M for CIFAR ResNet-18, and
   * 2,310,186 for half-width VGG-11-BN (2,304,864 conv weights, 2,752 BN, 2,570 head).
   */
  @ParameterizedTest(name = "{0}: {1}..{2}")
  @CsvSource({
      "resnet8, 75290, 75290",
      "resnet20, 269722, 269722",
      "resnet18, 11173962, 11173962",
      "vgg11s, 2310186, 2310186",
      "densenet-s, 150000, 200000",
      "googlenet-s, 300000, 400000"})
  void parameterCounts(String name, long min, long max) {
    try (NDManager m = DjlRuntime.engine().newBaseManager()) {
      FeatureClassifier model = create(name, 3, CLASSES);
      model.initialize(m, DataType.FLOAT32, new Shape(1, 3, 32, 32));
      long count = ModelParams.countTrainable(model);
      assertTrue(count >= min && count <= max, name + " has " + count + " parameters");
    }
  }

  @Test
  void unknownNameListsValidOnes() {
    var e = assertThrows(IllegalArgumentException.class, () -> create("resnet50", 3, CLASSES));
    for (String name : Architectures.names()) {
      assertTrue(e.getMessage().contains(name), e.getMessage());
    }
  }

  @Test
  void everyArchitectureIsDescribed() {
    assertEquals(List.of("resnet8", "resnet20", "resnet18", "vgg11s", "densenet-s", "googlenet-s"),
        Architectures.names());
    for (String name : Architectures.names()) {
      assertFalse(Architectures.description(name).isBlank());
    }
  }

  @Test
  void normalisationMustMatchChannels() {
    assertThrows(IllegalArgumentException.class,
        () -> Architectures.create("resnet8", 3, CLASSES, new float[] {0.5f}, new float[] {0.25f}));
  }

  private static void assertClose(float[] expected, float[] actual) {
    float scale = 1;
    for (float v : expected) {
      scale = Math.max(scale, Math.abs(v));
    }
    assertArrayEquals(expected, actual, 1e-4f * scale);
  }
}
