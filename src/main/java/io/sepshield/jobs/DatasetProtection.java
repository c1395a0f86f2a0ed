package io.sepshield.jobs;

import ai.djl.ndarray.NDManager;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.ImageTensors;
import io.sepshield.report.ImageStrip;
import io.sepshield.report.Progress;
import io.sepshield.sep.ProtectedBatch;
import io.sepshield.sep.Protector;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Protects a whole data set in batches, with progress, and summarises what it did. */
public final class DatasetProtection {

  /**
   * @param imagesPerSecond crafting throughput, batching and quantisation included
   * @param meanAbsDelta mean |δ| over all pixels, in 8-bit levels
   * @param maxAbsDelta max |δ| over all pixels, in 8-bit levels (never above ⌊255 ε⌋)
   * @param predictedLabels images crafted with a pseudo-label
   * @param lossBefore mean per-image crafting loss of the ensemble on the clean images
   * @param lossAfter the same on the protected images: lower means the images moved toward their targets
   */
  public record Summary(int images, double seconds, double imagesPerSecond, double meanAbsDelta, int maxAbsDelta,
      int predictedLabels, double lossBefore, double lossAfter) {

    public String describe() {
      return String.format("protected %d images in %.1f s (%.2f images/s); |δ| mean %.2f/255, max %d/255; "
          + "%d pseudo-labels; crafting loss %.4f -> %.4f", images, seconds, imagesPerSecond, meanAbsDelta,
          maxAbsDelta, predictedLabels, lossBefore, lossAfter);
    }
  }

  /** The protected images (same ids, same labels, or pseudo-labels where none were given) and the summary. */
  public record Result(LabeledImages protectedImages, Summary summary) {}

  private final PrintStream log;

  public DatasetProtection(PrintStream log) {
    this.log = log;
  }

  public Result run(Protector protector, LabeledImages images, int batchSize) {
    int n = images.size();
    byte[] out = new byte[images.rawPixels().length];
    int[] labels = new int[n];
    double deltaSum = 0;
    int maxDelta = 0;
    int predicted = 0;
    double lossBefore = 0;
    double lossAfter = 0;
    long start = System.nanoTime();
    try (Progress progress = new Progress("protect", n, log).unit("images")) {
      for (int from = 0; from < n; from += batchSize) {
        int to = Math.min(n, from + batchSize);
        LabeledImages batch = images.slice(from, to);
        ProtectedBatch result = protector.protect(batch);
        System.arraycopy(result.images().rawPixels(), 0, out, from * images.imageBytes(),
            result.images().rawPixels().length);
        for (int i = 0; i < result.size(); i++) {
          labels[from + i] = result.images().label(i);
          deltaSum += result.meanAbsDelta()[i];
          maxDelta = Math.max(maxDelta, result.maxAbsDelta()[i]);
          predicted += result.labelPredicted()[i] ? 1 : 0;
        }
        // Two forward passes per member, against ~100 gradient evaluations of crafting: cheap evidence it worked.
        try (NDManager m = protector.ensemble().manager().newSubManager()) {
          lossBefore += protector.meanLoss(ImageTensors.batch(m, batch, 0, batch.size()), result.targets())
              * batch.size();
          lossAfter += protector.meanLoss(ImageTensors.batch(m, result.images(), 0, batch.size()),
              result.targets()) * batch.size();
        }
        progress.metric("max|δ|", maxDelta).step(to - from);
      }
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    Summary summary = new Summary(n, seconds, n / seconds, deltaSum / n, maxDelta, predicted, lossBefore / n,
        lossAfter / n);
    return new Result(images.withPixels(out).withLabels(labels), summary);
  }

  /** Writes clean / protected / amplified-difference rows for the first {@code count} images. */
  public static Path writeBeforeAfter(LabeledImages clean, LabeledImages protectedImages, float epsilon255,
      int count, Path file, String caption) throws IOException {
    int k = Math.min(count, clean.size());
    int amplification = Math.max(1, (int) Math.floor(127 / Math.max(1f, epsilon255)));
    List<ImageStrip.Cell> cleanRow = new ArrayList<>();
    List<ImageStrip.Cell> protectedRow = new ArrayList<>();
    List<ImageStrip.Cell> diffRow = new ArrayList<>();
    for (int i = 0; i < k; i++) {
      String name = protectedImages.label(i) >= 0 ? clean.classNames().get(protectedImages.label(i)) : "?";
      cleanRow.add(new ImageStrip.Cell(clean.image(i), clean.channels(), clean.height(), clean.width(), name));
      protectedRow.add(new ImageStrip.Cell(protectedImages.image(i), clean.channels(), clean.height(),
          clean.width(), null));
      diffRow.add(new ImageStrip.Cell(ImageStrip.amplifiedDifference(clean.image(i), protectedImages.image(i),
          amplification), clean.channels(), clean.height(), clean.width(), null));
    }
    return new ImageStrip(Math.max(2, 112 / Math.max(clean.height(), clean.width())))
        .row("clean", cleanRow)
        .row("protected", protectedRow)
        .row("δ x" + amplification, diffRow)
        .title("Before / after protection")
        .caption(caption)
        .write(file);
  }
}
