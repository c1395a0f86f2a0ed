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
  public static final String DESERIALIZATION_ERROR = "DESERIALIZATION_ERROR";
  public static final String INVALID_LABEL = "INVALID_LABEL";
  /** Empty or absurdly long upload id or header name. */
  public static final String INVALID_ID = "INVALID_ID";
  public static final String PROTECTION_ERROR = "PROTECTION_ERROR";
  /** Every code above. */
  public static final List<String> REASONS = List.of(UNSUPPORTED_FORMAT, TOO_LARGE, DECODE_ERROR,
      DESERIALIZATION_ERROR, INVALID_LABEL, INVALID_ID, PROTECTION_ERROR);

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
