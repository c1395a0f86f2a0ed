package io.sepshield.stream;

import java.time.Duration;
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
 */
public record StreamSettings(String uploadsTopic, String protectedTopic, String deadLetterTopic, int batchSize,
    Duration maxDelay, Set<String> allowedContentTypes, int maxBytes, int maxWidth, int maxHeight, long maxPixels,
    ErrorStrategy errorStrategy, String failuresTopic) {

  public static final Set<String> DEFAULT_CONTENT_TYPES = Set.of("image/png", "image/jpeg", "image/bmp", "image/gif");

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
    allowedContentTypes = Set.copyOf(allowedContentTypes);
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
        allowedContentTypes, bytes, width, height, pixels, errorStrategy, failuresTopic);
  }

  public StreamSettings withErrorStrategy(ErrorStrategy strategy) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay,
        allowedContentTypes, maxBytes, maxWidth, maxHeight, maxPixels, strategy, failuresTopic);
  }

  public StreamSettings withTopics(String uploads, String protectedImages, String deadLetters) {
    return new StreamSettings(uploads, protectedImages, deadLetters, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic);
  }

  /** @param topic the failures topic, or null for none */
  public StreamSettings withFailuresTopic(String topic) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, topic);
  }
}
