package io.sepshield.bundle;

/** A bundle that cannot be used: missing or altered files, wrong shapes, unsupported format. */
public class BundleException extends RuntimeException {
  public BundleException(String message) {
    super(message);
  }

  public BundleException(String message, Throwable cause) {
    super(message, cause);
  }
}
