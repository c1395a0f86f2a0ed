package io.sepshield.model;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.sepshield.model.ModelParams.IncompatibleParametersException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class ModelParamsTest {
  private static final int CLASSES = 10;

  private NDManager manager;

  @BeforeEach
  void openManager() {
    manager = DjlRuntime.engine().newBaseManager();
  }

  @AfterEach
  void closeManager() {
    manager.close();
  }

  /**
   * An initialised model whose BatchNorm running statistics have moved off their initial values, so that a round
   * trip only gives identical logits if they are saved too.
   */
  private FeatureClassifier trainedLooking(String name, int channels) {
    FeatureClassifier model = ArchitecturesTest.create(name, channels, CLASSES);
    model.initialize(manager, DataType.FLOAT32, new Shape(1, channels, 16, 16));
    model.logits(new ParameterStore(manager, false), images(4, channels), true);
    return model;
  }

  private NDArray images(int n, int channels) {
    return manager.randomUniform(0, 1, new Shape(n, channels, 16, 16));
  }

  private float[] logits(FeatureClassifier model, NDArray x) {
    return model.logits(new ParameterStore(manager, false), x, false).toFloatArray();
  }

  @ParameterizedTest
  @MethodSource("io.sepshield.model.ArchitecturesTest#architectures")
  void roundTripIntoFreshInstanceGivesIdenticalLogits(String name) throws IOException {
    FeatureClassifier original = trainedLooking(name, 3);
    NDArray x = images(2, 3);
    float[] expected = logits(original, x);

    FeatureClassifier copy = ArchitecturesTest.create(name, 3, CLASSES);
    ModelParams.load(copy, manager, ModelParams.toBytes(original));

    assertArrayEquals(expected, logits(copy, x));
    // Loaded weights stay trainable: the arrays must track gradients like freshly initialised ones.
    Parameter first = copy.getParameters().valueAt(0);
    assertTrue(first.requiresGradient() && first.getArray().hasGradient());
  }

  @Test
  void roundTripThroughFile(@TempDir Path dir) throws IOException {
    FeatureClassifier original = trainedLooking("resnet8", 1);
    NDArray x = images(2, 1);
    Path file = dir.resolve("resnet8.params");
    ModelParams.save(original, file);

    FeatureClassifier copy = ArchitecturesTest.create("resnet8", 1, CLASSES);
    ModelParams.load(copy, manager, file);
    assertArrayEquals(logits(original, x), logits(copy, x));
  }

  @Test
  void anotherArchitectureIsRefusedAndLeavesFreshTargetUninitialised() {
    byte[] resnet20 = ModelParams.toBytes(trainedLooking("resnet20", 3));
    FeatureClassifier resnet8 = ArchitecturesTest.create("resnet8", 3, CLASSES);

    var e = assertThrows(IncompatibleParametersException.class, () -> ModelParams.load(resnet8, manager, resnet20));
    assertTrue(e.getMessage().contains("another architecture"), e.getMessage());
    assertFalse(resnet8.isInitialized());

    // Same feature size but different layers the other way round.
    byte[] resnet8Bytes = ModelParams.toBytes(trainedLooking("resnet8", 3));
    assertThrows(IncompatibleParametersException.class,
        () -> ModelParams.load(ArchitecturesTest.create("resnet20", 3, CLASSES), manager, resnet8Bytes));
  }

  @Test
  void refusalLeavesInitialisedTargetUnchanged() {
    byte[] googlenet = ModelParams.toBytes(trainedLooking("googlenet-s", 3));
    FeatureClassifier vgg = trainedLooking("vgg11s", 3); // featureDim 256 like googlenet-s
    NDArray x = images(2, 3);
    float[] before = logits(vgg, x);

    var e = assertThrows(IncompatibleParametersException.class, () -> ModelParams.load(vgg, manager, googlenet));
    assertTrue(e.getMessage().contains("another architecture"), e.getMessage());
    assertArrayEquals(before, logits(vgg, x));
  }

  @Test
  void otherChannelsClassesOrNormalisationAreRefused() {
    byte[] saved = ModelParams.toBytes(trainedLooking("resnet8", 3));
    float[] half = {0.5f, 0.5f, 0.5f};

    var channels = assertThrows(IncompatibleParametersException.class,
        () -> ModelParams.load(ArchitecturesTest.create("resnet8", 1, CLASSES), manager, saved));
    assertTrue(channels.getMessage().contains("3 channels"), channels.getMessage());
    assertThrows(IncompatibleParametersException.class,
        () -> ModelParams.load(ArchitecturesTest.create("resnet8", 3, 2), manager, saved));
    assertThrows(IncompatibleParametersException.class,
        () -> ModelParams.load(Architectures.create("resnet8", 3, CLASSES, half, half), manager, saved));
  }

  @Test
  void garbageAndTruncatedDataGiveIoExceptions() {
    FeatureClassifier target = ArchitecturesTest.create("resnet8", 3, CLASSES);
    var garbage = assertThrows(IOException.class, () -> ModelParams.load(target, manager, new byte[64]));
    assertTrue(garbage.getMessage().contains("not a SEP Shield parameter file"), garbage.getMessage());

    byte[] saved = ModelParams.toBytes(trainedLooking("resnet8", 3));
    byte[] truncated = Arrays.copyOf(saved, saved.length - 100);
    var e = assertThrows(IOException.class, () -> ModelParams.load(target, manager, truncated));
    assertFalse(e instanceof IncompatibleParametersException);
    assertFalse(target.isInitialized());
  }

  @Test
  void uninitialisedModelCannotBeSaved() {
    assertThrows(IllegalStateException.class,
        () -> ModelParams.toBytes(ArchitecturesTest.create("resnet8", 3, CLASSES)));
  }
}
