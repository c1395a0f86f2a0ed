package io.sepshield.storage;

import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The object store could not be reached or failed (network, 5xx, permissions of the volume): not the upload's fault,
 * so the stream fails the task and retries the records later instead of dead-lettering them.
 */
public final class StoreUnavailableException extends UncheckedIOException {
  private static final long serialVersionUID = 1L;

  public StoreUnavailableException(String message, IOException cause) {
    super(message, cause);
  }
}
