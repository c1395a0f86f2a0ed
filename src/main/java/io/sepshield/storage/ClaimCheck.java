package io.sepshield.storage;

import io.sepshield.bundle.Sha256;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The claim-check pattern for media on Kafka: a record carries a reference (URI + SHA-256) to bytes kept in an
 * object store, instead of the bytes. Reads uploads by reference and writes large protected images.
 *
 * <p>Only {@code file:} (a shared volume) and {@code s3://} (AWS SDK v2, or any S3-compatible store) are supported, and
 * only locations under the allow-list are ever read: uploads come from untrusted producers, so a URI in a record must
 * not make the service fetch arbitrary URLs (http, https and every other scheme are refused, as are
 * {@code file:} paths that leave an allowed root, also through symbolic links).
 */
public final class ClaimCheck implements AutoCloseable {
  /**
   * @param allowed roots uploads may be read from: {@code file:/data/uploads/} or {@code s3://bucket/prefix/}
   *     ({@code s3://bucket} = the whole bucket); empty: claim-checked uploads are refused
   * @param output where large protected images go ({@code file:/dir/} or {@code s3://bucket/prefix/}); null: never
   * @param outputThreshold PNGs above this many bytes go to {@code output}
   * @param s3Endpoint S3-compatible endpoint (MinIO, Ceph), or null for AWS
   * @param s3Region or null for the SDK's default region chain
   * @param s3PathStyle path-style requests (most S3-compatible stores need them)
   */
  public record Settings(List<String> allowed, String output, long outputThreshold, String s3Endpoint,
      String s3Region, boolean s3PathStyle) {
    public static final long DEFAULT_OUTPUT_THRESHOLD = 512 << 10;

    public Settings {
      allowed = List.copyOf(allowed);
      if (outputThreshold < 0) {
        throw new IllegalArgumentException("claim-check output threshold must not be negative");
      }
    }

    /** Claim checks off: uploads by reference are refused, outputs always inline. */
    public static Settings none() {
      return new Settings(List.of(), null, DEFAULT_OUTPUT_THRESHOLD, null, null, false);
    }
  }

  /** A stored object: its URI and the hex SHA-256 of its bytes. */
  public record Stored(String uri, String sha256) {}

  private record Root(String scheme, String bucket, String prefix, Path path) {}

  private final Settings settings;
  private final List<Root> roots;
  private final URI output;
  private final BlobStore files = new FileBlobStore();
  private BlobStore s3; // created on first use: no SDK start-up (credential chain) when nothing is in S3

  public ClaimCheck(Settings settings) {
    this.settings = settings;
    List<Root> r = new ArrayList<>();
    for (String entry : settings.allowed()) {
      r.add(root(parse(entry, "allow-list entry")));
    }
    this.roots = List.copyOf(r);
    this.output = settings.output() == null ? null : parse(settings.output().endsWith("/") ? settings.output()
        : settings.output() + "/", "claim-check output");
    if (output != null) {
      root(output); // same syntax rules
    }
  }

  public Settings settings() {
    return settings;
  }

  /** Whether protected images can be written to a store at all. */
  public boolean canStore() {
    return output != null;
  }

  /**
   * The bytes at {@code uri}, if it is under the allow-list, exists, has at most {@code maxBytes} and matches
   * {@code sha256} (when given).
   *
   * @throws StoreUnavailableException the store failed: retry later, the reference may be fine
   */
  public byte[] fetch(String uri, String sha256, long maxBytes) throws ClaimCheckException {
    URI u = allowedUri(uri);
    byte[] bytes;
    try {
      bytes = store(u).read(u, maxBytes);
    } catch (IOException e) {
      throw new StoreUnavailableException("cannot read " + u + ": " + e.getMessage(), e);
    }
    if (sha256 != null && !sha256.isBlank()) {
      String actual = Sha256.of(bytes);
      if (!actual.equalsIgnoreCase(sha256.trim())) {
        throw new ClaimCheckException(ClaimCheckException.Kind.CHECKSUM_MISMATCH, uri + " has SHA-256 " + actual
            + ", the record says " + sha256);
      }
    }
    return bytes;
  }

  /**
   * Writes {@code bytes} under the output location, content-addressed ({@code <sha256><suffix>}): a batch that is
   * redone after an aborted transaction writes the same object again instead of a second one.
   */
  public Stored store(byte[] bytes, String suffix, String contentType) {
    if (output == null) {
      throw new IllegalStateException("no claim-check output configured");
    }
    String sha = Sha256.of(bytes);
    URI target = output.resolve(sha + suffix);
    try {
      store(target).write(target, bytes, contentType);
    } catch (IOException e) {
      throw new StoreUnavailableException("cannot write " + target + ": " + e.getMessage(), e);
    }
    return new Stored(target.toString(), sha);
  }

  /** The URI if it is syntactically sound and under an allowed root; never touches the store otherwise. */
  URI allowedUri(String uri) throws ClaimCheckException {
    URI u;
    Root r;
    try {
      u = parse(uri, "image URI");
      r = root(u);
    } catch (IllegalArgumentException e) {
      throw new ClaimCheckException(ClaimCheckException.Kind.REFUSED, e.getMessage());
    }
    for (Root allowed : roots) {
      if (!allowed.scheme().equals(r.scheme())) {
        continue;
      }
      if (r.scheme().equals("s3") && allowed.bucket().equals(r.bucket()) && r.prefix().startsWith(allowed.prefix())) {
        return u;
      }
      if (r.scheme().equals("file") && r.path().startsWith(allowed.path()) && staysInside(r.path(), allowed.path())) {
        return u;
      }
    }
    throw new ClaimCheckException(ClaimCheckException.Kind.REFUSED, uri + " is not under an allowed location "
        + settings.allowed() + " (sep-shield.stream.claim-check-allowed)");
  }

  /** A symbolic link inside an allowed root must not lead out of it. */
  private static boolean staysInside(Path file, Path root) {
    try {
      return !Files.exists(file) || file.toRealPath().startsWith(root.toRealPath());
    } catch (IOException e) {
      return false;
    }
  }

  private BlobStore store(URI u) {
    if ("file".equals(u.getScheme())) {
      return files;
    }
    synchronized (this) {
      if (s3 == null) {
        s3 = new S3BlobStore(settings.s3Endpoint() == null ? null : URI.create(settings.s3Endpoint()),
            settings.s3Region(), settings.s3PathStyle());
      }
      return s3;
    }
  }

  private static URI parse(String s, String what) {
    try {
      return new URI(s.trim());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(what + " is not a URI: " + s);
    }
  }

  private static Root root(URI u) {
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
      throw new IllegalArgumentException("query, fragment or user info not allowed in " + u);
    }
    switch (scheme) {
      case "s3" -> {
        if (u.getHost() == null || u.getHost().isEmpty()) {
          throw new IllegalArgumentException("no bucket in " + u);
        }
        return new Root("s3", u.getHost(), S3BlobStore.key(u), null);
      }
      case "file" -> {
        if (u.getAuthority() != null || u.getPath() == null || !u.getPath().startsWith("/")) {
          throw new IllegalArgumentException("file URIs must be absolute local paths (file:/dir/name): " + u);
        }
        // normalize() removes "..": a path that climbs out of a root no longer starts with it
        return new Root("file", null, null, Path.of(u).normalize());
      }
      default -> throw new IllegalArgumentException("only s3:// and file: locations are read, not '" + scheme
          + ":' (" + u + ")");
    }
  }

  @Override
  public synchronized void close() {
    if (s3 != null) {
      s3.close();
    }
  }
}
