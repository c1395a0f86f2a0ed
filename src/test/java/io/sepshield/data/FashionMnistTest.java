package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {
  private static int[] histogram(LabeledImages data) {
    int[] h = new int[data.numClasses()];
    for (int label : data.labels()) {
      h[label]++;
    }
    return h;
  }

  @Test
  void loadsTheRealTrainAndTestSplitsWhenInstalled() throws IOException {
    assumeTrue(FashionMnist.isAvailable("train", FashionMnist.DEFAULT_DIR)
        && FashionMnist.isAvailable("test", FashionMnist.DEFAULT_DIR),
        "Fashion-MNIST not installed in " + FashionMnist.DEFAULT_DIR + " (Debian package dataset-fashion-mnist)");

    LabeledImages train = FashionMnist.load("train");
    assertEquals(60_000, train.size());
    assertEquals(1, train.channels());
    assertEquals(28, train.height());
    assertEquals(28, train.width());
    assertEquals(FashionMnist.CLASS_NAMES, train.classNames());
    int[] expected = new int[10];
    java.util.Arrays.fill(expected, 6000);
    assertArrayEquals(expected, histogram(train));
    assertEquals("train-000123", train.id(123));
    // The first training image is an ankle boot; its pixels are not all background.
    assertEquals(9, train.label(0));
    int max = 0;
    for (byte b : train.image(0)) {
      max = Math.max(max, b & 0xFF);
    }
    assertTrue(max > 200);

    LabeledImages test = FashionMnist.load("test", FashionMnist.DEFAULT_DIR);
    assertEquals(10_000, test.size());
    java.util.Arrays.fill(expected, 1000);
    assertArrayEquals(expected, histogram(test));
    assertEquals("test-009999", test.id(9999));
  }

  @Test
  void acceptsUncompressedFileNames(@TempDir Path dir) throws IOException {
    LabeledImages small = SyntheticImages.generate(10, 2, 1, 28, 28, 3);
    IdxDataset.save(small, dir.resolve("t10k-images-idx3-ubyte"), dir.resolve("t10k-labels-idx1-ubyte"));
    assertTrue(FashionMnist.isAvailable("test", dir));
    assertFalse(FashionMnist.isAvailable("train", dir));
    LabeledImages test = FashionMnist.load("test", dir);
    assertArrayEquals(small.rawPixels(), test.rawPixels());
    assertArrayEquals(small.labels(), test.labels());
    assertEquals("T-shirt/top", test.classNames().get(0));
    assertEquals("Ankle boot", test.classNames().get(9));
    assertEquals("test-000000", test.id(0));
  }

  @Test
  void missingFilesGiveAHelpfulMessage(@TempDir Path dir) {
    FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> FashionMnist.load("train", dir));
    assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("dataset-fashion-mnist"), e.getMessage());
    assertTrue(e.getMessage().contains("train-images-idx3-ubyte.gz"), e.getMessage());
  }

  @Test
  void unknownSplitIsRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FashionMnist.load("valid"));
    assertTrue(e.getMessage().contains("'train' or 'test'"));
  }
}
