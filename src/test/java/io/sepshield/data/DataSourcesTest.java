package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataSourcesTest {
  @TempDir
  Path dir;

  private static int[] histogram(LabeledImages data) {
    int[] h = new int[data.numClasses()];
    for (int label : data.labels()) {
      h[label]++;
    }
    return h;
  }

  @Test
  void syntheticSpec() throws IOException {
    LabeledImages data = DataSources.load("synthetic:classes=4,per-class=50,size=16,channels=1,seed=7");
    assertEquals(200, data.size());
    assertEquals(List.of(1, 16, 16), List.of(data.channels(), data.height(), data.width()));
    assertArrayEquals(SyntheticImages.generate(4, 50, 1, 16, 16, 7).rawPixels(), data.rawPixels());

    LabeledImages other = DataSources.load("synthetic:seed=3,channels=3,size=8x12");
    assertEquals(List.of(200, 3, 8, 12), List.of(other.size(), other.channels(), other.height(), other.width()));
    assertEquals(200, DataSources.load("synthetic:").size());
  }

  @Test
  void idxSpecWithAndWithoutLabels() throws IOException {
    LabeledImages data = SyntheticImages.generate(3, 4, 1, 6, 6, 1);
    Path images = dir.resolve("images-idx3-ubyte.gz");
    Path labels = dir.resolve("labels-idx1-ubyte.gz");
    IdxDataset.save(data, images, labels);

    LabeledImages both = DataSources.load("idx:" + images + "," + labels);
    assertArrayEquals(data.rawPixels(), both.rawPixels());
    assertArrayEquals(data.labels(), both.labels());
    assertEquals(List.of("0", "1", "2"), both.classNames());
    assertEquals(10, DataSources.load("idx:" + images + "," + labels + ",classes=10").numClasses());

    LabeledImages imagesOnly = DataSources.load("idx:" + images);
    assertEquals(LabeledImages.UNKNOWN_LABEL, imagesOnly.label(0));
  }

  @Test
  void folderSpecWithOptions() throws IOException {
    Path root = dir.resolve("with,comma");
    ImageFolder.write(SyntheticImages.generate(2, 3, 3, 10, 10, 1), root);
    LabeledImages rgb = DataSources.load("folder:" + root);
    assertEquals(List.of(6, 3, 10, 10), List.of(rgb.size(), rgb.channels(), rgb.height(), rgb.width()));
    LabeledImages gray = DataSources.load("folder:" + root + ",channels=1,size=5");
    assertEquals(List.of(6, 1, 5, 5), List.of(gray.size(), gray.channels(), gray.height(), gray.width()));
  }

  @Test
  void fashionMnistSpecWithDirectory() throws IOException {
    LabeledImages small = SyntheticImages.generate(10, 1, 1, 28, 28, 1);
    IdxDataset.save(small, dir.resolve("train-images-idx3-ubyte.gz"), dir.resolve("train-labels-idx1-ubyte.gz"));
    LabeledImages data = DataSources.load("fashion-mnist:train@" + dir);
    assertEquals(10, data.size());
    assertEquals("Trouser", data.classNames().get(1));
    assertEquals("train-000003", data.id(3));

    IOException e = assertThrows(IOException.class, () -> DataSources.load("fashion-mnist:test@" + dir));
    assertTrue(e.getMessage().contains("dataset-fashion-mnist"));
  }

  @Test
  void fashionMnistSpecDefaultDirectory() throws IOException {
    assumeTrue(FashionMnist.isAvailable("test", FashionMnist.DEFAULT_DIR), "Fashion-MNIST not installed");
    assertEquals(10_000, DataSources.load("fashion-mnist:test").size());
  }

  @Test
  void badSpecsAreRejectedWithUsage() {
    for (String spec : new String[] {"nonsense", "mnist:train", "fashion-mnist:valid", "fashion-mnist:train@",
        "synthetic:classes=x", "synthetic:colour=3", "synthetic:classes=0", "synthetic:size=3x", "synthetic:seed=1,seed=2",
        "synthetic:junk", "idx:", "idx:a,b,c", "folder:", "folder:/x,channels=2"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DataSources.load(spec), spec);
      assertTrue(e.getMessage().contains(spec) || spec.equals("folder:/x,channels=2"), e.getMessage());
    }
  }

  @Test
  void firstNTakesAPrefix() {
    LabeledImages data = SyntheticImages.generate(3, 5, 1, 4, 4, 1);
    LabeledImages first = DataSources.firstN(data, 4);
    assertEquals(data.ids().subList(0, 4), first.ids());
    assertSame(data, DataSources.firstN(data, 100));
    assertEquals(0, DataSources.firstN(data, 0).size());
    assertThrows(IllegalArgumentException.class, () -> DataSources.firstN(data, -1));
  }

  @Test
  void excludingKeepsTheRestOfASourceInItsOrder() {
    LabeledImages data = SyntheticImages.generate(3, 5, 1, 4, 4, 1);
    LabeledImages taken = DataSources.balancedSubset(data, 6, 2);
    LabeledImages rest = DataSources.excluding(data, taken);
    assertEquals(9, rest.size());
    assertTrue(java.util.Collections.disjoint(rest.ids(), taken.ids()));
    java.util.List<String> ids = new java.util.ArrayList<>(data.ids());
    ids.removeAll(taken.ids());
    assertEquals(ids, rest.ids());
    assertArrayEquals(data.image(data.ids().indexOf(rest.id(0))), rest.image(0));
  }

  @Test
  void balancedSubsetIsStratifiedSeededAndOrdered() {
    // Unbalanced input: class 0 has 30 images, class 1 has 12, class 2 has only 3.
    LabeledImages base = SyntheticImages.generate(1, 45, 1, 4, 4, 1);
    int[] labels = new int[45];
    for (int i = 0; i < 45; i++) {
      labels[i] = i < 30 ? 0 : i < 42 ? 1 : 2;
    }
    LabeledImages data = new LabeledImages(1, 4, 4, base.rawPixels(), labels, List.of("a", "b", "c"), base.ids());

    LabeledImages sub = DataSources.balancedSubset(data, 21, 5);
    assertArrayEquals(new int[] {9, 9, 3}, histogram(sub), "the small class gives its share to the others");
    LabeledImages again = DataSources.balancedSubset(data, 21, 5);
    assertEquals(sub.ids(), again.ids(), "same seed, same subset");
    assertNotEquals(sub.ids(), DataSources.balancedSubset(data, 21, 6).ids());
    for (int j = 1; j < sub.size(); j++) {
      assertTrue(data.ids().indexOf(sub.id(j - 1)) < data.ids().indexOf(sub.id(j)), "original order kept");
    }
    int[] h = histogram(DataSources.balancedSubset(data, 8, 1));
    assertEquals(8, h[0] + h[1] + h[2]);
    assertTrue(Math.max(h[0], Math.max(h[1], h[2])) - Math.min(h[0], Math.min(h[1], h[2])) <= 1);
    assertSame(data, DataSources.balancedSubset(data, 45, 1));
    assertThrows(IllegalArgumentException.class, () -> DataSources.balancedSubset(data, -1, 1));
  }
}
