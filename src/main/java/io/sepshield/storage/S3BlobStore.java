package io.sepshield.storage;

import java.io.IOException;
import java.net.URI;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * {@code s3://bucket/key} objects through the AWS SDK v2. Credentials and region come from the SDK's default chains
 * (environment, profile, web identity / IRSA on Kubernetes, instance metadata) unless given; an endpoint override with
 * path-style addressing reaches S3-compatible stores (MinIO, Ceph, s3proxy).
 */
final class S3BlobStore implements BlobStore {
  private final S3Client s3;

  /**
   * @param endpoint S3-compatible endpoint, or null for AWS
   * @param region region name, or null for the SDK's region chain
   */
  S3BlobStore(URI endpoint, String region, boolean pathStyle) {
    S3ClientBuilder b = S3Client.builder().httpClientBuilder(UrlConnectionHttpClient.builder())
        .forcePathStyle(pathStyle);
    if (endpoint != null) {
      // Since SDK 2.30 uploads carry CRC trailers in aws-chunked bodies by default; many S3-compatible stores
      // refuse those, so checksums are sent and validated only where the API requires them.
      b.endpointOverride(endpoint).requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
          .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
    }
    if (region != null) {
      b.region(Region.of(region));
    }
    s3 = b.build();
  }

  @Override
  public byte[] read(URI uri, long maxBytes) throws ClaimCheckException, IOException {
    String bucket = uri.getHost();
    String key = key(uri);
    try {
      HeadObjectResponse head = s3.headObject(r -> r.bucket(bucket).key(key));
      if (head.contentLength() > maxBytes) {
        throw new ClaimCheckException(ClaimCheckException.Kind.TOO_LARGE, uri + " has " + head.contentLength()
            + " bytes, limit " + maxBytes);
      }
      // Pinned to the version just measured: an object replaced in between cannot slip past the size check.
      ResponseBytes<GetObjectResponse> object = s3.getObjectAsBytes(r -> r.bucket(bucket).key(key)
          .ifMatch(head.eTag()));
      return object.asByteArray();
    } catch (NoSuchKeyException e) {
      throw new ClaimCheckException(ClaimCheckException.Kind.NOT_FOUND, "no object " + uri);
    } catch (S3Exception e) {
      if (e.statusCode() == 404) {
        throw new ClaimCheckException(ClaimCheckException.Kind.NOT_FOUND, "no object " + uri + " (" + e.statusCode()
            + ")");
      }
      throw new IOException("S3 refused " + uri + ": " + e.getMessage(), e);
    } catch (SdkException e) {
      throw new IOException("S3 unreachable for " + uri + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void write(URI uri, byte[] bytes, String contentType) throws IOException {
    try {
      s3.putObject(r -> r.bucket(uri.getHost()).key(key(uri)).contentType(contentType), RequestBody.fromBytes(bytes));
    } catch (SdkException e) {
      throw new IOException("cannot write " + uri + ": " + e.getMessage(), e);
    }
  }

  /** The key as written in the URI, without the leading slash (S3 keys are literal: no ".." resolution). */
  static String key(URI uri) {
    String path = uri.getRawPath() == null ? "" : java.net.URLDecoder.decode(uri.getRawPath().replace("+", "%2B"),
        java.nio.charset.StandardCharsets.UTF_8);
    return path.startsWith("/") ? path.substring(1) : path;
  }

  @Override
  public void close() {
    s3.close();
  }
}
