package io.sepshield.stream;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.avro.UploadedImage;
import io.sepshield.bundle.Sha256;
import io.sepshield.data.ChwImage;
import io.sepshield.data.ImageFormatException;
import io.sepshield.data.DecodedUpload;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.data.UploadDecoder;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.registry.SchemaRegistryException;
import io.sepshield.sep.OutputCheck;
import io.sepshield.sep.ProtectedBatch;
import io.sepshield.storage.ClaimCheck;
import io.sepshield.storage.ClaimCheckException;
import io.sepshield.storage.StoreUnavailableException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.StreamsException;
import org.apache.kafka.streams.processor.Cancellable;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.service.StreamMetrics;

/**
 * Validates uploads, buffers them in a changelogged store and protects them in micro-batches of one image shape.
 *
 * <p>Works on raw bytes: Avro deserialization happens here rather than in a source serde, so that a record we
 * cannot read (bad magic byte, unknown schema id) reaches the dead-letter topic with its original bytes like any
 * other bad upload. Everything runs on the stream thread: records are never handed to another thread, and a batch
 * is forwarded and deleted from the buffer inside the same punctuation or process call, hence inside the same
 * exactly-once transaction.
 *
 * <p>One batch per call, and one per loop of the stream thread across all its tasks ({@link LoopTurns}): whatever
 * else is due waits for the next loop, so a thread that holds many partitions still polls and commits after every
 * batch, within the timeouts sized for one batch. An engine failure is retried, then bisected ({@link Bisection}).
 *
 * <p>The engine comes from a {@link BundleHolder}: the processor moves to a newly installed bundle only with an
 * empty buffer (after the batch that empties it, before the first upload of a batch, or on a punctuation tick when nothing waits), so
 * a batch is crafted by one engine and its records carry that engine's bundle id.
 *
 * <p>Size limits hold before anything is sent: an upload over max-bytes is refused before it is buffered (and
 * dead-lettered by reference), a protected image too large for a record goes to the claim-check store or, without
 * one, to the dead-letter topic, and a dead letter too large for its topic carries a reference instead of the bytes.
 * A record the broker refused would put the exactly-once transaction into an abortable state, so the same offset
 * would fail on every retry and stall the partition.
 */
final class ProtectionProcessor implements Processor<byte[], byte[], byte[], byte[]> {
  private static final System.Logger LOG = System.getLogger(ProtectionProcessor.class.getName());
  private static final int MAX_CAUSE_CHARS = 1000;
  private static final int MAX_ID_CHARS = 1000;
  private static final Map<String, String> FORMAT_BY_CONTENT_TYPE = Map.of("image/png", "png", "image/jpeg", "jpeg",
      "image/jpg", "jpeg", "image/bmp", "bmp", "image/gif", "gif", "image/tiff", "tiff");
  static final String PNG = "image/png";

  private final StreamSettings settings;
  private final BundleHolder bundles;
  private final StreamMetrics metrics;
  private final ClaimCheck claimCheck;
  private final ConfluentAvroDeserializer<UploadedImage> uploads;
  private final ConfluentAvroSerializer<ProtectedImage> results;
  private final ConfluentAvroSerializer<ProtectionFailure> failures;
  private final LoopTurns turns;
  private final EngineCall engineCall;
  private final Bisection bisection = new Bisection();

  private ProcessorContext<byte[], byte[]> context;
  private BundleHolder.Lease lease;
  private ProtectionEngine engine; // the leased one
  private KeyValueStore<String, byte[]> buffer;
  // Derived from the store (recomputed in init after a restore), so never out of step with it.
  private int pending;
  private long pendingPixels;
  private long oldestArrival = Long.MAX_VALUE;
  // Uploads that arrived up to this time are due: set when the buffer fills, so it drains batch by batch.
  private long drainMark = Long.MIN_VALUE;
  private Cancellable retryTick; // while something is due: ask for the turn on every loop
  // Uploads decoded on arrival, so that their batch does not decode them again: two batches' worth of pixels.
  private final DecodedArrivals arrivals;

  /** How a batch reaches the engine: the engine itself, or in tests a double that fails on purpose. */
  @FunctionalInterface
  interface EngineCall {
    ProtectedBatch protect(ProtectionEngine engine, LabeledImages batch);
  }

  /** A buffered upload decoded for its batch. */
  private record Item(String key, PendingImage pending, UploadedImage upload, DecodedUpload decoded) {
    String shape() {
      return decoded.channels() + "x" + decoded.height() + "x" + decoded.width();
    }
  }

