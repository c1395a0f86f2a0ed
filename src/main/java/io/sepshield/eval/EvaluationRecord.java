package io.sepshield.eval;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.sepshield.train.TrainingConfig;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One measured setting: an appropriator model of {@code arch} trained from scratch on the protected (and defended)
 * training set, next to the same architecture and seed trained on the clean set; both tested on clean test images.
 * Serialised with snake_case names (docs/results/efficacy.json, OUT/results.json).
 *
 * @param method none, noise, baseline, sep, sep-fa, sep-fa-vr, or "given" for an already protected set
 * @param eps L-inf radius in 1/255 levels (0 for none; the measured max |δ| for a given set)
 * @param defense "none" or name:setting (jpeg:75, bits:3, gray, blur:1.0, cutout:8, mixup:1.0)
 * @param cleanTrainedAcc final clean test accuracy of the model trained on the clean set under the same defense
 *     ({@code cleanDefense})
 * @param protectedAcc final clean test accuracy of the model trained on the protected set
 * @param seed the appropriator's seed (initialisation, shuffling, augmentation), shared by both models
 * @param repeat which training run of this setting (0-based; {@code evaluate --repeats R} trains R per setting,
 *     each with its own seed)
 * @param cleanCurve clean test accuracy after each epoch, clean-trained model
 * @param protectedCurve clean test accuracy after each epoch, protected-trained model
 * @param confusion counts[true][predicted] of the protected-trained model on the test set
 * @param craftingSettings the protection settings used (empty for none)
 * @param gradientEvaluationsPerImage crafting compute per image
 * @param cleanDefense the defense the clean-trained model was trained under: {@code defense} itself, so that a
 *     defended row measures the protection and not the defense's own cost. Records written before 2026-12-01 lack
 *     it (read as null); in docs/results/efficacy.json they carry "none", their clean model was undefended
 * @param bestAcc the protected-trained model's best clean test accuracy over the epochs: what an appropriator who
 *     early-stops on clean validation data keeps. Derived from {@code protectedCurve} when there is one
 * @param cleanBestAcc the same for the clean-trained model, derived from {@code cleanCurve}
 * @param uploadSize H x W of the images crafting ran on ("112x112" for Fashion-MNIST uploaded at 4x, see
 *     {@code evaluate --upload-size}); null in records written before 2026-12-01, which were all crafted at the
 *     data's own 28x28
 * @param appropriatorInput what the appropriators trained and tested on ({@link AppropriatorInput#describe}), e.g.
 *     "28x28 from 112x112 bicubic"; null in older records, which trained on the images as crafted
 * @param appropriatorBatchSize images per SGD step of both appropriators ({@code evaluate
 *     --appropriator-batch-size}); 0 in records written before it was recorded, read through {@link #batchSize}
 *     (128 unless their command says otherwise; docs/results/efficacy.json has it filled in from the command)
 * @param featureLayer where feature alignment measured the features ({@code evaluate --feature-layer}):
 *     "penultimate" (h(x), the paper's) or L, the first L children of the feature block; empty for none and given,
 *     null in records written before it existed, which all aligned h(x) (see {@link #alignedLayer})
 * @param appropriatorSchedule the appropriators' learning-rate schedule ({@code evaluate --appropriator-schedule}):
 *     "one-cycle" or "step" (the paper's); null in records written before it existed, which all trained one-cycle
 *     (see {@link #schedule})
 * @param checkpointEpochs the protecting model's training epochs of the checkpoints crafting used, in the order of
 *     the settings' checkpoint indices: what the indices mean, so that runs on bundles with other checkpoint
 *     spacings can be compared ({@link PooledRuns}); null for none and given, and in records written before it
 *     was recorded (commit 9d12954, 2026-12-02)
 * @param targetClasses g as crafting used it, resolved against the checkpoints: entry y is the class whose features
 *     class y's training images were pushed toward. Null for none, noise and given sets, and in records written
 *     before it was recorded (2026-12-03; docs/results/efficacy.json has it filled in where the settings name a
 *     fixed map)
 * @param redirected the share of clean test images the protected-trained model puts in a class whose training
 *     images were pushed toward the image's own class (a y with g(y) = the true class): the mistake SEP's targeted
 *     perturbations aim at, each class's features learned as another class's, as opposed to a collapse onto a few
 *     classes. Derived from {@code confusion} and {@code targetClasses}; null where either is unknown
 * @param backgroundDelta per class, the training set's mean |δ| in 1/255 levels over the pixels that are 0 in the
 *     clean image (the black background of Fashion-MNIST): how much of each class's perturbation the background
 *     keeps. The classes lowest here are where the appropriators' collapse went in every set probed
 *     (docs/results.md, twelfth ablations). Null for none, in records written before 2026-12-03, and for a class
 *     without background pixels
 * @param protectedSha256 fingerprint of the protected training set the appropriator trained on, before any defense
 *     (SHA-256 over shape, class names, pixels and labels): the same images with the same recipe, defense and seed
 *     train the same model, which {@code evaluate --protected-from} then takes instead of training it again. Null
 *     for none and in records written before it was recorded (2026-12-03)
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonPropertyOrder({"dataset", "trainImages", "testImages", "method", "profile", "eps", "arch", "defense",
    "cleanDefense", "uploadSize", "appropriatorInput", "cleanTrainedAcc", "protectedAcc", "cleanBestAcc",
    "bestAcc"})
public record EvaluationRecord(String dataset, int trainImages, int testImages, String method, String profile,
    double eps, String arch, String defense, double cleanTrainedAcc, double protectedAcc, long seed, int repeat,
    String command, int epochs, String bundle, String craftingSettings, long gradientEvaluationsPerImage,
    double craftingSeconds, double craftingImagesPerSecond, double trainSeconds, List<Double> cleanCurve,
    List<Double> protectedCurve, int[][] confusion, String cleanDefense, double bestAcc, double cleanBestAcc,
    String uploadSize, String appropriatorInput, int appropriatorBatchSize, String featureLayer,
    String appropriatorSchedule, List<Integer> checkpointEpochs, List<Integer> targetClasses, Double redirected,
    List<Double> backgroundDelta, String protectedSha256) {

  private static final Pattern BATCH_OPTION = Pattern.compile("--appropriator-batch-size[ =](\\d+)");

  public EvaluationRecord {
    // The best epoch is a property of the curve, so it cannot disagree with it (and older records get it too).
    bestAcc = best(protectedCurve, bestAcc);
    cleanBestAcc = best(cleanCurve, cleanBestAcc);
    redirected = redirected(confusion, targetClasses, redirected);
  }

  private static Double redirected(int[][] confusion, List<Integer> targets, Double otherwise) {
    if (confusion == null || targets == null) {
      return otherwise;
    }
    if (targets.size() != confusion.length) {
      throw new IllegalArgumentException("target classes for " + targets.size() + " classes, confusion matrix for "
          + confusion.length);
    }
    long toward = 0;
    long all = 0;
    for (int truth = 0; truth < confusion.length; truth++) {
      for (int predicted = 0; predicted < confusion[truth].length; predicted++) {
        all += confusion[truth][predicted];
        if (targets.get(predicted) == truth) {
          toward += confusion[truth][predicted];
        }
      }
    }
    return all == 0 ? otherwise : (double) toward / all;
  }

  private static double best(List<Double> curve, double otherwise) {
    return curve == null || curve.isEmpty() ? otherwise
        : curve.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
  }

  /** {@link #cleanDefense}, with records that predate it read as "none" (their clean model was undefended). */
  public String cleanModelDefense() {
    return cleanDefense == null ? "none" : cleanDefense;
  }

  /** {@link #uploadSize}, with records that predate it read as 28x28 (all were crafted at the data's own size). */
  public String craftedSize() {
    return uploadSize == null ? "28x28" : uploadSize;
  }

  /** {@link #appropriatorInput}, with records that predate it read as the images as crafted. */
  public String appropriatorView() {
    return appropriatorInput == null ? AppropriatorInput.AS_UPLOADED.describe(craftedSize()) : appropriatorInput;
  }

  /** {@link #featureLayer}, with records that predate it read as the penultimate layer. */
  public String alignedLayer() {
    return featureLayer == null ? "penultimate" : featureLayer;
  }

  /**
   * {@link #appropriatorBatchSize}, with records written before it was recorded (0) read from their command: 128
   * unless it says {@code --appropriator-batch-size N}, the only way it could differ then.
   */
  public int batchSize() {
    if (appropriatorBatchSize > 0) {
      return appropriatorBatchSize;
    }
    Matcher m = command == null ? null : BATCH_OPTION.matcher(command);
    return m != null && m.find() ? Integer.parseInt(m.group(1)) : TrainingConfig.SHORT_RUN_BATCH_SIZE;
  }

  /** {@link #appropriatorSchedule}, with records that predate it read as one-cycle. */
  public String schedule() {
    return appropriatorSchedule == null ? TrainingConfig.Schedule.ONE_CYCLE.cliName() : appropriatorSchedule;
  }

  /** Clean-trained minus protected-trained accuracy: how much the protection cost the appropriator. */
  public double drop() {
    return cleanTrainedAcc - protectedAcc;
  }
}
