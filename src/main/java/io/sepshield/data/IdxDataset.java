package io.sepshield.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Loads and saves a {@link LabeledImages} as a pair of IDX files (see {@link Idx} for the format). */
public final class IdxDataset {
  private IdxDataset() {}

  /**
   * Loads images and labels from IDX files (plain or gzip).
   *
   * @param labelsPath labels file, or {@code null} for an unlabeled set (every label {@link LabeledImages#UNKNOWN_LABEL})
   * @param classNames class names in label order, or {@code null} for "0".."max label"
   * @param idPrefix ids become "prefix-000000", "prefix-000001", ...
   * @throws IOException when a file is missing or malformed, the counts differ, or a label has no class name
   */
  public static LabeledImages load(Path imagesPath, Path labelsPath, List<String> classNames, String idPrefix)
      throws IOException {
    Idx.Images images = Idx.readImages(imagesPath);
    int[] labels;
    if (labelsPath == null) {
      labels = new int[images.count()];
      Arrays.fill(labels, LabeledImages.UNKNOWN_LABEL);
    } else {
      labels = Idx.readLabels(labelsPath);
      if (labels.length != images.count()) {
        throw new IOException("count mismatch: " + imagesPath + " holds " + images.count() + " images but "
            + labelsPath + " holds " + labels.length + " labels");
      }
    }
    int maxLabel = Arrays.stream(labels).max().orElse(-1);
    List<String> names = classNames;
    if (names == null) {
      names = new ArrayList<>();
      for (int k = 0; k <= maxLabel; k++) {
        names.add(Integer.toString(k));
      }
    } else if (maxLabel >= names.size()) {
      throw new IOException(labelsPath + " contains label " + maxLabel + " but only " + names.size()
          + " class names were given");
    }
    return new LabeledImages(images.channels(), images.height(), images.width(), images.pixels(), labels, names,
        Ids.index(idPrefix, images.count()));
  }

  /**
   * Saves a data set as IDX files, gzip-compressed when a name ends in {@code .gz}. One channel gives the standard
   * {@code idx3-ubyte}; more channels give {@code idx4-ubyte} (N, C, H, W). Class names and ids are not stored.
   *
   * @param labelsPath where to write labels, or {@code null} to write images only
   * @throws IllegalArgumentException when labels are to be written but some are unknown (IDX cannot express that)
   */
  public static void save(LabeledImages data, Path imagesPath, Path labelsPath) throws IOException {
    if (labelsPath != null) {
      for (int i = 0; i < data.size(); i++) {
        if (data.label(i) == LabeledImages.UNKNOWN_LABEL) {
          throw new IllegalArgumentException("image " + i + " (" + data.id(i) + ") has no label; an IDX labels file"
              + " cannot express that, so save images only (labelsPath = null)");
        }
      }
      // Labels first: they are the part that can be rejected, and then no images file is left half-done.
      Idx.writeLabels(labelsPath, data.labels());
    }
    Idx.writeImages(imagesPath, data.channels(), data.height(), data.width(), data.rawPixels());
  }
}
