package io.sepshield.train;

import java.math.BigDecimal;

/**
 * How a classifier is trained: the protecting model of a bundle, or an appropriator model in an evaluation.
 *
 * @param epochs N
 * @param batchSize images per SGD step
 * @param learningRate peak learning rate
 * @param momentum SGD momentum (0.9 in the paper)
 * @param weightDecay L2 weight decay (5e-4 in the paper)
 * @param schedule learning-rate schedule over the whole run
 * @param cropPadding random-crop augmentation: pad by this many pixels, crop back (0 = off)
 * @param horizontalFlip random horizontal flips
 * @param seed shuffling, augmentation and initialisation
 */
public record TrainingConfig(int epochs, int batchSize, float learningRate, float momentum, float weightDecay,
    Schedule schedule, int cropPadding, boolean horizontalFlip, long seed) {

  /** Learning-rate schedules. */
  public enum Schedule {
    /** The paper's: constant, ÷10 at 62.5 % and 75 % of the run (epochs 75 and 90 of 120). */
    STEP,
    /** Linear warm-up over the first 15 % to the peak, then cosine to zero: converges well in few epochs. */
    ONE_CYCLE;

    public static Schedule parse(String s) {
      return switch (s.trim().toLowerCase().replace('_', '-')) {
        case "step" -> STEP;
        case "one-cycle", "onecycle" -> ONE_CYCLE;
        default -> throw new IllegalArgumentException("unknown schedule '" + s + "' (step, one-cycle)");
      };
    }

    /** The name {@link #parse} reads, as on the command line and in records. */
    public String cliName() {
      return this == STEP ? "step" : "one-cycle";
    }
  }

  public TrainingConfig {
    if (epochs < 1 || batchSize < 1) {
      throw new IllegalArgumentException("epochs and batch size must be positive");
    }
    if (!(learningRate > 0)) {
      throw new IllegalArgumentException("learning rate must be positive");
    }
  }

  /** The paper's protecting-model recipe (SGD 0.1, momentum 0.9, wd 5e-4, batch 128, step schedule). */
  public static TrainingConfig paper(int epochs, long seed) {
    return new TrainingConfig(epochs, 128, 0.1f, 0.9f, 5e-4f, Schedule.STEP, 4, true, seed);
  }

  /** The appropriators' default batch ({@link #shortRun}). */
  public static final int SHORT_RUN_BATCH_SIZE = 128;

  /** A CPU-friendly recipe for short runs: the same optimiser with a one-cycle schedule. */
  public static TrainingConfig shortRun(int epochs, long seed) {
    return new TrainingConfig(epochs, SHORT_RUN_BATCH_SIZE, 0.1f, 0.9f, 5e-4f, Schedule.ONE_CYCLE, 2, true, seed);
  }

  /**
   * For reports: "30 epochs, batch 128, SGD lr 0.1 one-cycle, momentum 0.9, weight decay 0.0005, random crop (padding
   * 2) + flip". The seed is left out: evaluations derive one per architecture and repeat from the run's seed.
   */
  public String describe() {
    String augmentation = cropPadding > 0 && horizontalFlip ? "random crop (padding " + cropPadding + ") + flip"
        : cropPadding > 0 ? "random crop (padding " + cropPadding + ")"
        : horizontalFlip ? "flip" : "no augmentation";
    return epochs + (epochs == 1 ? " epoch" : " epochs") + ", batch " + batchSize + ", SGD lr " + plain(learningRate)
        + " " + schedule.cliName() + ", momentum " + plain(momentum) + ", weight decay " + plain(weightDecay) + ", "
        + augmentation;
  }

  private static String plain(float v) {
    return new BigDecimal(Float.toString(v)).stripTrailingZeros().toPlainString();
  }

  public TrainingConfig withEpochs(int n) {
    return new TrainingConfig(n, batchSize, learningRate, momentum, weightDecay, schedule, cropPadding,
        horizontalFlip, seed);
  }

  public TrainingConfig withBatchSize(int b) {
    return new TrainingConfig(epochs, b, learningRate, momentum, weightDecay, schedule, cropPadding,
        horizontalFlip, seed);
  }

  public TrainingConfig withSchedule(Schedule s) {
    return new TrainingConfig(epochs, batchSize, learningRate, momentum, weightDecay, s, cropPadding,
        horizontalFlip, seed);
  }

  public TrainingConfig withSeed(long s) {
    return new TrainingConfig(epochs, batchSize, learningRate, momentum, weightDecay, schedule, cropPadding,
        horizontalFlip, s);
  }

  public TrainingConfig withAugmentation(int padding, boolean flip) {
    return new TrainingConfig(epochs, batchSize, learningRate, momentum, weightDecay, schedule, padding, flip, seed);
  }
}
