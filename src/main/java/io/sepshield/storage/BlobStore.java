package io.sepshield.storage;

import java.io.IOException;
import java.net.URI;

/** One object-store scheme (file:, s3:) behind the claim check. Callers check the allow-list first. */
interface BlobStore extends AutoCloseable {
  /**
   * The object's bytes.
   *
   * @throws ClaimCheckException NOT_FOUND when there is no such object, TOO_LARGE when it has more than
   *     {@code maxBytes} (checked before reading it)
   * @throws IOException the store could not be reached or answered with an error (an outage, retried)
   */
  byte[] read(URI uri, long maxBytes) throws ClaimCheckException, IOException;

  void write(URI uri, byte[] bytes, String contentType) throws IOException;

  @Override
  default void close() {}
}
