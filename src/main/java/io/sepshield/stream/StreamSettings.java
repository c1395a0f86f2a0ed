package io.sepshield.stream;

import io.sepshield.data.ImageMetadata;
import io.sepshield.storage.ClaimCheck;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Set;

/**
 * How the protection stream runs: topics, micro-batching, input limits and error handling. The crafting parameters
 * (ε, method, profile) belong to the {@link ProtectionEngine}.
 *
 * @param uploadsTopic input: Avro UploadedImage, key = upload id
 * @param protectedTopic output: Avro ProtectedImage, key = upload id
 * @param deadLetterTopic rejected uploads: the original key and value bytes plus dead-letter headers
 * @param batchSize images crafted together; the buffer is drained as soon as it holds this many
 * @param maxDelay longest an upload waits in a partial batch (wall clock)
 * @param allowedContentTypes MIME types accepted, e.g. image/png
 * @param maxBytes largest encoded upload accepted
 * @param maxWidth widest image accepted, read from the header before decoding
 * @param maxHeight tallest image accepted, read from the header before decoding
 * @param maxPixels largest width × height accepted
 * @param errorStrategy what happens to uploads that cannot be protected
 * @param failuresTopic where a {@code ProtectionFailure} event goes for every rejected upload (dead-lettered or
 *     skipped), keyed by upload id, so that uploaders can be told; null: none
 * @param maxBatchPixels memory bound of a batch: images of one shape are crafted together until their pixels
 *     (width × height) reach this; an image larger than it is crafted alone
 * @param perMegapixel crafting time per megapixel on this device (measured or configured); sizes poll and
 *     transaction timeouts from the pixels one poll can bring into crafting
 * @param claimCheck object-store references for uploads and large outputs
 * @param keepMetadata metadata kinds of an upload copied into its protected PNG (PNG and JPEG uploads); empty, the
 *     default: everything stripped. Kept EXIF always loses its GPS directory and thumbnail ({@code UploadDecoder}).
 */
