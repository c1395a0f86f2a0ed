package io.sepshield.registry;

import java.util.concurrent.Semaphore;

/**
 * Bounds lookups of schema ids not in the cache, which untrusted data can trigger at will: at most {@code
 * maxConcurrent} at once and {@code perSecond} on average (a token bucket holding one second's worth). A caller over
 * the rate waits; it never fails, since the id may be a real one that must be decoded.
 */
final class LookupLimiter {
  private final Semaphore inFlight;
  private final double perSecond;
  private double tokens;
  private long refilledAt = System.nanoTime();

  LookupLimiter(int maxConcurrent, double perSecond) {
    if (maxConcurrent < 1 || !(perSecond > 0)) {
      throw new IllegalArgumentException("lookup limits must be positive: " + maxConcurrent + ", " + perSecond);
    }
    this.inFlight = new Semaphore(maxConcurrent, true);
    this.perSecond = perSecond;
    this.tokens = Math.max(1, perSecond);
  }

  /** Blocks until a lookup may start; pair with {@link #release()}. */
  void acquire() throws InterruptedException {
    inFlight.acquire();
    try {
      long waitNanos;
      while ((waitNanos = takeToken()) > 0) {
        Thread.sleep(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
      }
    } catch (InterruptedException e) {
      inFlight.release();
      throw e;
    }
  }

  void release() {
    inFlight.release();
  }

  /** 0 when a token was taken, else how long until one is there. */
  private synchronized long takeToken() {
    long now = System.nanoTime();
    tokens = Math.min(Math.max(1, perSecond), tokens + (now - refilledAt) / 1e9 * perSecond);
    refilledAt = now;
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return (long) Math.ceil((1 - tokens) / perSecond * 1e9);
  }
}
