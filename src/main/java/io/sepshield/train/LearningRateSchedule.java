package io.sepshield.train;

import ai.djl.training.tracker.Tracker;

/** The learning rate at each SGD update, for {@link TrainingConfig.Schedule}. */
public final class LearningRateSchedule implements Tracker {
  private final TrainingConfig.Schedule schedule;
  private final float peak;
  private final int totalUpdates;

  public LearningRateSchedule(TrainingConfig.Schedule schedule, float peak, int totalUpdates) {
    this.schedule = schedule;
    this.peak = peak;
    this.totalUpdates = Math.max(1, totalUpdates);
  }

  @Override
  public float getNewValue(int numUpdate) {
    double progress = Math.min(1.0, (double) numUpdate / totalUpdates);
    return switch (schedule) {
      case STEP -> progress < 0.625 ? peak : progress < 0.75 ? peak / 10f : peak / 100f;
      case ONE_CYCLE -> {
        double warmup = 0.15;
        if (progress < warmup) {
          yield (float) (peak * (0.1 + 0.9 * progress / warmup));
        }
        double p = (progress - warmup) / (1 - warmup);
        yield (float) (peak * 0.5 * (1 + Math.cos(Math.PI * p)));
      }
    };
  }
}