  ProtectionProcessor(StreamSettings settings, BundleHolder bundles, SchemaRegistryClient registry,
      StreamMetrics metrics, ClaimCheck claimCheck, LoopTurns turns, EngineCall engineCall) {
    this.settings = settings;
    this.turns = turns;
    this.engineCall = engineCall;
    this.arrivals = new DecodedArrivals(2 * settings.batchPixels());
    this.bundles = bundles;
    this.metrics = metrics;
    this.claimCheck = claimCheck;
    this.uploads = new ConfluentAvroDeserializer<>(registry, UploadedImage.class);
    this.results = new ConfluentAvroSerializer<>(registry);
    this.results.configure(Map.of(), false);
    this.failures = new ConfluentAvroSerializer<>(registry);
    this.failures.configure(Map.of(), false);
  }

  @Override
  public void init(ProcessorContext<byte[], byte[]> context) {
    this.context = context;
    this.lease = bundles.acquire();
    this.engine = lease.engine();
    this.buffer = context.getStateStore(ProtectionTopology.BUFFER_STORE);
    pending = 0; // init runs again on the same instance when Kafka Streams revives a task
    pendingPixels = 0;
    oldestArrival = Long.MAX_VALUE;
    drainMark = Long.MIN_VALUE;
    retryTick = null;
    bisection.clear();
    arrivals.clear();
    try (KeyValueIterator<String, byte[]> it = buffer.all()) {
      while (it.hasNext()) {
        count(PendingImage.fromBytes(it.next().value));
      }
    }
    // A quarter of the max delay: a partial batch waits at most 1.25 × maxDelay (plus its turn).
    Duration tick = Duration.ofMillis(Math.max(1, settings.maxDelay().toMillis() / 4));
    context.schedule(tick, PunctuationType.WALL_CLOCK_TIME, now -> {
      if (pending > 0) {
        craftIfDue();
      } else {
        adoptCurrentBundle(); // no traffic: swap on the next tick rather than with the next batch
      }
    });
  }

  /** At a batch boundary (empty buffer): moves to the holder's current engine if a newer one was installed. */
  private void adoptCurrentBundle() {
    if (!lease.isCurrent()) {
      BundleHolder.Lease next = bundles.acquire();
      String previous = engine.bundleId();
      lease.close(); // the old engine is closed once no other task holds it
      lease = next;
      engine = next.engine();
      LOG.log(System.Logger.Level.INFO, "task {0} now protects with bundle {1} (was {2})", context.taskId(),
          engine.bundleId(), previous);
    }
  }

  @Override
  public void close() {
    turns.withdraw(this); // the images stay in the changelogged buffer for the partition's next owner
    arrivals.clear();
    if (lease != null) {
      lease.close();
      lease = null;
    }
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    if (pending == 0) {
      adoptCurrentBundle(); // a batch boundary: the first upload after a swap already gets the new bundle
    }
    long t0 = System.nanoTime();
    RecordMetadata source = context.recordMetadata().orElseThrow();
    long now = context.currentSystemTimeMs();
    List<Header> headers = List.of(record.headers().toArray());
    UploadedImage upload = null;
    byte[] stored;
    PendingImage image;
    DecodedUpload decoded;
    try {
      upload = read(record, source.topic(), headers);
      byte[] bytes = imageBytes(upload, null);
      PngCodec.ImageInfo info = checkImage(upload, bytes);
      checkLabel(upload);
      decoded = decode(bytes); // a corrupt upload never takes a place in a batch
      image = new PendingImage(upload.getId(), label(upload), now, source.topic(), source.partition(),
          source.offset(), record.timestamp(), record.key(), record.value(), headers, info.width(), info.height(),
          upload.getImageUri() == null ? null : Sha256.of(bytes));
      stored = image.toBytes();
      // Checked before buffering: a changelog record the broker refuses would fail every retry of this offset.
      if (stored.length > settings.recordLimit()) {
        throw new RejectedUpload(RejectedUpload.TOO_LARGE, "upload record with its headers needs " + stored.length
            + " bytes in the buffer, limit " + settings.recordLimit());
      }
    } catch (RejectedUpload e) {
      reject(e, upload == null ? null : upload.getId(), record.key(), record.value(), headers, source.topic(),
          source.partition(), source.offset(), record.timestamp());
      metrics.stage(StreamMetrics.Stage.ARRIVAL, System.nanoTime() - t0);
      return;
    }
    String key = String.format(Locale.ROOT, "%010d-%019d", source.partition(), source.offset());
    buffer.put(key, stored);
    count(image);
    arrivals.keep(key, new DecodedArrivals.Arrival(upload, decoded));
    metrics.stage(StreamMetrics.Stage.ARRIVAL, System.nanoTime() - t0);
    craftIfDue();
  }

