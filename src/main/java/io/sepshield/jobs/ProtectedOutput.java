package io.sepshield.jobs;

import io.sepshield.data.Idx;
import io.sepshield.data.IdxDataset;
import io.sepshield.data.ImageFolder;
import io.sepshield.data.LabeledImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a protected data set as lossless PNGs in class folders, or as IDX files like the input. */
public final class ProtectedOutput {
  private static final String IMAGES = "images-idx3-ubyte.gz";
  private static final String LABELS = "labels-idx1-ubyte.gz";
  private static final String CLASSES = "classes.txt";

  private ProtectedOutput() {}

  /** Reads back a set written with format "idx". */
  public static LabeledImages readIdx(Path dir, String idPrefix) throws IOException {
    return IdxDataset.load(dir.resolve(IMAGES), dir.resolve(LABELS), Files.readAllLines(dir.resolve(CLASSES)),
        idPrefix);
  }

  public static void write(LabeledImages images, Path dir, String format) throws IOException {
    Files.createDirectories(dir);
    switch (format) {
      case "png" -> ImageFolder.write(images, dir);
      case "idx" -> {
        Idx.writeImages(dir.resolve(IMAGES), images.channels(), images.height(), images.width(),
            images.rawPixels());
        Idx.writeLabels(dir.resolve(LABELS), images.labels());
        Files.write(dir.resolve(CLASSES), images.classNames());
      }
      default -> throw new IllegalArgumentException("unknown output format '" + format + "' (png, idx)");
    }
  }
}
