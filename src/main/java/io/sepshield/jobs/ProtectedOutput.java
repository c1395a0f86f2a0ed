package io.sepshield.jobs;

import io.sepshield.data.Idx;
import io.sepshield.data.ImageFolder;
import io.sepshield.data.LabeledImages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes a protected data set as lossless PNGs in class folders, or as IDX files like the input. */
public final class ProtectedOutput {
  private ProtectedOutput() {}

  public static void write(LabeledImages images, Path dir, String format) throws IOException {
    Files.createDirectories(dir);
    switch (format) {
      case "png" -> ImageFolder.write(images, dir);
      case "idx" -> {
        Idx.writeImages(dir.resolve("images-idx3-ubyte.gz"), images.channels(), images.height(), images.width(),
            images.rawPixels());
        Idx.writeLabels(dir.resolve("labels-idx1-ubyte.gz"), images.labels());
        Files.write(dir.resolve("classes.txt"), images.classNames());
      }
      default -> throw new IllegalArgumentException("unknown output format '" + format + "' (png, idx)");
    }
  }
}