  /** The upload with a usable id, or why not. */
  private UploadedImage read(Record<byte[], byte[]> record, String topic, List<Header> headers)
      throws RejectedUpload {
    if (record.value() == null) {
      throw new RejectedUpload(RejectedUpload.DESERIALIZATION_ERROR, "record has no value (tombstone)");
    }
    UploadedImage upload;
    try {
      upload = uploads.deserialize(topic, record.value());
    } catch (SerializationException e) {
      if (registryUnreachable(e)) {
        throw e; // an outage, not bad data: fail the task so the record is retried once the registry is back
      }
      throw new RejectedUpload(RejectedUpload.DESERIALIZATION_ERROR, e.getMessage(), e);
    }
    if (upload.getId().isEmpty() || upload.getId().length() > MAX_ID_CHARS) {
      throw new RejectedUpload(RejectedUpload.INVALID_ID, "id must have 1.." + MAX_ID_CHARS + " characters, has "
          + upload.getId().length());
    }
    for (Header h : headers) {
      if (h.key().length() > MAX_ID_CHARS) { // the buffer stores keys as modified UTF-8, at most 64 KiB
        throw new RejectedUpload(RejectedUpload.INVALID_ID, "header name longer than " + MAX_ID_CHARS + " characters");
      }
    }
    return upload;
  }

  /**
   * The encoded image: inline, or fetched through the claim check (only from allowed locations, at most max-bytes,
   * matching {@code pinnedSha256} when given, else the record's own imageSha256).
   */
  private byte[] imageBytes(UploadedImage upload, String pinnedSha256) throws RejectedUpload {
    if (upload.getImageUri() == null) {
      int size = upload.getImage().remaining();
      if (size > settings.maxBytes()) {
        throw new RejectedUpload(RejectedUpload.TOO_LARGE, size + " bytes, limit " + settings.maxBytes());
      }
      return toArray(upload.getImage());
    }
    if (upload.getImage().hasRemaining()) {
      throw new RejectedUpload(RejectedUpload.CLAIM_CHECK_ERROR, "both image bytes and imageUri are set");
    }
    try {
      return claimCheck.fetch(upload.getImageUri(), pinnedSha256 != null ? pinnedSha256 : upload.getImageSha256(),
          settings.maxBytes());
    } catch (ClaimCheckException e) {
      throw new RejectedUpload(e.kind() == ClaimCheckException.Kind.TOO_LARGE ? RejectedUpload.TOO_LARGE
          : RejectedUpload.CLAIM_CHECK_ERROR, e.kind() + ": " + e.getMessage(), e);
    }
  }

  /** Content type, magic bytes and the size the header announces (a decompression bomb is refused unopened). */
  private PngCodec.ImageInfo checkImage(UploadedImage upload, byte[] bytes) throws RejectedUpload {
    String contentType = contentType(upload);
    if (!settings.allowedContentTypes().contains(contentType)) {
      throw new RejectedUpload(RejectedUpload.UNSUPPORTED_FORMAT, "content type '" + upload.getContentType()
          + "' is not accepted; accepted: " + settings.allowedContentTypes());
    }
    if (bytes.length == 0) { // a failed or cut-off upload rather than a wrong format
      throw new RejectedUpload(RejectedUpload.DECODE_ERROR, "empty image: 0 bytes and no imageUri");
    }
    String format = PngCodec.detectFormat(bytes);
    if (format == null) {
      throw new RejectedUpload(RejectedUpload.UNSUPPORTED_FORMAT, "data is not a PNG, JPEG, BMP, GIF or TIFF image");
    }
    if (!format.equals(FORMAT_BY_CONTENT_TYPE.get(contentType))) {
      throw new RejectedUpload(RejectedUpload.UNSUPPORTED_FORMAT, "content type " + contentType
          + " but the data is " + format.toUpperCase(Locale.ROOT));
    }
    PngCodec.ImageInfo info;
    try {
      info = PngCodec.probe(bytes);
    } catch (ImageFormatException e) {
      throw new RejectedUpload(reason(e.kind()), e.getMessage(), e); // e.g. a 12-bit JPEG is unsupported, not corrupt
    }
    if (info.width() > settings.maxWidth() || info.height() > settings.maxHeight()
        || (long) info.width() * info.height() > settings.maxPixels()) {
      throw new RejectedUpload(RejectedUpload.TOO_LARGE, info.width() + "x" + info.height() + " pixels, limit "
          + settings.maxWidth() + "x" + settings.maxHeight() + " and " + settings.maxPixels() + " pixels");
    }
    return info;
  }

