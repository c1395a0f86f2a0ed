package io.sepshield.data;

import java.io.IOException;

/**
 * The input bytes are not an image we accept (unknown format, corrupt or truncated data). A separate type so that
 * callers serving untrusted uploads can answer "bad input" rather than "server I/O error".
 */
public class ImageFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public ImageFormatException(String message) {
    super(message);
  }

  public ImageFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
