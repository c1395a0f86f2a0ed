package io.sepshield.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * An in-memory image data set: 8-bit pixels in CHW order per image, one label per image, one id per image
 * (file name or synthetic index). Pixels stay as bytes because every image we read or publish is 8-bit; tensors
 * in [0,1] are made per batch (see {@code io.sepshield.model.ImageTensors}).
 */
public final class LabeledImages {
  /** Label value for an image whose class is not known. */
  public static final int UNKNOWN_LABEL = -1;

  private final int channels;
  private final int height;
  private final int width;
  private final byte[] pixels;
  private final int[] labels;
  private final List<String> classNames;
  private final List<String> ids;

  public LabeledImages(int channels, int height, int width, byte[] pixels, int[] labels,
      List<String> classNames, List<String> ids) {
    if (channels <= 0 || height <= 0 || width <= 0) {
      throw new IllegalArgumentException("image shape must be positive: " + channels + "x" + height + "x" + width);
    }
    int n = labels.length;
    if ((long) n * channels * height * width != pixels.length) {
      throw new IllegalArgumentException("pixel buffer holds " + pixels.length + " bytes, expected " + n + " images of "
          + channels + "x" + height + "x" + width);
    }
    if (ids.size() != n) {
      throw new IllegalArgumentException(ids.size() + " ids for " + n + " images");
    }
    for (int label : labels) {
      if (label != UNKNOWN_LABEL && (label < 0 || label >= classNames.size())) {
        throw new IllegalArgumentException("label " + label + " outside 0.." + (classNames.size() - 1));
      }
    }
    this.channels = channels;
    this.height = height;
    this.width = width;
    this.pixels = pixels;
    this.labels = labels;
    this.classNames = List.copyOf(classNames);
    this.ids = List.copyOf(ids);
  }

  /** Ids "prefix-000000", "prefix-000001", ... for data sets without file names. */
  public static List<String> indexIds(String prefix, int n) {
    return Ids.index(prefix, n);
  }

  public int size() {
    return labels.length;
  }

  public int channels() {
    return channels;
  }

  public int height() {
    return height;
  }

  public int width() {
    return width;
  }

  public int imageBytes() {
    return channels * height * width;
  }

  public int numClasses() {
    return classNames.size();
  }

  public List<String> classNames() {
    return classNames;
  }

  public int label(int i) {
    return labels[i];
  }

  public int[] labels() {
    return labels.clone();
  }

  public String id(int i) {
    return ids.get(i);
  }

  public List<String> ids() {
    return ids;
  }

  /** A copy of image i's CHW bytes. */
  public byte[] image(int i) {
    int size = imageBytes();
    return Arrays.copyOfRange(pixels, i * size, (i + 1) * size);
  }

  /** The shared pixel buffer (N*C*H*W); callers must not modify it. */
  public byte[] rawPixels() {
    return pixels;
  }

  /**
   * Per class, the mean image in [0, 1]: K rows of C·H·W values, class k at [k·C·H·W, (k+1)·C·H·W). Unlabelled
   * images are left out.
   *
   * @throws IllegalStateException when a class has no image: its mean is undefined
   */
  public float[] classMeans() {
    int size = imageBytes();
    double[] sum = new double[numClasses() * size];
    int[] count = new int[numClasses()];
    for (int i = 0; i < labels.length; i++) {
      int k = labels[i];
      if (k == UNKNOWN_LABEL) {
        continue;
      }
      count[k]++;
      for (int j = 0; j < size; j++) {
        sum[k * size + j] += pixels[i * size + j] & 0xFF;
      }
    }
    float[] means = new float[sum.length];
    for (int k = 0; k < count.length; k++) {
      if (count[k] == 0) {
        throw new IllegalStateException("class " + k + " ('" + classNames.get(k) + "') has no image: no class mean");
      }
      for (int j = 0; j < size; j++) {
        means[k * size + j] = (float) (sum[k * size + j] / count[k] / 255.0);
      }
    }
    return means;
  }

  /** Images [from, to) as a new data set. */
  public LabeledImages slice(int from, int to) {
    Objects.checkFromToIndex(from, to, size());
    int size = imageBytes();
    return new LabeledImages(channels, height, width, Arrays.copyOfRange(pixels, from * size, to * size),
        Arrays.copyOfRange(labels, from, to), classNames, ids.subList(from, to));
  }

  /** The images at the given indices, in that order. */
  public LabeledImages select(int[] indices) {
    int size = imageBytes();
    byte[] out = new byte[indices.length * size];
    int[] outLabels = new int[indices.length];
    List<String> outIds = new ArrayList<>(indices.length);
    for (int j = 0; j < indices.length; j++) {
      int i = indices[j];
      System.arraycopy(pixels, i * size, out, j * size, size);
      outLabels[j] = labels[i];
      outIds.add(ids.get(i));
    }
    return new LabeledImages(channels, height, width, out, outLabels, classNames, outIds);
  }

  /** The same images (labels, ids, classes) with other pixels, e.g. their protected version. */
  public LabeledImages withPixels(byte[] newPixels) {
    return new LabeledImages(channels, height, width, newPixels, labels, classNames, ids);
  }

  /** The same pixels with other labels. */
  public LabeledImages withLabels(int[] newLabels) {
    return new LabeledImages(channels, height, width, pixels, newLabels.clone(), classNames, ids);
  }

  @Override
  public String toString() {
    return "LabeledImages[" + size() + " x " + channels + "x" + height + "x" + width + ", " + numClasses() + " classes]";
  }
}