  private void checkLabel(UploadedImage upload) throws RejectedUpload {
    int label = label(upload);
    if (label != LabeledImages.UNKNOWN_LABEL && (label < 0 || label >= engine.numClasses())) {
      throw new RejectedUpload(RejectedUpload.INVALID_LABEL, "label " + label + " outside 0.."
          + (engine.numClasses() - 1));
    }
  }

  private static int label(UploadedImage upload) {
    return upload.getLabel() == null ? LabeledImages.UNKNOWN_LABEL : upload.getLabel();
  }

  private static String contentType(UploadedImage upload) {
    return upload.getContentType().split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
  }

  /**
   * Decodes the upload at its own size and colour (EXIF orientation applied, alpha kept aside, metadata stripped
   * except the keep-list's kinds, which the decoded upload carries into its PNG); the engine crafts through a
   * differentiable resize to the bundle's input. A refusal keeps the decoder's kind.
   */
  private DecodedUpload decode(byte[] bytes) throws RejectedUpload {
    try {
      return UploadDecoder.decode(bytes, new UploadDecoder.Options(settings.keepMetadata(), settings.maxWidth(),
          settings.maxHeight(), settings.maxPixels()));
    } catch (ImageFormatException e) {
      throw new RejectedUpload(reason(e.kind()), e.kind() + ": " + e.getMessage(), e);
    }
  }

  /** The dead-letter reason for a decoder's refusal. */
  private static String reason(ImageFormatException.Kind kind) {
    return switch (kind) {
      case TOO_LARGE -> RejectedUpload.TOO_LARGE;
      case MULTI_FRAME -> RejectedUpload.MULTI_FRAME;
      case UNSUPPORTED -> RejectedUpload.UNSUPPORTED_FORMAT;
      default -> RejectedUpload.DECODE_ERROR;
    };
  }

  /** Buffer keys of {@code items}. */
  private static List<String> keys(List<Item> items) {
    return items.stream().map(Item::key).toList();
  }

  /**
   * Whether the buffer holds work to craft now: a full batch (images or pixels), an upload older than max-delay, or
   * uploads that were waiting when it last filled (a full buffer is drained batch by batch, not left to max-delay),
   * or a failed batch being retried or bisected.
   */
  private boolean due(long now) {
    return pending > 0 && (pending >= settings.batchSize() || pendingPixels >= settings.maxBatchPixels()
        || now - oldestArrival >= settings.maxDelay().toMillis() || oldestArrival <= drainMark
        || !bisection.isEmpty());
  }

  /**
   * Crafts one batch if one is due and the stream thread's turn is free ({@link LoopTurns}); otherwise asks again
   * on every loop (a 1 ms punctuator) until it has crafted. A buffer past its cap crafts without waiting for the
   * turn: the buffer stays bounded even when batches come out smaller than what a poll brings (many image shapes
   * under sustained overload), at the price of a second batch in that loop (counted as an overflow).
   */
  private void craftIfDue() {
    long now = context.currentSystemTimeMs();
    if (pending >= settings.batchSize() || pendingPixels >= settings.maxBatchPixels()) {
      drainMark = Math.max(drainMark, now);
    }
    if (!due(now)) {
      idle();
      return;
    }
    boolean turn = turns.tryTake(this, context);
    boolean overflow = !turn && (pending >= StreamSettings.BUFFER_CAP_BATCHES * settings.batchSize()
        || pendingPixels >= StreamSettings.BUFFER_CAP_BATCHES * settings.batchPixels());
    if (overflow) {
      metrics.bufferOverflow();
      LOG.log(System.Logger.Level.WARNING, "task {0} holds {1} uploads ({2} pixels), past its cap: crafting "
          + "without waiting for the thread''s turn", context.taskId(), pending, pendingPixels);
    }
    if (turn || overflow) {
      craftNext();
      if (pending == 0) {
        adoptCurrentBundle(); // a batch boundary: nothing is buffered for the old engine
      }
    }
    if (due(context.currentSystemTimeMs())) {
      if (retryTick == null) { // asks on every loop until the turn comes
        retryTick = context.schedule(Duration.ofMillis(1), PunctuationType.WALL_CLOCK_TIME, t -> craftIfDue());
      }
    } else {
      idle();
    }
  }

