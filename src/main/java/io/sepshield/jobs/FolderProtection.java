package io.sepshield.jobs;

import io.sepshield.data.DecodedUpload;
import io.sepshield.data.ImageFolder;
import io.sepshield.data.ImageFormatException;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.UploadDecoder;
import io.sepshield.report.Progress;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.sep.ProtectedBatch;
import io.sepshield.sep.Protector;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Protects an image folder at each file's own size and colour: every file is decoded as an upload
 * ({@link UploadDecoder}: EXIF orientation applied, alpha kept aside, metadata per the keep-list), files of one shape
 * are crafted together in batches bounded by images and by pixels, and each result is written as a lossless PNG
 * under the same relative path (extension .png), alpha re-attached. Files that cannot be decoded are skipped with
 * their reason, never silently.
 *
 * <p>Decoded images of one shape wait in memory until their group is crafted; a folder is read in chunks of
 * {@code maxPendingPixels} so a large folder of mixed sizes does not hold every image at once.
 */
public final class FolderProtection {

  /** A file that was not protected, and why. */
  public record Skipped(String id, ImageFormatException.Kind kind, String reason) {}

  /**
   * @param megapixels colour pixels protected, in millions (width × height, summed)
   * @param maxAbsDelta max |δ| over every written pixel and channel, in 8-bit levels
   */
  public record Summary(int images, double seconds, double megapixels, int maxAbsDelta, double meanAbsDelta,
      int predictedLabels, int shapes, List<Skipped> skipped) {

    public String describe() {
      return String.format(Locale.ROOT, "protected %d images (%d shapes, %.2f megapixels) in %.1f s: %.2f images/s, "
          + "%.2f s per megapixel; |δ| mean %.2f/255, max %d/255; %d pseudo-labels; %d skipped", images, shapes,
          megapixels, seconds, images / seconds, seconds / Math.max(megapixels, 1e-9), meanAbsDelta, maxAbsDelta,
          predictedLabels, skipped.size());
    }
  }

  private final PrintStream log;

  public FolderProtection(PrintStream log) {
    this.log = log;
  }

  /**
   * @param maxBatchImages at most this many images crafted together
   * @param maxBatchPixels at most this many colour pixels (C·H·W summed) crafted together; a larger image goes alone
   */
  public Summary run(Protector protector, Path root, Path out, UploadDecoder.Options options, boolean unlabeled,
      int maxBatchImages, long maxBatchPixels) throws IOException {
    ImageFolder.Listing listing = ImageFolder.list(root);
    Files.createDirectories(out);
    if (Files.isRegularFile(root.resolve(ImageFolder.CLASSES_FILE))) {
      Files.copy(root.resolve(ImageFolder.CLASSES_FILE), out.resolve(ImageFolder.CLASSES_FILE),
          java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    // A folder without class folders holds unlabeled images only: their pseudo-labels index the bundle's classes.
    List<String> classNames = listing.classNames().isEmpty()
        ? LabeledImages.indexIds("class", protector.ensemble().numClasses()) : listing.classNames();
    List<Skipped> skipped = new ArrayList<>();
    Totals totals = new Totals();
    long start = System.nanoTime();
    int n = listing.ids().size();
    try (Progress progress = new Progress("protect", n, log).unit("images")) {
      Map<String, List<Item>> groups = new LinkedHashMap<>();
      long pendingPixels = 0;
      for (int i = 0; i < n; i++) {
        String id = listing.ids().get(i);
        DecodedUpload upload;
        try {
          upload = UploadDecoder.decode(Files.readAllBytes(root.resolve(id)), options);
        } catch (ImageFormatException e) {
          skipped.add(new Skipped(id, e.kind(), e.getMessage()));
          log.printf("skipped %s: %s (%s)%n", id, e.kind(), e.getMessage());
          progress.step();
          continue;
        }
        int label = unlabeled ? LabeledImages.UNKNOWN_LABEL : listing.labels().get(i);
        String shape = upload.channels() + "x" + upload.height() + "x" + upload.width();
        groups.computeIfAbsent(shape, k -> new ArrayList<>()).add(new Item(id, label, upload));
        pendingPixels += upload.colour().pixels().length;
        if (pendingPixels >= maxBatchPixels || i == n - 1) {
          for (List<Item> group : groups.values()) {
            craft(protector, group, classNames, out, maxBatchImages, maxBatchPixels, totals, progress);
          }
          totals.shapes.addAll(groups.keySet());
          groups.clear();
          pendingPixels = 0;
        }
      }
      for (List<Item> group : groups.values()) { // when the last file was skipped
        craft(protector, group, classNames, out, maxBatchImages, maxBatchPixels, totals, progress);
      }
      totals.shapes.addAll(groups.keySet());
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return new Summary(totals.images, seconds, totals.pixels / 1e6, totals.maxDelta,
        totals.images == 0 ? 0 : totals.deltaSum / totals.images, totals.predicted, totals.shapes.size(),
        List.copyOf(skipped));
  }

  /** The output file for an input id: same relative path, extension .png. */
  public static String outputName(String id) {
    int slash = id.lastIndexOf('/');
    int dot = id.lastIndexOf('.');
    return (dot > slash + 1 ? id.substring(0, dot) : id) + ".png";
  }

  private record Item(String id, int label, DecodedUpload upload) {}

  private static final class Totals {
    int images;
    long pixels;
    int maxDelta;
    double deltaSum;
    int predicted;
    final java.util.Set<String> shapes = new java.util.HashSet<>();
  }

  private static void craft(Protector protector, List<Item> group, List<String> classNames, Path out,
      int maxBatchImages, long maxBatchPixels, Totals totals, Progress progress) throws IOException {
    int from = 0;
    while (from < group.size()) {
      DecodedUpload first = group.get(from).upload();
      int size = first.colour().pixels().length;
      int fit = (int) Math.max(1, Math.min(maxBatchImages, maxBatchPixels / Math.max(1, size)));
      int to = Math.min(group.size(), from + fit);
      byte[] pixels = new byte[(to - from) * size];
      int[] labels = new int[to - from];
      List<String> ids = new ArrayList<>();
      for (int i = from; i < to; i++) {
        System.arraycopy(group.get(i).upload().colour().pixels(), 0, pixels, (i - from) * size, size);
        labels[i - from] = group.get(i).label();
        ids.add(group.get(i).id());
      }
      LabeledImages batch = new LabeledImages(first.channels(), first.height(), first.width(), pixels, labels,
          classNames, ids);
      ProtectedBatch result = protector.protect(batch);
      for (int i = from; i < to; i++) {
        Item item = group.get(i);
        byte[] protectedPixels = result.images().image(i - from);
        // Checked again on the bytes that are written: the ε-bound is the product's promise.
        int delta = EpsilonBall.maxAbsDelta(item.upload().colour().pixels(), protectedPixels);
        if (delta > EpsilonBall.maxLevels(protector.settings().epsilon())) {
          throw new IllegalStateException(item.id() + " leaves the ε-ball: |δ| = " + delta);
        }
        Path target = out.resolve(outputName(item.id()));
        Files.createDirectories(target.getParent());
        Files.write(target, item.upload().encodePng(protectedPixels));
        totals.images++;
        totals.pixels += (long) first.height() * first.width();
        totals.maxDelta = Math.max(totals.maxDelta, delta);
        totals.deltaSum += result.meanAbsDelta()[i - from];
        totals.predicted += result.labelPredicted()[i - from] ? 1 : 0;
      }
      progress.metric("max|δ|", totals.maxDelta).step(to - from);
      from = to;
    }
  }
}
