package io.sepshield.stream;

/** Header names on dead-letter records (values are UTF-8 strings); the record keeps the original key and value. */
public final class DeadLetters {
  /** A {@link RejectedUpload} reason code. */
  public static final String REASON = "dead-letter-reason";
  /** Human-readable detail, usually the exception message (at most 1000 characters). */
  public static final String CAUSE = "dead-letter-cause";
  public static final String TOPIC = "dead-letter-topic";
  public static final String PARTITION = "dead-letter-partition";
  public static final String OFFSET = "dead-letter-offset";

  private DeadLetters() {}
}
