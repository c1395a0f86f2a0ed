package io.sepshield.data;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The Fashion-MNIST data set (Xiao et al., 2017): 28x28 grayscale clothing images in 10 classes, 60000 for training
 * and 10000 for testing, read from the original IDX files. Ids are "train-000123" or "test-000123", the index in the
 * split.
 */
public final class FashionMnist {
  /** Where the Debian package {@code dataset-fashion-mnist} installs the files. */
  public static final Path DEFAULT_DIR = Path.of("/usr/share/datasets/fashion-mnist");

  /** The official class names, in label order. */
  public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

  private FashionMnist() {}

  /** Loads "train" or "test" from {@link #DEFAULT_DIR}. */
  public static LabeledImages load(String split) throws IOException {
    return load(split, DEFAULT_DIR);
  }

  /**
   * Loads "train" or "test" from a directory holding {@code train-images-idx3-ubyte.gz},
   * {@code train-labels-idx1-ubyte.gz}, {@code t10k-images-idx3-ubyte.gz}, {@code t10k-labels-idx1-ubyte.gz}
   * (each may also be un-gzipped, without the {@code .gz}).
   *
   * @throws FileNotFoundException naming the directory and the Debian package when the files are not there
   */
  public static LabeledImages load(String split, Path dir) throws IOException {
    String prefix = filePrefix(split);
    Path images = find(dir, prefix + "-images-idx3-ubyte", split);
    Path labels = find(dir, prefix + "-labels-idx1-ubyte", split);
    return IdxDataset.load(images, labels, CLASS_NAMES, split);
  }

  /** Whether both files of the split are present in the directory. */
  public static boolean isAvailable(String split, Path dir) {
    String prefix = filePrefix(split);
    return existing(dir, prefix + "-images-idx3-ubyte") != null && existing(dir, prefix + "-labels-idx1-ubyte") != null;
  }

  private static String filePrefix(String split) {
    return switch (split) {
      case "train" -> "train";
      case "test" -> "t10k";
      default -> throw new IllegalArgumentException("unknown Fashion-MNIST split '" + split
          + "', expected 'train' or 'test'");
    };
  }

  private static Path existing(Path dir, String baseName) {
    for (String name : List.of(baseName + ".gz", baseName)) {
      Path p = dir.resolve(name);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    return null;
  }

  private static Path find(Path dir, String baseName, String split) throws FileNotFoundException {
    Path p = existing(dir, baseName);
    if (p == null) {
      throw new FileNotFoundException("Fashion-MNIST " + split + " split not found: " + dir + " has neither "
          + baseName + ".gz nor " + baseName + ". Install the Debian package dataset-fashion-mnist (files go to "
          + DEFAULT_DIR + ") or point to a directory holding the original IDX files.");
    }
    return p;
  }
}
