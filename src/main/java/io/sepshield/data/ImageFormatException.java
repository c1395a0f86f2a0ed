package io.sepshield.data;

import java.io.IOException;

/**
 * The input bytes are not an image we accept. A separate type so that callers serving untrusted uploads can answer
 * "bad input" rather than "server I/O error", and {@link #kind()} says which bad input, for a dead-letter reason.
 */
public class ImageFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Why an image was refused, machine-readable. */
  public enum Kind {
    /** Corrupt or truncated data of a known format. */
    CORRUPT,
    /** Not a format (or a variant, e.g. CMYK JPEG, WebP) this service decodes. */
    UNSUPPORTED,
    /** An animation or multi-page image (animated GIF, APNG, animated WebP): which frame to protect is undefined. */
    MULTI_FRAME,
    /** The header declares more pixels than the limits allow (refused before the pixels are allocated). */
    TOO_LARGE
  }

  private final Kind kind;

  /** A {@link Kind#CORRUPT} error. */
  public ImageFormatException(String message) {
    this(Kind.CORRUPT, message, null);
  }

  /** A {@link Kind#CORRUPT} error. */
  public ImageFormatException(String message, Throwable cause) {
    this(Kind.CORRUPT, message, cause);
  }

  public ImageFormatException(Kind kind, String message) {
    this(kind, message, null);
  }

  public ImageFormatException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
