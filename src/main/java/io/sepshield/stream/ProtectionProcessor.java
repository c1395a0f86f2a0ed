package io.sepshield.stream;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.ChwImage;
import io.sepshield.data.ImageFormatException;
import io.sepshield.data.ImageResize;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.registry.SchemaRegistryException;
import io.sepshield.sep.ProtectedBatch;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.StreamsException;
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
 * Validates and decodes uploads, buffers them in a changelogged store and protects them in micro-batches.
 *
 * <p>Works on raw bytes: Avro deserialization happens here rather than in a source serde, so that a record we
 * cannot read (bad magic byte, unknown schema id) reaches the dead-letter topic with its original bytes like any
 * other bad upload. Everything runs on the stream thread: records are never handed to another thread, and a batch
 * is forwarded and deleted from the buffer inside the same punctuation or process call, hence inside the same
 * exactly-once transaction.
 *
 * <p>The engine comes from a {@link BundleHolder}: the processor moves to a newly installed bundle only with an
 * empty buffer (after a flush, before the first upload of a batch, or on a punctuation tick when nothing waits), so
 * a batch is crafted by one engine, for the input shape its images were decoded to, and its records carry that
 * engine's bundle id.
 */
final class ProtectionProcessor implements Processor<byte[], byte[], byte[], byte[]> {
  private static final System.Logger LOG = System.getLogger(ProtectionProcessor.class.getName());
  private static final int MAX_CAUSE_CHARS = 1000;
  private static final int MAX_ID_CHARS = 1000;
  private static final Map<String, String> FORMAT_BY_CONTENT_TYPE = Map.of("image/png", "png", "image/jpeg", "jpeg",
      "image/jpg", "jpeg", "image/bmp", "bmp", "image/gif", "gif");

  private final StreamSettings settings;
  private final BundleHolder bundles;
  private final StreamMetrics metrics;
  private final ConfluentAvroDeserializer<UploadedImage> uploads;
  private final ConfluentAvroSerializer<ProtectedImage> results;
  private final ConfluentAvroSerializer<ProtectionFailure> failures;

  private ProcessorContext<byte[], byte[]> context;
  private BundleHolder.Lease lease;
  private ProtectionEngine engine; // the leased one
  private KeyValueStore<String, byte[]> buffer;
  // Derived from the store (recomputed in init after a restore), so never out of step with it.
  private int pending;
  private long oldestArrival = Long.MAX_VALUE;

