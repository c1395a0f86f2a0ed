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
 * @param maxDelay longest an upload waits in a partial batch (wall clock): the latency batch. A full batch, and
 *     everything buffered when the buffer last filled, goes at once whatever this is (the throughput batch), so a
 *     short max-delay costs no throughput under backlog
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
 * @param slowestBatch floor of the time budget of one batch (fixed costs that do not scale with pixels): a batch
 *     is over budget when crafting it takes longer than this and longer than its pixels at {@link #perMegapixel}
 * @param keepMetadata metadata kinds of an upload copied into its protected PNG (PNG and JPEG uploads); empty, the
 *     default: everything stripped. Kept EXIF always loses its GPS directory and thumbnail ({@code UploadDecoder}).
 */
public record StreamSettings(String uploadsTopic, String protectedTopic, String deadLetterTopic, int batchSize,
    Duration maxDelay, Set<String> allowedContentTypes, int maxBytes, int maxWidth, int maxHeight, long maxPixels,
    ErrorStrategy errorStrategy, String failuresTopic, long maxBatchPixels, Duration perMegapixel,
    ClaimCheck.Settings claimCheck, Duration slowestBatch,
    Set<ImageMetadata.Kind> keepMetadata) {

  public static final Set<String> DEFAULT_CONTENT_TYPES = Set.of("image/png", "image/jpeg", "image/bmp", "image/gif",
      "image/tiff");
  /**
   * serve's max-delay: short, because a partial batch only forms when the engine has nothing else to do (under
   * backlog full batches go at once). Measured 2026-12-01 (docs/performance.md, "Latency batch and throughput
   * batch"): at 2 uploads/s p50 183 ms against 1,269 ms with 2 s, and the same images/s at saturation.
   */
  public static final int DEFAULT_MAX_DELAY_MILLIS = 100;
  /** 16 Mpixel: one image at the default pixel limit, or many small ones. */
  public static final long DEFAULT_MAX_BATCH_PIXELS = 16L << 20;
  public static final Duration DEFAULT_PER_MEGAPIXEL = Duration.ofSeconds(5);
  /** The serve default of {@code slowest-batch}. */
  public static final Duration DEFAULT_SLOWEST_BATCH = Duration.ofMinutes(2);
  /** How many batches' worth (images or pixels) a task buffers at most before it crafts without its turn. */
  static final int BUFFER_CAP_BATCHES = 4;
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
    if (slowestBatch.isNegative()) {
      throw new IllegalArgumentException("slowest batch must not be negative, got " + slowestBatch);
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
        ClaimCheck.Settings.none(), DEFAULT_SLOWEST_BATCH, Set.of());
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
        perMegapixel, claimCheck, slowestBatch, keepMetadata);
  }

  public StreamSettings withErrorStrategy(ErrorStrategy strategy) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay,
        allowedContentTypes, maxBytes, maxWidth, maxHeight, maxPixels, strategy, failuresTopic, maxBatchPixels,
        perMegapixel, claimCheck, slowestBatch, keepMetadata);
  }

  public StreamSettings withTopics(String uploads, String protectedImages, String deadLetters) {
    return new StreamSettings(uploads, protectedImages, deadLetters, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, maxBatchPixels, perMegapixel,
        claimCheck, slowestBatch, keepMetadata);
  }

  /** @param topic the failures topic, or null for none */
  public StreamSettings withFailuresTopic(String topic) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, topic, maxBatchPixels, perMegapixel, claimCheck,
        slowestBatch, keepMetadata);
  }

  /** Batch memory bound and crafting rate (see the record's parameters). */
  public StreamSettings withBatching(long pixels, Duration craftingPerMegapixel) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, pixels, craftingPerMegapixel,
        claimCheck, slowestBatch, keepMetadata);
  }

  public StreamSettings withClaimCheck(ClaimCheck.Settings settings) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, maxBatchPixels, perMegapixel,
        settings, slowestBatch, keepMetadata);
  }

  /** @param floor see the record's {@code slowestBatch} */
  public StreamSettings withSlowestBatch(Duration floor) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, maxBatchPixels, perMegapixel,
        claimCheck, floor, keepMetadata);
  }

  /** The metadata keep-list (see the record's parameters); empty strips everything. */
  public StreamSettings withKeepMetadata(Set<ImageMetadata.Kind> kinds) {
    return new StreamSettings(uploadsTopic, protectedTopic, deadLetterTopic, batchSize, maxDelay, allowedContentTypes,
        maxBytes, maxWidth, maxHeight, maxPixels, errorStrategy, failuresTopic, maxBatchPixels, perMegapixel,
        claimCheck, slowestBatch, kinds);
  }

  /**
   * Most pixels one batch holds: images of one shape up to {@link #maxBatchPixels}, or one image of at most
   * {@link #maxPixels} alone. A stream thread crafts at most one batch between two polls, so this (not the buffer,
   * nor the number of tasks the thread holds) is what the poll and transaction timeouts must cover.
   */
  public long batchPixels() {
    return Math.max(maxBatchPixels, maxPixels);
  }

  /** The time budget of a batch of {@code pixels}: its pixels at {@link #perMegapixel}, at least slowest-batch. */
  public Duration batchBudget(long pixels) {
    long perPixels = (long) Math.ceil(perMegapixel.toMillis() * (pixels / 1e6));
    return Duration.ofMillis(Math.max(slowestBatch.toMillis(), perPixels));
  }

  /** The budget of the largest batch ({@link #batchPixels}): what one processing loop may spend crafting. */
  public Duration loopBudget() {
    return batchBudget(batchPixels());
  }

  /**
   * {@code max.poll.records}: at most one batch's worth of the largest images per poll ({@code max-batch-pixels /
   * max-pixels}, within 1..batch-size). A thread crafts one batch per poll; letting a poll bring more pixels than a
   * batch crafts would grow the buffer without bound under load instead of leaving the backlog in Kafka.
   */
  public int pollRecords() {
    return (int) Math.max(1, Math.min(batchSize, maxBatchPixels / maxPixels));
  }
}
