package io.sepshield.lifecycle;

import io.sepshield.avro.BundleUpdated;
import io.sepshield.bundle.BundleException;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.bundle.BundleManifest;
import io.sepshield.bundle.Sha256;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * A published bundle, as a {@code BundleUpdated} event describes it.
 *
 * <p>The contract: {@code uri} names a bundle directory as {@link io.sepshield.bundle.BundleWriter} writes it (the
 * directory holding {@code manifest.json}, not a bundle root with {@code LATEST}), as an absolute {@code file:} URI
 * or absolute path on a volume every service instance mounts; {@code sha256} is the hex SHA-256 of that
 * {@code manifest.json}. The manifest pins the SHA-256 of every other file, so the event's hash covers the whole
 * bundle. Bundles are immutable once written (the writer publishes them by an atomic rename).
 *
 * @param architecture the manifest's architecture, or null when the publisher did not say
 * @param createdAt when the bundle was written (milliseconds, as the event carries it)
 */
public record BundleUpdate(String bundleId, Path directory, String sha256, String architecture, Instant createdAt) {

  /** The event for a bundle directory that {@link io.sepshield.bundle.BundleWriter} wrote. */
  public static BundleUpdate of(Path bundleDirectory) {
    Path dir = bundleDirectory.toAbsolutePath().normalize();
    BundleManifest manifest = BundleLoader.verify(dir);
    try {
      return new BundleUpdate(manifest.bundleId(), dir, Sha256.of(dir.resolve(BundleManifest.FILE_NAME)),
          manifest.architecture(), Instant.parse(manifest.createdAt()).truncatedTo(ChronoUnit.MILLIS));
    } catch (IOException e) {
      throw new BundleException("cannot read the manifest of " + dir, e);
    }
  }

  /** Reads an event; an unusable one (relative path, other URI scheme, malformed hash) is refused. */
  public static BundleUpdate from(BundleUpdated event) {
    String sha = event.getSha256().toLowerCase(Locale.ROOT);
    if (!sha.matches("[0-9a-f]{64}")) {
      throw new BundleException("sha256 must be 64 hex digits, got '" + event.getSha256() + "'");
    }
    return new BundleUpdate(event.getBundleId(), directory(event.getUri()), sha, event.getArchitecture(),
        event.getCreatedAt());
  }

  public BundleUpdated toAvro() {
    return BundleUpdated.newBuilder().setBundleId(bundleId).setUri(directory.toUri().toString()).setSha256(sha256)
        .setArchitecture(architecture).setCreatedAt(createdAt).build();
  }

  private static Path directory(String uri) {
    if (uri.matches("(?i)^(?!file:)[a-z][a-z0-9+.-]*:.*")) {
      throw new BundleException("unsupported bundle URI '" + uri + "': only file: URIs and paths");
    }
    Path path;
    try {
      path = uri.regionMatches(true, 0, "file:", 0, 5) ? Path.of(new URI(uri)) : Path.of(uri);
    } catch (URISyntaxException | IllegalArgumentException e) {
      throw new BundleException("bad bundle location '" + uri + "': " + e.getMessage(), e);
    }
    // Relative to what? Every instance has its own working directory; only an absolute path names one bundle.
    if (!path.isAbsolute()) {
      throw new BundleException("bundle location must be absolute, got '" + uri + "'");
    }
    return path.normalize();
  }
}