  ProtectionProcessor(StreamSettings settings, BundleHolder bundles, SchemaRegistryClient registry,
      StreamMetrics metrics) {
    this.settings = settings;
    this.bundles = bundles;
    this.metrics = metrics;
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
    oldestArrival = Long.MAX_VALUE;
    try (KeyValueIterator<String, byte[]> it = buffer.all()) {
      while (it.hasNext()) {
        pending++;
        oldestArrival = Math.min(oldestArrival, PendingImage.fromBytes(it.next().value).arrivedAt());
      }
    }
    // A quarter of the max delay: a partial batch waits at most 1.25 × maxDelay.
    Duration tick = Duration.ofMillis(Math.max(1, settings.maxDelay().toMillis() / 4));
    context.schedule(tick, PunctuationType.WALL_CLOCK_TIME, now -> {
      if (pending > 0 && now - oldestArrival >= settings.maxDelay().toMillis()) {
        flush();
      } else if (pending == 0) {
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
    RecordMetadata source = context.recordMetadata().orElseThrow();
    long now = context.currentSystemTimeMs();
    List<Header> headers = List.of(record.headers().toArray());
    UploadedImage upload = null;
    PendingImage image;
    try {
      upload = read(record, source.topic(), headers);
      image = accept(upload, record, source.topic(), source.partition(), source.offset(), now, headers);
    } catch (RejectedUpload e) {
      reject(e, upload == null ? null : upload.getId(), record.key(), record.value(), headers, source.topic(),
          source.partition(), source.offset(), record.timestamp());
      return;
    }
    buffer.put(String.format(Locale.ROOT, "%010d-%019d", source.partition(), source.offset()), image.toBytes());
    pending++;
    oldestArrival = Math.min(oldestArrival, now);
    if (pending >= settings.batchSize()) {
      flush();
    }
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

  /** The upload checked, decoded and resized for the current engine, or why it cannot be protected. */
  private PendingImage accept(UploadedImage upload, Record<byte[], byte[]> record, String topic, int partition,
      long offset, long now, List<Header> headers) throws RejectedUpload {
    String contentType = upload.getContentType().split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    if (!settings.allowedContentTypes().contains(contentType)) {
      throw new RejectedUpload(RejectedUpload.UNSUPPORTED_FORMAT, "content type '" + upload.getContentType()
          + "' is not accepted; accepted: " + settings.allowedContentTypes());
    }
    byte[] bytes = toArray(upload.getImage());
    if (bytes.length > settings.maxBytes()) {
      throw new RejectedUpload(RejectedUpload.TOO_LARGE, bytes.length + " bytes, limit " + settings.maxBytes());
    }
    String format = PngCodec.detectFormat(bytes);
    if (format == null) {
      throw new RejectedUpload(RejectedUpload.UNSUPPORTED_FORMAT, "data is not a PNG, JPEG, BMP or GIF image");
    }
    if (!format.equals(FORMAT_BY_CONTENT_TYPE.get(contentType))) {
      throw new RejectedUpload(RejectedUpload.UNSUPPORTED_FORMAT, "content type " + contentType
          + " but the data is " + format.toUpperCase(Locale.ROOT));
    }
    ChwImage decoded;
    try {
      // Header first: a decompression bomb is refused before its pixels are allocated.
      PngCodec.ImageInfo info = PngCodec.probe(bytes);
      if (info.width() > settings.maxWidth() || info.height() > settings.maxHeight()
          || (long) info.width() * info.height() > settings.maxPixels()) {
        throw new RejectedUpload(RejectedUpload.TOO_LARGE, info.width() + "x" + info.height() + " pixels, limit "
            + settings.maxWidth() + "x" + settings.maxHeight() + " and " + settings.maxPixels() + " pixels");
      }
      decoded = PngCodec.decode(bytes, engine.channels());
    } catch (ImageFormatException e) {
      throw new RejectedUpload(RejectedUpload.DECODE_ERROR, e.getMessage(), e);
    }
    if (decoded.height() != engine.height() || decoded.width() != engine.width()) {
      decoded = ImageResize.resize(decoded, engine.height(), engine.width());
    }
    int label = upload.getLabel() == null ? LabeledImages.UNKNOWN_LABEL : upload.getLabel();
    if (label != LabeledImages.UNKNOWN_LABEL && (label < 0 || label >= engine.numClasses())) {
      throw new RejectedUpload(RejectedUpload.INVALID_LABEL, "label " + label + " outside 0.."
          + (engine.numClasses() - 1));
    }
    return new PendingImage(upload.getId(), label, now, topic, partition, offset, record.timestamp(), record.key(),
        record.value(), headers, engine.channels(), engine.height(), engine.width(), decoded.pixels());
  }

  /** Protects everything in the buffer, forwards the results, empties the buffer and adopts a newer bundle. */
  private void flush() {
    List<KeyValue<String, PendingImage>> buffered = new ArrayList<>(pending);
    try (KeyValueIterator<String, byte[]> it = buffer.all()) {
      while (it.hasNext()) {
        KeyValue<String, byte[]> kv = it.next();
        buffered.add(KeyValue.pair(kv.key, PendingImage.fromBytes(kv.value)));
      }
    }
    List<KeyValue<String, PendingImage>> batch = new ArrayList<>(buffered.size());
    for (KeyValue<String, PendingImage> kv : buffered) {
      PendingImage p = kv.value;
      if (!p.hasShape(engine.channels(), engine.height(), engine.width())) {
        p = decodeAgain(kv.key, p);
      }
      if (p != null) {
        batch.add(KeyValue.pair(kv.key, p));
      }
    }
    if (batch.isEmpty()) {
      pending = 0;
      oldestArrival = Long.MAX_VALUE;
      adoptCurrentBundle();
      return;
    }
    int size = engine.channels() * engine.height() * engine.width();
    byte[] pixels = new byte[batch.size() * size];
    int[] labels = new int[batch.size()];
    List<String> ids = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      PendingImage p = batch.get(i).value;
      System.arraycopy(p.pixels(), 0, pixels, i * size, size);
      labels[i] = p.label();
      ids.add(p.id());
    }
    ProtectedBatch result = null;
    RuntimeException failure = null;
    try {
      long t0 = System.nanoTime();
      result = engine.protect(new LabeledImages(engine.channels(), engine.height(), engine.width(), pixels, labels,
          engine.classNames(), ids));
      metrics.batchCrafted(batch.size(), System.nanoTime() - t0);
    } catch (RuntimeException e) {
      failure = e;
    }
    long now = context.currentSystemTimeMs();
    for (int i = 0; i < batch.size(); i++) {
      PendingImage p = batch.get(i).value;
      if (result == null) {
        reject(new RejectedUpload(RejectedUpload.PROTECTION_ERROR, String.valueOf(failure), failure), p.id(),
            p.originalKey(), p.originalValue(), p.headers(), p.topic(), p.partition(), p.offset(), p.timestamp());
      } else {
        forwardProtected(p, result, i, now);
      }
      buffer.delete(batch.get(i).key);
    }
    pending = 0;
    oldestArrival = Long.MAX_VALUE;
    adoptCurrentBundle();
  }

  /**
   * An image the buffer restored after a restart, decoded for another bundle's input shape (the instance came back
   * with a newer bundle): decoded again from its original record for this engine, or dead-lettered if it no longer
   * fits (e.g. its label). Null when rejected.
   */
  private PendingImage decodeAgain(String key, PendingImage p) {
    Record<byte[], byte[]> original = new Record<>(p.originalKey(), p.originalValue(), p.timestamp(),
        p.kafkaHeaders());
    try {
      return accept(read(original, p.topic(), p.headers()), original, p.topic(), p.partition(), p.offset(),
          p.arrivedAt(), p.headers());
    } catch (RejectedUpload e) {
      reject(e, p.id(), p.originalKey(), p.originalValue(), p.headers(), p.topic(), p.partition(), p.offset(),
          p.timestamp());
      buffer.delete(key);
      return null;
    }
  }

  private void forwardProtected(PendingImage p, ProtectedBatch result, int i, long now) {
    var s = engine.settings();
    ProtectedImage out = ProtectedImage.newBuilder()
        .setId(p.id())
        .setPng(java.nio.ByteBuffer.wrap(PngCodec.encode(result.images().image(i), engine.channels(),
            engine.height(), engine.width())))
        .setWidth(engine.width())
        .setHeight(engine.height())
        .setChannels(engine.channels())
        .setEpsilon255(s.epsilon255())
        .setMethod(s.method().cliName().toUpperCase(Locale.ROOT))
        .setProfile(engine.profile())
        .setBundleId(engine.bundleId())
        .setTargetClass(result.targets()[i])
        .setLabel(result.images().label(i))
        .setLabelPredicted(result.labelPredicted()[i])
        .setMaxAbsDelta255(result.maxAbsDelta()[i])
        // From acceptance to publication, so it includes the wait for the batch to fill.
        .setProcessingMillis(now - p.arrivedAt())
        .setProtectedAt(Instant.ofEpochMilli(now))
        .build();
    // A registry outage here propagates and fails the task: the transaction aborts and the batch is redone.
    byte[] value = results.serialize(settings.protectedTopic(), out);
    context.forward(new Record<>(p.id().getBytes(StandardCharsets.UTF_8), value, p.timestamp(), p.kafkaHeaders()),
        ProtectionTopology.PROTECTED_SINK);
    metrics.protectedImage(p.timestamp(), now);
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
        Headers h = new RecordHeaders();
        headers.forEach(h::add);
        h.add(DeadLetters.REASON, utf8(e.reason()));
        h.add(DeadLetters.CAUSE, utf8(cause));
        h.add(DeadLetters.TOPIC, utf8(topic));
        h.add(DeadLetters.PARTITION, utf8(Integer.toString(partition)));
        h.add(DeadLetters.OFFSET, utf8(Long.toString(offset)));
        context.forward(new Record<>(key, value, timestamp, h), ProtectionTopology.DEAD_LETTER_SINK);
        LOG.log(System.Logger.Level.INFO, "dead-lettered {0}: {1} {2}", where, e.reason(), cause);
      }
      case CONTINUE -> {
        LOG.log(System.Logger.Level.WARNING, "skipped {0}: {1} {2}", where, e.reason(), e.getMessage());
      }
      case FAIL -> throw new StreamsException("cannot protect " + where + ": " + e.reason() + " " + e.getMessage(), e);
    }
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
    context.forward(new Record<>(id != null ? utf8(id) : key, failures.serialize(settings.failuresTopic(), failure),
        timestamp, h), ProtectionTopology.FAILURES_SINK);
  }

  /** A registry failure that is no verdict on the data (outage, 5xx, 401/403, 408, 429): retry, never dead-letter. */
  static boolean registryUnreachable(Throwable e) {
    return SchemaRegistryException.retriableCause(e);
  }

  private static byte[] toArray(java.nio.ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