  private void idle() {
    turns.withdraw(this);
    if (retryTick != null) {
      retryTick.cancel();
      retryTick = null;
    }
  }

  /**
   * Crafts one batch: the next attempt of a failed batch, else images of the oldest upload's shape (as decoded on
   * arrival, or decoded again from the buffer, in arrival order) up to batch-size images and max-batch-pixels pixels (an image alone may exceed it). Forwards
   * the results and deletes them from the buffer, then recounts what is left.
   */
  private void craftNext() {
    long t0 = System.nanoTime();
    List<KeyValue<String, PendingImage>> buffered = new ArrayList<>(pending);
    try (KeyValueIterator<String, byte[]> it = buffer.all()) {
      while (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        buffered.add(KeyValue.pair(kv.key, PendingImage.fromBytes(kv.value)));
      }
    }
    Set<String> removed = new HashSet<>();
    Bisection.Attempt attempt = bisection.next();
    List<Item> batch = attempt != null ? decodeAttempt(attempt, buffered, removed) : nextChunk(buffered, removed);
    metrics.stage(StreamMetrics.Stage.PREPARE, System.nanoTime() - t0);
    if (!batch.isEmpty()) {
      craft(batch, attempt, removed);
    }
    pending = 0;
    pendingPixels = 0;
    oldestArrival = Long.MAX_VALUE;
    for (KeyValue<String, PendingImage> kv : buffered) {
      if (!removed.contains(kv.key)) {
        count(kv.value);
      }
    }
    if (pending == 0) {
      bisection.clear();
    }
  }

  private void count(PendingImage p) {
    pending++;
    pendingPixels += p.pixelCount();
    oldestArrival = Math.min(oldestArrival, p.arrivedAt());
  }

  /** The images of a failed batch's next attempt still in the buffer, decoded. */
  private List<Item> decodeAttempt(Bisection.Attempt attempt, List<KeyValue<String, PendingImage>> buffered,
      Set<String> removed) {
    Set<String> wanted = Set.copyOf(attempt.keys());
    List<Item> batch = new ArrayList<>();
    for (KeyValue<String, PendingImage> kv : buffered) {
      if (wanted.contains(kv.key)) {
        Item item = decodeBuffered(kv.key, kv.value, removed);
        if (item != null) {
          batch.add(item);
        }
      }
    }
    return batch;
  }

  /** The oldest upload and the uploads of its shape after it, up to one batch. */
  private List<Item> nextChunk(List<KeyValue<String, PendingImage>> buffered, Set<String> removed) {
    List<KeyValue<String, PendingImage>> byAge = new ArrayList<>(buffered);
    byAge.sort(java.util.Comparator.comparingLong(kv -> kv.value.arrivedAt())); // stable: key order on ties
    Item first = null;
    for (KeyValue<String, PendingImage> kv : byAge) {
      first = decodeBuffered(kv.key, kv.value, removed); // one that no longer decodes is dead-lettered here
      if (first != null) {
        break;
      }
    }
    List<Item> batch = new ArrayList<>();
    if (first == null) {
      return batch;
    }
    batch.add(first);
    long perImage = (long) first.decoded().height() * first.decoded().width();
    int n = (int) Math.max(1, Math.min(settings.batchSize(), settings.maxBatchPixels() / perImage));
    for (KeyValue<String, PendingImage> kv : buffered) {
      if (batch.size() >= n) {
        break;
      }
      // The header's size (before EXIF orientation) says which uploads can have this shape: only those are decoded.
      long known = kv.value.pixelCount(); // 0: restored from an older format, size unknown
      if (kv.key.equals(first.key()) || removed.contains(kv.key) || (known != 0 && known != perImage)) {
        continue;
      }
      Item item = decodeBuffered(kv.key, kv.value, removed);
      if (item != null && item.shape().equals(first.shape())) {
        batch.add(item);
      }
    }
    return batch;
  }

