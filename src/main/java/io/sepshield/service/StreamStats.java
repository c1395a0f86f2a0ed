package io.sepshield.service;

import io.sepshield.stream.ErrorStrategy;

/** The stream's totals for whoever reports on it (demo, tests), read from its {@link StreamMetrics} meters. */
public final class StreamStats {
  private final StreamMetrics metrics;

  StreamStats(StreamMetrics metrics) {
    this.metrics = metrics;
  }

  public long protectedImages() {
    return metrics.protectedCount();
  }

  public long deadLettered() {
    return metrics.rejectedCount(ErrorStrategy.DEAD_LETTER_QUEUE);
  }

  /** Rejected uploads logged and dropped under {@link ErrorStrategy#CONTINUE}. */
  public long skipped() {
    return metrics.rejectedCount(ErrorStrategy.CONTINUE);
  }

  /** Protection batches crafted. */
  public long batches() {
    return metrics.batchCount();
  }

  /** Seconds the engine spent crafting batches (successful ones), summed. */
  public double craftingSeconds() {
    return metrics.craftingSeconds();
  }
}
