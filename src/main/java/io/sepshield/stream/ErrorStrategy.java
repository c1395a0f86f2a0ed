package io.sepshield.stream;

import java.util.Locale;

/** What the protection stream does with an upload it cannot protect. */
public enum ErrorStrategy {
  /** Publish the original bytes to the dead-letter topic with the reason in headers (the default). */
  DEAD_LETTER_QUEUE,
  /** Log the failure and count it ({@link StreamMetrics#REJECTED}, {@link StreamStats#skipped()}); the record is consumed. */
  CONTINUE,
  /** Fail the stream task: nothing after the bad record is processed until an operator intervenes. */
  FAIL;

  /** Parses {@code dead-letter-queue}, {@code continue} or {@code fail} (case and '_' / '-' do not matter). */
  public static ErrorStrategy parse(String name) {
    String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (ErrorStrategy s : values()) {
      if (s.name().equals(n)) {
        return s;
      }
    }
    throw new IllegalArgumentException("unknown error strategy '" + name + "'; one of dead-letter-queue, continue, fail");
  }
}
