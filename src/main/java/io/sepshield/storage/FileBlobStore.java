package io.sepshield.storage;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** {@code file:} objects on a volume every instance mounts at the same path. */
final class FileBlobStore implements BlobStore {
  @Override
  public byte[] read(URI uri, long maxBytes) throws ClaimCheckException, IOException {
    Path path = Path.of(uri);
    try {
      long size = Files.size(path);
      if (size > maxBytes) {
        throw new ClaimCheckException(ClaimCheckException.Kind.TOO_LARGE, uri + " has " + size + " bytes, limit "
            + maxBytes);
      }
      try (InputStream in = Files.newInputStream(path)) {
        // One more than the limit: the file may have grown since size(). Clamped: (int) of a limit of 2 GiB or
        // more (or maxBytes + 1 overflowing) would wrap to a negative or zero count and read nothing.
        byte[] bytes = in.readNBytes((int) Math.min(maxBytes, Integer.MAX_VALUE - 9) + 1);
        if (bytes.length > maxBytes) {
          throw new ClaimCheckException(ClaimCheckException.Kind.TOO_LARGE, uri + " has more than " + maxBytes
              + " bytes");
        }
        return bytes;
      }
    } catch (NoSuchFileException e) {
      throw new ClaimCheckException(ClaimCheckException.Kind.NOT_FOUND, "no file " + uri);
    }
  }

  /** Written to a temporary file next to the target and moved into place, so readers never see half a file. */
  @Override
  public void write(URI uri, byte[] bytes, String contentType) throws IOException {
    Path path = Path.of(uri);
    Files.createDirectories(path.getParent());
    Path tmp = Files.createTempFile(path.getParent(), ".part-", ".tmp");
    try {
      Files.write(tmp, bytes);
      Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
