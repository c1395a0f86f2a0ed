package io.sepshield.stream;

import java.util.List;

/**
 * An upload that cannot be protected because of its content, not because of the service: it goes to the dead-letter
 * topic (or is counted or fails the task, per {@link ErrorStrategy}).
 */
public final class RejectedUpload extends Exception {
  private static final long serialVersionUID = 1L;

  public static final String UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT";
  public static final String TOO_LARGE = "TOO_LARGE";
  public static final String DECODE_ERROR = "DECODE_ERROR";
  /** An animation or multi-page image (animated GIF, APNG): which frame to protect is undefined. */
  public static final String MULTI_FRAME = "MULTI_FRAME";
  public static final String DESERIALIZATION_ERROR = "DESERIALIZATION_ERROR";
  public static final String INVALID_LABEL = "INVALID_LABEL";
  /** Empty or absurdly long upload id or header name. */
  public static final String INVALID_ID = "INVALID_ID";
  public static final String PROTECTION_ERROR = "PROTECTION_ERROR";
  /** A claim-check reference that is refused (not allowed, not file:/s3:), missing or fails its SHA-256. */
  public static final String CLAIM_CHECK_ERROR = "CLAIM_CHECK_ERROR";
  /**
   * The protected image does not fit a record and no claim-check output is configured (or a record of ours would
   * exceed the size limit for another reason): the upload is dead-lettered instead of stalling its partition.
   */
  public static final String OUTPUT_TOO_LARGE = "OUTPUT_TOO_LARGE";
  /** A protected image left the ε-ball at full size: never published (a bug, checked for every output). */
  public static final String EPSILON_VIOLATION = "EPSILON_VIOLATION";
  /** Every code above. */
  public static final List<String> REASONS = List.of(UNSUPPORTED_FORMAT, TOO_LARGE, DECODE_ERROR, MULTI_FRAME,
      DESERIALIZATION_ERROR, INVALID_LABEL, INVALID_ID, PROTECTION_ERROR, CLAIM_CHECK_ERROR, OUTPUT_TOO_LARGE,
      EPSILON_VIOLATION);

  private final String reason;

  public RejectedUpload(String reason, String message) {
    this(reason, message, null);
  }

  public RejectedUpload(String reason, String message, Throwable cause) {
    super(message, cause, false, false);
    this.reason = reason;
  }

  /** One of the codes above, as ProtectionFailure.reason documents them. */
  public String reason() {
    return reason;
  }
}