  /**
   * A buffered upload decoded for crafting (read again from its record, its claim-checked bytes pinned to the
   * SHA-256 seen on arrival), or null after dead-lettering it: it may not decode, or no longer fit the engine (its
   * label after a bundle swap).
   */
  private Item decodeBuffered(String key, PendingImage p, Set<String> removed) {
    UploadedImage upload = null;
    try {
      DecodedArrivals.Arrival arrival = arrivals.get(key);
      if (arrival != null) { // read, fetched, checked and decoded on arrival: only the label may have gone stale
        upload = arrival.upload();
        checkLabel(upload);
        return new Item(key, p, upload, arrival.decoded());
      }
      Record<byte[], byte[]> original = new Record<>(p.originalKey(), p.originalValue(), p.timestamp(),
          p.kafkaHeaders());
      upload = read(original, p.topic(), p.headers());
      byte[] bytes = imageBytes(upload, p.claimSha256());
      checkImage(upload, bytes);
      checkLabel(upload);
      return new Item(key, p, upload, decode(bytes));
    } catch (RejectedUpload e) {
      reject(e, upload == null ? p.id() : upload.getId(), p.originalKey(), p.originalValue(), p.headers(),
          p.topic(), p.partition(), p.offset(), p.timestamp());
      forget(key);
      removed.add(key);
      return null;
    }
  }

