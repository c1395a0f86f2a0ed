package io.sepshield.registry;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Bounded exponential backoff with jitter for retriable registry failures (Confluent's {@code max.retries},
 * {@code retries.wait.ms}, {@code retries.max.wait.ms}, same defaults). Every caller runs on a thread that may block
 * (a stream thread: its poll interval is minutes), so retrying in place is the simplest correct thing; the total wait
 * is bounded by {@code maxRetries × maxWait}.
 *
 * @param maxRetries retries after the first attempt; 0 disables retrying
 * @param firstWait the first backoff, doubled after each retry
 * @param maxWait cap on one backoff, also on a server's Retry-After
 */
public record RetryPolicy(int maxRetries, Duration firstWait, Duration maxWait) {
  public static final RetryPolicy DEFAULT = new RetryPolicy(3, Duration.ofSeconds(1), Duration.ofSeconds(20));
  public static final RetryPolicy NONE = new RetryPolicy(0, Duration.ZERO, Duration.ZERO);

  public RetryPolicy {
    if (maxRetries < 0 || firstWait.isNegative() || maxWait.isNegative()) {
      throw new IllegalArgumentException("retries and waits must not be negative: " + maxRetries + ", " + firstWait + ", "
          + maxWait);
    }
  }

  /**
   * The pause before retry number {@code retry} (0-based): the server's Retry-After when it sent one, else
   * wait × 2^retry with "equal jitter" (half fixed, half random) so that many clients do not retry in step; both
   * capped at maxWait.
   */
  public Duration backoff(int retry, Duration retryAfter) {
    if (retryAfter != null) {
      return retryAfter.compareTo(maxWait) > 0 ? maxWait : retryAfter;
    }
    long exp = firstWait.toMillis() << Math.min(retry, 20);
    long capped = Math.min(exp < 0 ? Long.MAX_VALUE : exp, maxWait.toMillis());
    long half = capped / 2;
    return Duration.ofMillis(half + (half > 0 ? ThreadLocalRandom.current().nextLong(half + 1) : 0));
  }
}
