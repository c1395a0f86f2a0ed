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
  /**
   * Present ("true") when the record carries a reference instead of the original value: the value is null because
   * it would not fit the dead-letter topic, or the upload was refused as too large. Find the original at
   * {@link #TOPIC}/{@link #PARTITION}/{@link #OFFSET} (while the topic retains it) and check it with
   * {@link #SHA256}.
   */
  public static final String VALUE_OMITTED = "dead-letter-value-omitted";
  /** Hex SHA-256 of the original record value (always set, also when the value is carried). */
  public static final String SHA256 = "dead-letter-value-sha256";
  /** Size of the original record value in bytes. */
  public static final String SIZE = "dead-letter-value-bytes";

  private DeadLetters() {}
}
