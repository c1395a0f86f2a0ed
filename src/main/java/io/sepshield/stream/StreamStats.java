package io.sepshield.stream;

import java.util.concurrent.atomic.AtomicLong;

/** Counters shared between the stream thread and whoever reports on it (health, demo, tests). */
public final class StreamStats {
  private final AtomicLong protectedImages = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong batches = new AtomicLong();

  void countProtected() {
    protectedImages.incrementAndGet();
  }

  void countDeadLettered() {
    deadLettered.incrementAndGet();
  }

  void countSkipped() {
    skipped.incrementAndGet();
  }

  void countBatch() {
    batches.incrementAndGet();
  }

  public long protectedImages() {
    return protectedImages.get();
  }

  public long deadLettered() {
    return deadLettered.get();
  }

  /** Rejected uploads logged and dropped under {@link ErrorStrategy#CONTINUE}. */
  public long skipped() {
    return skipped.get();
  }

  /** Protection batches crafted (each flush of the buffer). */
  public long batches() {
    return batches.get();
  }
}
