package io.sepshield.bundle;

/**
 * A bundle whose files are missing, unreadable or not (yet) what the manifest or the event says. On a shared volume
 * that lags the update event this resolves by itself, so a hot swap retries it for a while before giving up; a bundle
 * that is plainly wrong (shapes, classes, NaN centers) is a {@link BundleException} and is refused at once.
 */
public class BundleNotReadyException extends BundleException {
  public BundleNotReadyException(String message) {
    super(message);
  }

  public BundleNotReadyException(String message, Throwable cause) {
    super(message, cause);
  }
}
