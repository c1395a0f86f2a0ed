package io.sepshield.storage;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.bundle.Sha256;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The claim check reads only allowed locations, verifies sizes and checksums, and writes content-addressed. */
class ClaimCheckTest {
  @TempDir
  Path dir;

  private ClaimCheck files(Path allowed, Path output) {
    return new ClaimCheck(new ClaimCheck.Settings(List.of(allowed.toUri().toString()),
        output == null ? null : output.toUri().toString(), 0, null, null, false));
  }

  @Test
  void readsFilesUnderAnAllowedRootOnly() throws Exception {
    Path allowed = Files.createDirectories(dir.resolve("uploads"));
    Path outside = Files.createDirectories(dir.resolve("secrets"));
    byte[] image = "image bytes".getBytes(StandardCharsets.UTF_8);
    Files.write(allowed.resolve("a.png"), image);
    Files.write(outside.resolve("key"), image);
    Files.createSymbolicLink(allowed.resolve("link"), outside.resolve("key"));
    try (ClaimCheck check = files(allowed, null)) {
      assertArrayEquals(image, check.fetch(allowed.resolve("a.png").toUri().toString(), null, 100));
      assertArrayEquals(image, check.fetch(allowed.resolve("a.png").toUri().toString(), Sha256.of(image), 100));
      assertEquals(ClaimCheckException.Kind.CHECKSUM_MISMATCH, kind(check,
          allowed.resolve("a.png").toUri().toString(), Sha256.of(new byte[1])));
      assertEquals(ClaimCheckException.Kind.NOT_FOUND, kind(check, allowed.resolve("b.png").toUri().toString(),
          null));
      for (String refused : List.of(outside.resolve("key").toUri().toString(),
          "file:" + allowed + "/../secrets/key", allowed.resolve("link").toUri().toString(),
          "http://169.254.169.254/latest/meta-data/", "https://example.com/a.png", "ftp://host/a.png",
          "file://otherhost" + allowed + "/a.png", allowed.resolve("a.png").toUri() + "?x=1", "a.png", "s3://b/k")) {
        assertEquals(ClaimCheckException.Kind.REFUSED, kind(check, refused, null), refused);
      }
      ClaimCheckException tooLarge = assertThrows(ClaimCheckException.class,
          () -> check.fetch(allowed.resolve("a.png").toUri().toString(), null, 5));
      assertEquals(ClaimCheckException.Kind.TOO_LARGE, tooLarge.kind());
      assertFalse(check.canStore());
    }
  }

  @Test
  void storesContentAddressedFiles() throws Exception {
    Path output = dir.resolve("protected");
    try (ClaimCheck check = files(dir, output)) {
      byte[] png = {1, 2, 3};
      ClaimCheck.Stored stored = check.store(png, ".png", "image/png");
      assertEquals(Sha256.of(png), stored.sha256());
      assertEquals(output.resolve(stored.sha256() + ".png").toUri(), URI.create(stored.uri()));
      assertArrayEquals(png, Files.readAllBytes(Path.of(URI.create(stored.uri()))));
      assertEquals(stored, check.store(png, ".png", "image/png"), "a redone batch writes the same object");
      assertArrayEquals(png, check.fetch(stored.uri(), stored.sha256(), 10));
      assertArrayEquals(png, check.fetch(stored.uri(), stored.sha256(), Long.MAX_VALUE), "no limit is no limit");
    }
  }

  /** Against an in-process S3-compatible server (s3proxy, see {@link S3ProxyServer}) through the AWS SDK. */
  @Test
  void readsAndWritesS3ThroughTheAwsSdk() throws Exception {
    try (S3ProxyServer server = S3ProxyServer.start()) {
      ClaimCheck.Settings settings = server.settings(List.of("s3://media/uploads/"), "s3://media/protected/", 0);
      byte[] image = new byte[300_000];
      new java.util.Random(3).nextBytes(image);
      try (S3Client s3 = client(server)) {
        s3.createBucket(r -> r.bucket("media"));
        s3.putObject(r -> r.bucket("media").key("uploads/photo 1.png"), RequestBody.fromBytes(image));
        try (ClaimCheck check = new ClaimCheck(settings)) {
          assertArrayEquals(image, check.fetch("s3://media/uploads/photo%201.png", Sha256.of(image),
              image.length));
          assertEquals(ClaimCheckException.Kind.TOO_LARGE, kind(check, "s3://media/uploads/photo%201.png", null,
              1000));
          assertEquals(ClaimCheckException.Kind.NOT_FOUND, kind(check, "s3://media/uploads/missing.png", null));
          assertEquals(ClaimCheckException.Kind.REFUSED, kind(check, "s3://other/uploads/a.png", null));
          assertEquals(ClaimCheckException.Kind.REFUSED, kind(check, "s3://media/elsewhere/a.png", null));

          ClaimCheck.Stored out = check.store(image, ".png", "image/png");
          assertEquals("s3://media/protected/" + Sha256.of(image) + ".png", out.uri());
          assertEquals(ClaimCheckException.Kind.REFUSED, kind(check, out.uri(), null),
              "outputs are not under the upload allow-list");
          assertArrayEquals(image, s3.getObjectAsBytes(r -> r.bucket("media").key("protected/" + Sha256.of(image)
              + ".png")).asByteArray(), "written where the URI says");
        }
      }
    }
  }

  static S3Client client(S3ProxyServer server) {
    return S3Client.builder().endpointOverride(URI.create(server.endpoint())).region(Region.US_EAST_1)
        .forcePathStyle(true).httpClientBuilder(UrlConnectionHttpClient.builder())
        .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
        .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(S3ProxyServer.ACCESS_KEY,
            S3ProxyServer.SECRET_KEY))).build();
  }

  private static ClaimCheckException.Kind kind(ClaimCheck check, String uri, String sha) {
    return kind(check, uri, sha, 1 << 20);
  }

  private static ClaimCheckException.Kind kind(ClaimCheck check, String uri, String sha, long max) {
    return assertThrows(ClaimCheckException.class, () -> check.fetch(uri, sha, max), uri).kind();
  }
}