  /**
   * Crafts images of one shape together and forwards (or dead-letters) each. When the engine fails, nothing is
   * forwarded or deleted: the batch is retried, then bisected, on the task's next turns ({@link Bisection}), and
   * only an image that fails alone is dead-lettered.
   */
  private void craft(List<Item> batch, Bisection.Attempt attempt, Set<String> removed) {
    ChwImage first = batch.get(0).decoded().colour();
    int size = first.channels() * first.height() * first.width();
    byte[] pixels = new byte[batch.size() * size];
    int[] labels = new int[batch.size()];
    List<String> ids = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      Item item = batch.get(i);
      System.arraycopy(item.decoded().colour().pixels(), 0, pixels, i * size, size);
      labels[i] = item.pending().label();
      ids.add(item.pending().id());
    }
    ProtectedBatch result;
    long t0 = System.nanoTime();
    try {
      result = engineCall.protect(engine, new LabeledImages(first.channels(), first.height(), first.width(), pixels,
          labels, engine.classNames(), ids));
    } catch (RuntimeException e) {
      metrics.engineFailure();
      List<String> alone = bisection.failed(keys(batch), attempt);
      LOG.log(System.Logger.Level.WARNING, "task {0}: the engine failed on {1} image(s) of {2}{3}: {4}",
          context.taskId(), batch.size(), batch.get(0).shape(), alone.isEmpty() ? " (retried on the next turn)"
              : " alone (dead-lettered)", String.valueOf(e));
      for (Item item : batch) {
        if (alone.contains(item.key())) {
          PendingImage p = item.pending();
          RejectedUpload rejected = new RejectedUpload(RejectedUpload.PROTECTION_ERROR, String.valueOf(e), e);
          reject(rejected, p.id(), p.originalKey(), p.originalValue(), p.headers(), p.topic(), p.partition(),
              p.offset(), p.timestamp());
          forget(item.key());
          removed.add(item.key());
        }
      }
      return;
    }
    long t1 = System.nanoTime();
    long nanos = t1 - t0;
    long batchPixels = (long) batch.size() * first.height() * first.width();
    Duration budget = settings.batchBudget(batchPixels);
    metrics.batchCrafted(batch.size(), nanos, budget.toNanos());
    if (nanos > budget.toNanos()) {
      LOG.log(System.Logger.Level.WARNING, "task {0}: a batch of {1} image(s), {2} pixels, took {3} ms, over its "
          + "budget of {4} ms (slowest-batch {5}, {6} per megapixel): raise seconds-per-megapixel/slowest-batch "
          + "(they size max.poll.interval.ms and the transaction timeout) or lower max-batch-pixels",
          context.taskId(), batch.size(), batchPixels, nanos / 1_000_000, budget.toMillis(),
          settings.slowestBatch(), settings.perMegapixel());
    }
    // Kafka Streams caches the wall clock once per record or punctuation, so after crafting its time is that of the
    // call's start (a one-image batch would report 0 ms); the system clock is later by the crafting. The larger of
    // the two keeps a test driver's advanced mock clock working.
    long now = Math.max(context.currentSystemTimeMs(), System.currentTimeMillis());
    for (int i = 0; i < batch.size(); i++) {
      Item item = batch.get(i);
      PendingImage p = item.pending();
      try {
        forwardProtected(item, result, i, now);
      } catch (RejectedUpload e) {
        reject(e, p.id(), p.originalKey(), p.originalValue(), p.headers(), p.topic(), p.partition(), p.offset(),
            p.timestamp());
      }
      forget(item.key());
      removed.add(item.key());
    }
    metrics.stage(StreamMetrics.Stage.DELIVER, System.nanoTime() - t1);
  }

  /** Deletes a crafted or rejected upload from the buffer, and its decoded pixels from memory. */
  private void forget(String key) {
    buffer.delete(key);
    arrivals.forget(key);
  }

  private void forwardProtected(Item item, ProtectedBatch result, int i, long now) throws RejectedUpload {
    PendingImage p = item.pending();
    ChwImage original = item.decoded().colour();
    byte[] crafted = result.images().image(i);
    var s = engine.settings();
    // The output invariants (shape, ε-bound on every pixel and channel) on the delivered pixels, before anything
    // leaves the processor; the same pass measures the max |δ| the record reports.
    OutputCheck.Measured measured = new OutputCheck(original.channels(), original.height(), original.width(),
        s.epsilon()).measure(original.pixels(), crafted);
    if (measured.violation().isPresent()) {
      throw new RejectedUpload(RejectedUpload.EPSILON_VIOLATION, measured.violation().get() + " at "
          + item.shape());
    }
    int delta = measured.maxAbsDelta();
    byte[] png = item.decoded().encodePng(crafted); // alpha re-attached untouched
    ProtectedImage.Builder out = ProtectedImage.newBuilder()
        .setId(p.id())
        .setPng(ByteBuffer.wrap(png))
        .setWidth(original.width())
        .setHeight(original.height())
        .setChannels(original.channels())
        .setEpsilon255(s.epsilon255())
        .setMethod(s.method().cliName().toUpperCase(Locale.ROOT))
        .setProfile(engine.profile())
        .setBundleId(engine.bundleId())
        .setTargetClass(result.targets()[i])
        .setLabel(result.images().label(i))
        .setLabelPredicted(result.labelPredicted()[i])
        .setMaxAbsDelta255(delta)
        // From acceptance to publication, so it includes the wait for the batch to fill.
        .setProcessingMillis(now - p.arrivedAt())
        .setProtectedAt(Instant.ofEpochMilli(now))
        .setContentType(PNG)
        .setOriginalContentType(contentType(item.upload()))
        .setHasAlpha(item.decoded().alpha() != null)
        .setReductions(item.decoded().reductions());
    byte[] key = utf8(p.id());
    Headers headers = p.kafkaHeaders();
    boolean stored = false;
    if (claimCheck.canStore() && png.length > claimCheck.settings().outputThreshold()) {
      claimChecked(out, png);
      stored = true;
    }
    // A registry outage here propagates and fails the task: the transaction aborts and the batch is redone.
    byte[] value = results.serialize(settings.protectedTopic(), out.build());
    if (recordSize(key, value, headers) > settings.recordLimit() && !stored && claimCheck.canStore()) {
      claimChecked(out, png);
      value = results.serialize(settings.protectedTopic(), out.build());
    }
    int size = recordSize(key, value, headers);
    if (size > settings.recordLimit()) { // never send what the broker refuses: it would fail the whole transaction
      throw new RejectedUpload(RejectedUpload.OUTPUT_TOO_LARGE, "protected record needs " + size
          + " bytes, limit " + settings.recordLimit() + (claimCheck.canStore() ? ""
              : "; set sep-shield.stream.claim-check-output to store large outputs by reference"));
    }
    context.forward(new Record<>(key, value, p.timestamp(), headers), ProtectionTopology.PROTECTED_SINK);
    metrics.protectedImage(p.timestamp(), now);
  }

  /** Moves the PNG to the claim-check store: the record carries its URI and SHA-256, {@code png} is empty. */
  private void claimChecked(ProtectedImage.Builder out, byte[] png) {
    ClaimCheck.Stored stored = claimCheck.store(png, ".png", PNG);
    out.setPng(ByteBuffer.allocate(0)).setPngUri(stored.uri()).setPngSha256(stored.sha256());
  }

  private void reject(RejectedUpload e, String id, byte[] key, byte[] value, List<Header> headers, String topic,
      int partition, long offset, long timestamp) {
    String where = topic + "-" + partition + "@" + offset + (id == null ? "" : " (id " + id + ")");
    metrics.rejected(e.reason(), settings.errorStrategy());
    String cause = String.valueOf(e.getMessage());
    cause = cause.length() > MAX_CAUSE_CHARS ? cause.substring(0, MAX_CAUSE_CHARS) : cause;
    if (settings.errorStrategy() != ErrorStrategy.FAIL) {
      publishFailure(e, cause, id, key, headers, topic, partition, offset, timestamp);
    }
    switch (settings.errorStrategy()) {
      case DEAD_LETTER_QUEUE -> {
        // By reference when the bytes are the problem or would not fit: the partition keeps flowing either way.
        boolean omit = value != null && (RejectedUpload.TOO_LARGE.equals(e.reason())
            || recordSize(key, value, deadLetterHeaders(headers, e, cause, topic, partition, offset, value, false))
                > settings.recordLimit());
        byte[] deadKey = key;
        Headers h = deadLetterHeaders(headers, e, cause, topic, partition, offset, value, omit);
        if (recordSize(key, omit ? null : value, h) > settings.recordLimit()) {
          // Only when the upload's own key and headers fill the limit: keep the reference, drop them.
          deadKey = null;
          omit = value != null;
          h = deadLetterHeaders(List.of(), e, cause, topic, partition, offset, value, omit);
        }
        context.forward(new Record<>(deadKey, omit ? null : value, timestamp, h),
            ProtectionTopology.DEAD_LETTER_SINK);
        LOG.log(System.Logger.Level.INFO, "dead-lettered {0}: {1} {2}{3}", where, e.reason(), cause,
            omit ? " (by reference, value omitted)" : "");
      }
      case CONTINUE -> {
        LOG.log(System.Logger.Level.WARNING, "skipped {0}: {1} {2}", where, e.reason(), e.getMessage());
      }
      case FAIL -> throw new StreamsException("cannot protect " + where + ": " + e.reason() + " " + e.getMessage(), e);
    }
  }

  /** The upload's headers plus the dead-letter headers ({@link DeadLetters}). */
  private static Headers deadLetterHeaders(List<Header> carried, RejectedUpload e, String cause, String topic,
      int partition, long offset, byte[] value, boolean omitted) {
    Headers h = new RecordHeaders();
    carried.forEach(h::add);
    h.add(DeadLetters.REASON, utf8(e.reason()));
    h.add(DeadLetters.CAUSE, utf8(cause));
    h.add(DeadLetters.TOPIC, utf8(topic));
    h.add(DeadLetters.PARTITION, utf8(Integer.toString(partition)));
    h.add(DeadLetters.OFFSET, utf8(Long.toString(offset)));
    if (value != null) {
      h.add(DeadLetters.SHA256, utf8(Sha256.of(value)));
      h.add(DeadLetters.SIZE, utf8(Integer.toString(value.length)));
    }
    if (omitted) {
      h.add(DeadLetters.VALUE_OMITTED, utf8("true"));
    }
    return h;
  }

  /**
   * An upper bound on the bytes a record takes in a batch (key, value, header names and values, plus framing): what
   * is compared with the topic's max.message.bytes and the producer's max.request.size before sending.
   */
  static int recordSize(byte[] key, byte[] value, Headers headers) {
    long size = 128L + (key == null ? 0 : key.length) + (value == null ? 0 : value.length);
    for (Header h : headers) {
      size += 10L + h.key().getBytes(StandardCharsets.UTF_8).length + (h.value() == null ? 0 : h.value().length);
    }
    return (int) Math.min(Integer.MAX_VALUE, size);
  }

  /**
   * The failure as an event an uploader-facing backend can consume without parsing dead-letter headers: keyed by the
   * upload id when it is known (else the record's own key), with the upload's headers (trace, correlation).
   */
  private void publishFailure(RejectedUpload e, String cause, String id, byte[] key, List<Header> headers,
      String topic, int partition, long offset, long timestamp) {
    if (settings.failuresTopic() == null) {
      return;
    }
    ProtectionFailure failure = ProtectionFailure.newBuilder().setId(id).setReason(e.reason()).setCause(cause)
        .setTopic(topic).setPartition(partition).setOffset(offset).setFailedAt(Instant.now()).build();
    Headers h = new RecordHeaders();
    headers.forEach(h::add);
    byte[] failureKey = id != null ? utf8(id) : key;
    byte[] value = failures.serialize(settings.failuresTopic(), failure);
    if (recordSize(failureKey, value, h) > settings.recordLimit()) {
      h = new RecordHeaders(); // the upload's headers alone fill the limit: the event goes without them
    }
    context.forward(new Record<>(failureKey, value, timestamp, h), ProtectionTopology.FAILURES_SINK);
  }

  /** A registry failure that is no verdict on the data (outage, 5xx, 401/403, 408, 429): retry, never dead-letter. */
  static boolean registryUnreachable(Throwable e) {
    return SchemaRegistryException.retriableCause(e);
  }

  /** An object store that failed (not a bad reference): retried like a registry outage. */
  static boolean storeUnavailable(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof StoreUnavailableException) {
        return true;
      }
    }
    return false;
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
