package io.sepshield.storage;

/** A claim-check reference that cannot be honoured because of the reference itself (not an outage). */
public final class ClaimCheckException extends Exception {
  private static final long serialVersionUID = 1L;

  /** Why: each maps to a dead-letter reason. */
  public enum Kind {
    /** Scheme other than file:/s3:, or a location outside the allow-list: never fetched. */
    REFUSED,
    NOT_FOUND,
    TOO_LARGE,
    /** The bytes do not have the SHA-256 the record names. */
    CHECKSUM_MISMATCH
  }

  private final Kind kind;

  public ClaimCheckException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