public record StreamSettings(String uploadsTopic, String protectedTopic, String deadLetterTopic, int batchSize,
    Duration maxDelay, Set<String> allowedContentTypes, int maxBytes, int maxWidth, int maxHeight, long maxPixels,
    ErrorStrategy errorStrategy, String failuresTopic, long maxBatchPixels, Duration perMegapixel,
    ClaimCheck.Settings claimCheck, Set<ImageMetadata.Kind> keepMetadata) {

  public static final Set<String> DEFAULT_CONTENT_TYPES = Set.of("image/png", "image/jpeg", "image/bmp", "image/gif",
      "image/tiff");
  /** 16 Mpixel: one image at the default pixel limit, or many small ones. */
  public static final long DEFAULT_MAX_BATCH_PIXELS = 16L << 20;
  public static final Duration DEFAULT_PER_MEGAPIXEL = Duration.ofSeconds(5);
  /**
   * Room in every record limit for what surrounds the image: the Avro fields (id, metadata), the key, headers carried
   * through, dead-letter headers and Kafka's own batch and record framing.
   */
  public static final int RECORD_OVERHEAD = 256 << 10;

  public StreamSettings {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    }
    if (maxDelay.isNegative() || maxDelay.isZero()) {
      throw new IllegalArgumentException("max delay must be positive, got " + maxDelay);
    }
    if (maxBytes < 1 || maxWidth < 1 || maxHeight < 1 || maxPixels < 1) {
      throw new IllegalArgumentException("input limits must be positive");
    }
    if (maxBytes > Integer.MAX_VALUE - RECORD_OVERHEAD) {
      throw new IllegalArgumentException("max-bytes too large: " + maxBytes);
    }
    if (maxBatchPixels < 1) {
      throw new IllegalArgumentException("max-batch-pixels must be positive, got " + maxBatchPixels);
    }
    if (perMegapixel.isNegative() || perMegapixel.isZero()) {
      throw new IllegalArgumentException("seconds per megapixel must be positive, got " + perMegapixel);
    }
    allowedContentTypes = Set.copyOf(allowedContentTypes);
    keepMetadata = keepMetadata.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(keepMetadata));
  }

  /** With the default batch memory bound, crafting rate and no claim check. */
  public StreamSettings(String uploadsTopic, String protectedTopic, String deadLetterTopic, int batchSize,
      Duration maxDelay, Set<String> allowedContentTypes, int maxBytes, int maxWidth, int maxHeight, long maxPixels,
      ErrorStrategy errorStrategy, String failuresTopic) {
    this(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes, maxBytes, maxWidth,
        maxHeight, maxPixels, errorStrategy, failuresTopic, DEFAULT_MAX_BATCH_PIXELS, DEFAULT_PER_MEGAPIXEL,
        ClaimCheck.Settings.none(), Set.of());
  }

  /**
   * The one size limit every record, topic and client agrees on: {@code max-bytes} of image plus
   * {@link #RECORD_OVERHEAD}. It is the producer's {@code max.request.size}, the consumers' fetch sizes and the
   * {@code max.message.bytes} of every topic the service creates (the buffer's changelog included).
   */
  public int recordLimit() {
    return maxBytes + RECORD_OVERHEAD;
  }

  /** With the default failures topic. */
  public StreamSettings(String uploadsTopic, String protectedTopic, String deadLetterTopic, int batchSize,
      Duration maxDelay, Set<String> allowedContentTypes, int maxBytes, int maxWidth, int maxHeight, long maxPixels,
      ErrorStrategy errorStrategy) {
    this(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes, maxBytes, maxWidth,
        maxHeight, maxPixels, errorStrategy, ProtectionTopology.FAILURES_TOPIC);
  }

  /** Default topics and limits (4096 × 4096, 16 MiB, 16 Mpixel), dead-letter queue on. */
  public static StreamSettings defaults(int batchSize, Duration maxDelay) {
    return new StreamSettings(ProtectionTopology.UPLOADS_TOPIC, ProtectionTopology.PROTECTED_TOPIC,
        ProtectionTopology.DEAD_LETTER_TOPIC, batchSize, maxDelay, DEFAULT_CONTENT_TYPES, 16 << 20, 4096, 4096,
        16L << 20, ErrorStrategy.DEAD_LETTER_QUEUE);
  }

  public StreamSettings withLimits(int bytes, int width, int height, long pixels) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay,
        allowedContentTypes, bytes, width, height, pixels, errorStrategy, failuresTopic, maxBatchPixels,
        perMegapixel, claimCheck, keepMetadata);
  }

  public StreamSettings withErrorStrategy(ErrorStrategy strategy) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay,
        allowedContentTypes, maxBytes, maxWidth, maxHeight, maxPixels, strategy, failuresTopic, maxBatchPixels,
        perMegapixel, claimCheck, keepMetadata);
  }

  public StreamSettings withTopics(String uploads, String protectedImages, String deadLetters) {
    return new StreamSettings(uploads, protectedImages, deadLetters, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, maxBatchPixels, perMegapixel,
        claimCheck, keepMetadata);
  }

  /** @param topic the failures topic, or null for none */
  public StreamSettings withFailuresTopic(String topic) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, topic, maxBatchPixels, perMegapixel, claimCheck,
        keepMetadata);
  }

  /** Batch memory bound and crafting rate (see the record's parameters). */
  public StreamSettings withBatching(long pixels, Duration craftingPerMegapixel) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, pixels, craftingPerMegapixel,
        claimCheck, keepMetadata);
  }

  public StreamSettings withClaimCheck(ClaimCheck.Settings settings) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, maxBatchPixels, perMegapixel,
        settings, keepMetadata);
  }

  /** The metadata keep-list (see the record's parameters); empty strips everything. */
  public StreamSettings withKeepMetadata(Set<ImageMetadata.Kind> kinds) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, maxBatchPixels, perMegapixel,
        claimCheck, kinds);
  }

  /**
   * Most pixels one flush crafts: the buffer flushes as soon as it holds {@link #maxBatchPixels}, so before the last
   * upload arrived it held less, and that upload has at most {@link #maxPixels}.
   */
  public long pixelsPerFlush() {
    return maxBatchPixels + maxPixels;
  }

  /** Upper bound on the crafting time of one flush at {@link #perMegapixel}. */
  public Duration flushTime() {
    return Duration.ofMillis((long) Math.ceil(perMegapixel.toMillis() * (pixelsPerFlush() / 1e6)));
  }
}
