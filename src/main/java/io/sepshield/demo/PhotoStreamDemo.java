package io.sepshield.demo;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.ChwImage;
import io.sepshield.data.DecodedUpload;
import io.sepshield.data.ImageFolder;
import io.sepshield.data.ImageFormatException;
import io.sepshield.data.ImageMetadata;
import io.sepshield.data.ImageResize;
import io.sepshield.data.PngCodec;
import io.sepshield.data.UploadDecoder;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.report.ImageStrip;
import io.sepshield.service.ProtectionServer;
import io.sepshield.storage.ClaimCheck;
import io.sepshield.storage.ClaimCheckException;
import io.sepshield.stream.DeadLetters;
import io.sepshield.stream.ErrorStrategy;
import io.sepshield.stream.StreamSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * {@code stream-demo --photos DIR}: real photos through the running service at their own size and colour, one at a
 * time (so each photo's seconds are its own, not queueing), and for each the original, the protected image as
 * delivered (inline in the record or fetched through the claim check, SHA-256 checked) and an amplified δ, with the
 * ε-bound checked again here on every pixel and channel of the delivered PNG. Refusals (too large, multi-frame,
 * unsupported) are read back from the dead-letter topic with their reason: shown, not fatal.
 *
 * <p>Output in {@code out}: {@code <name>.original.png} (the upload as the service decoded it: upright, 8-bit, alpha
 * kept), {@code <name>.protected.png} (the delivered bytes, unchanged), {@code <name>.delta.png} (128 + δ·127/ε per
 * channel, clipped: mid-gray where nothing changed, black/white at ∓ε), {@code overview.png} (thumbnails and a 1:1
 * crop of δ per photo) and {@code index.md} (the table and the images).
 */
public final class PhotoStreamDemo {
  /** File extensions uploaded (what the service can decode, plus WebP to show its refusal). */
  public static final Set<String> EXTENSIONS = union(ImageFolder.IMAGE_EXTENSIONS, Set.of("webp"));
  private static final Map<String, String> CONTENT_TYPES = Map.of("png", "image/png", "jpeg", "image/jpeg", "gif",
      "image/gif", "bmp", "image/bmp", "tiff", "image/tiff");
  private static final int THUMBNAIL = 256;
  private static final int CROP = 160;

  private final PrintStream out;
  private final PrintStream log;

  /**
   * @param out the per-photo summary lines and totals
   * @param log progress
   */
  public PhotoStreamDemo(PrintStream out, PrintStream log) {
    this.out = out;
    this.log = log;
  }

  /**
   * One photo's outcome.
   *
   * @param status "protected", or the dead-letter reason (TOO_LARGE, MULTI_FRAME, ...), or "TIMEOUT"
   * @param detail the dead-letter cause, or how the image was delivered ("inline" / "claim check")
   * @param seconds upload sent → answer read (the photo is alone in the service: crafting plus the round trip)
   * @param maxDelta max |δ| in 8-bit levels measured here on the delivered PNG, -1 if none
   * @param reportedMaxDelta what the record says, -1 if none
   */
  public record Photo(String file, long bytes, String contentType, int width, int height, int channels,
      boolean alpha, String status, String detail, double seconds, int maxDelta,
      int reportedMaxDelta, List<String> reductions) {
    public double megapixels() {
      return width * (double) height / 1e6;
    }

    public boolean isProtected() {
      return status.equals("protected");
    }
  }

  /** All photos, and whether every protected one held the ε-bound. */
  public record Result(List<Photo> photos, int eps255, boolean allWithinEpsilon) {
    public long protectedCount() {
      return photos.stream().filter(Photo::isProtected).count();
    }
  }

  /**
   * The stream settings of the photo demo: serve's limits (2-Mpixel {@code max-pixels} and {@code max-batch-pixels}
   * by default), batch size 1 (photos of different shapes are crafted one by one anyway), the dead-letter queue,
   * and protected PNGs over {@code claimCheckThreshold} bytes written to {@code claimCheckDir} by claim check.
   */
  public static StreamSettings settings(long maxPixels, Path claimCheckDir, long claimCheckThreshold) {
    String store = "file:" + claimCheckDir.toAbsolutePath().normalize() + "/";
    return StreamSettings.defaults(1, Duration.ofMillis(500)).withErrorStrategy(ErrorStrategy.DEAD_LETTER_QUEUE)
        .withLimits(16 << 20, 4096, 4096, maxPixels)
        .withBatching(maxPixels, StreamSettings.DEFAULT_PER_MEGAPIXEL)
        .withClaimCheck(new ClaimCheck.Settings(List.of(), store, claimCheckThreshold, null, null, false));
  }

  /** The files of {@code dir} (not recursive, no hidden files) with an image extension, by name. */
  public static List<Path> photos(Path dir) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> list = files.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().startsWith("."))
          .filter(p -> EXTENSIONS.contains(extension(p)))
          .sorted().toList();
      if (list.isEmpty()) {
        throw new IOException("no image files (" + String.join(", ", new java.util.TreeSet<>(EXTENSIONS)) + ") in "
            + dir);
      }
      return list;
    }
  }

  /**
   * Streams {@code files} through {@code server} (already running with {@code stream}) one at a time and writes the
   * images and the report into {@code dir}.
   *
   * @param eps255 ε in 1/255 (the bound is checked in whole 8-bit levels: floor(ε))
   * @param perPhotoTimeout how long to wait for one photo's answer
   * @param caption settings line for the overview and the report
   */
  public Result run(ProtectionServer server, StreamSettings stream, List<Path> files, Path dir, float eps255,
      Duration perPhotoTimeout, String caption) throws IOException {
    Files.createDirectories(dir);
    int eps = (int) Math.floor(eps255 + 1e-4);
    SchemaRegistryClient registry = new SchemaRegistryClient(server.schemaRegistryUrl());
    ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
    serializer.configure(Map.of(), false);
    ConfluentAvroDeserializer<ProtectedImage> results = new ConfluentAvroDeserializer<>(registry,
        ProtectedImage.class);
    // Reads back what the service stored: only from its own output location, SHA-256 checked.
    ClaimCheck claims = new ClaimCheck(new ClaimCheck.Settings(stream.claimCheck().output() == null ? List.of()
        : List.of(stream.claimCheck().output()), null, 0, null, null, false));
    List<Photo> photos = new ArrayList<>();
    List<ImageStrip.Cell[]> rows = new ArrayList<>();
    List<String> rowLabels = new ArrayList<>();
    boolean allWithin = true;
    Map<String, Object> producerConfig = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers(),
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, stream.recordLimit());
    Map<String, Object> consumerConfig = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, server.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "stream-demo-photos-" + UUID.randomUUID(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest", ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
        ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, stream.recordLimit(),
        ConsumerConfig.FETCH_MAX_BYTES_CONFIG, stream.recordLimit());
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(producerConfig, new ByteArraySerializer(),
        new ByteArraySerializer());
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerConfig, new ByteArrayDeserializer(),
            new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(stream.protectedTopic(), stream.deadLetterTopic()));
      for (int i = 0; i < files.size(); i++) {
        Path file = files.get(i);
        String name = file.getFileName().toString();
        byte[] bytes = Files.readAllBytes(file);
        String format = PngCodec.detectFormat(bytes);
        String contentType = format != null ? CONTENT_TYPES.get(format)
            : extension(file).equals("webp") ? "image/webp" : "application/octet-stream";
        DecodedUpload original = decodeLocally(bytes);
        int w = original == null ? 0 : original.width();
        int h = original == null ? 0 : original.height();
        int c = original == null ? 0 : original.channels();
        boolean alpha = original != null && original.alpha() != null;
        if (bytes.length > stream.maxBytes()) { // the record could not even be produced
          Photo p = new Photo(name, bytes.length, contentType, w, h, c, alpha, "TOO_LARGE", "not sent: "
              + bytes.length + " bytes over max-bytes " + stream.maxBytes(), 0, -1, -1, List.of());
          photos.add(p);
          print(p, eps);
          continue;
        }
        String id = String.format(Locale.ROOT, "photo-%03d-%s", i, name);
        UploadedImage upload = UploadedImage.newBuilder().setId(id).setContentType(contentType)
            .setImage(ByteBuffer.wrap(bytes)).setLabel(null).setUploader("stream-demo").setSource(name)
            .setMetadata(Map.of()).setUploadedAt(Instant.now()).build();
        log.printf("uploading %s (%s, %d bytes%s)%n", name, contentType, bytes.length,
            original == null ? "" : String.format(Locale.ROOT, ", %dx%d, %.2f MP", w, h, w * (double) h / 1e6));
        long sent = System.nanoTime();
        producer.send(new ProducerRecord<>(stream.uploadsTopic(), id.getBytes(StandardCharsets.UTF_8),
            serializer.serialize(stream.uploadsTopic(), upload)));
        producer.flush();
        ConsumerRecord<byte[], byte[]> answer = await(consumer, id, perPhotoTimeout);
        double seconds = (System.nanoTime() - sent) / 1e9;
        Photo p;
        if (answer == null) {
          p = new Photo(name, bytes.length, contentType, w, h, c, alpha, "TIMEOUT", "no answer within "
              + perPhotoTimeout.toSeconds() + " s", seconds, -1, -1, List.of());
          allWithin = false;
        } else if (answer.topic().equals(stream.deadLetterTopic())) {
          String reason = header(answer, DeadLetters.REASON);
          String cause = header(answer, DeadLetters.CAUSE);
          // The service's cause often starts with the decoder's kind, which is the reason again.
          cause = cause.startsWith(reason + ": ") ? cause.substring(reason.length() + 2) : cause;
          p = new Photo(name, bytes.length, contentType, w, h, c, alpha, reason, cause, seconds, -1, -1, List.of());
        } else {
          ProtectedImage result = results.deserialize(answer.topic(), answer.value());
          byte[] png;
          String how;
          if (result.getPngUri() != null) {
            try {
              png = claims.fetch(result.getPngUri(), result.getPngSha256(), 1L << 30);
            } catch (ClaimCheckException e) {
              throw new IOException("cannot read the claim-checked PNG of " + name + ": " + e.getMessage(), e);
            }
            how = "claim check " + result.getPngUri().substring(result.getPngUri().lastIndexOf('/') + 1);
          } else {
            png = toArray(result.getPng());
            how = "inline";
          }
          int delta = -1;
          Path protectedFile = dir.resolve(stem(name) + ".protected.png");
          Files.write(protectedFile, png);
          DecodedUpload delivered;
          try {
            delivered = UploadDecoder.decode(png, UploadDecoder.Options.DEFAULT);
          } catch (ImageFormatException e) {
            throw new IOException("the delivered PNG of " + name + " does not decode: " + e.getMessage(), e);
          }
          String check = check(original, delivered);
          if (check == null) {
            delta = maxAbsDelta(original.colour().pixels(), delivered.colour().pixels());
          }
          boolean within = check == null && delta <= eps && delta == result.getMaxAbsDelta255();
          allWithin &= within;
          p = new Photo(name, bytes.length, contentType, w, h, c, alpha, "protected",
              how + (within ? "" : "; CHECK FAILED: " + (check != null ? check : "max |δ| " + delta + " (record "
                  + result.getMaxAbsDelta255() + ", ε " + eps + ")")),
              seconds, delta, result.getMaxAbsDelta255(),
              List.copyOf(result.getReductions()));
          if (check == null) {
            ChwImage o = original.colour();
            Files.write(dir.resolve(stem(name) + ".original.png"), PngCodec.encode(o, original.alpha(),
                ImageMetadata.NONE));
            byte[] amplified = amplifiedDelta(o.pixels(), delivered.colour().pixels(), eps);
            ChwImage deltaImage = new ChwImage(o.channels(), o.height(), o.width(), amplified);
            Files.write(dir.resolve(stem(name) + ".delta.png"), PngCodec.encode(deltaImage));
            rows.add(new ImageStrip.Cell[] {
                thumbnail(o, o.width() + "x" + o.height() + " original"),
                thumbnail(delivered.colour(), "protected"),
                thumbnail(deltaImage, "δ ×" + (127 / Math.max(1, eps)) + " (scaled)"),
                crop(deltaImage, "δ 1:1 centre")});
            rowLabels.add(name);
          }
        }
        photos.add(p);
        print(p, eps);
      }
    }
    claims.close();
    Result result = new Result(List.copyOf(photos), eps, allWithin);
    totals(result);
    if (!rows.isEmpty()) {
      ImageStrip strip = new ImageStrip(1).title("stream-demo --photos: original, protected (as delivered), "
          + "amplified δ (ε = " + eps + "/255)").caption(caption);
      for (int r = 0; r < rows.size(); r++) {
        strip.row(rowLabels.get(r), List.of(rows.get(r)));
      }
      strip.write(dir.resolve("overview.png"));
    }
    Files.writeString(dir.resolve("index.md"), report(result, caption));
    out.println("outputs:      " + dir + "/ (index.md, overview.png, <name>.original|protected|delta.png)");
    return result;
  }

  /** The upload decoded as the service decodes it, or null when it does not decode here either. */
  private static DecodedUpload decodeLocally(byte[] bytes) {
    try {
      return UploadDecoder.decode(bytes, UploadDecoder.Options.DEFAULT);
    } catch (ImageFormatException e) {
      return null;
    }
  }

  /** Shape and alpha of the delivered image against the original; null when they agree. */
  private static String check(DecodedUpload original, DecodedUpload delivered) {
    if (original == null) {
      return "the upload does not decode here";
    }
    if (original.channels() != delivered.channels() || original.height() != delivered.height()
        || original.width() != delivered.width()) {
      return "shape " + delivered.channels() + "x" + delivered.height() + "x" + delivered.width() + " instead of "
          + original.channels() + "x" + original.height() + "x" + original.width();
    }
    if (!java.util.Arrays.equals(original.alpha(), delivered.alpha())) {
      return "alpha changed";
    }
    return null;
  }

  private ConsumerRecord<byte[], byte[]> await(KafkaConsumer<byte[], byte[]> consumer, String id, Duration timeout) {
    byte[] key = id.getBytes(StandardCharsets.UTF_8);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
        if (java.util.Arrays.equals(key, r.key())) {
          return r;
        }
      }
    }
    return null;
  }

  /** 128 + δ·127/ε per sample, clipped to 0..255: mid-gray for no change, 1 and 255 at −ε and +ε. */
  public static byte[] amplifiedDelta(byte[] original, byte[] delivered, int eps) {
    byte[] out = new byte[original.length];
    double gain = 127.0 / Math.max(1, eps);
    for (int i = 0; i < out.length; i++) {
      long v = 128 + Math.round(((delivered[i] & 0xff) - (original[i] & 0xff)) * gain);
      out[i] = (byte) Math.max(0, Math.min(255, v));
    }
    return out;
  }

  private static int maxAbsDelta(byte[] a, byte[] b) {
    int worst = 0;
    for (int i = 0; i < a.length; i++) {
      worst = Math.max(worst, Math.abs((a[i] & 0xff) - (b[i] & 0xff)));
    }
    return worst;
  }

  private static ImageStrip.Cell thumbnail(ChwImage image, String caption) {
    double s = Math.min(1.0, THUMBNAIL / (double) Math.max(image.height(), image.width()));
    int h = Math.max(1, (int) Math.round(image.height() * s));
    int w = Math.max(1, (int) Math.round(image.width() * s));
    ChwImage t = ImageResize.resize(image, h, w);
    return new ImageStrip.Cell(t.pixels(), t.channels(), h, w, caption);
  }

  /** The centre of the image at full resolution, so single-pixel δ stays visible. */
  private static ImageStrip.Cell crop(ChwImage image, String caption) {
    int h = Math.min(CROP, image.height());
    int w = Math.min(CROP, image.width());
    int top = (image.height() - h) / 2;
    int left = (image.width() - w) / 2;
    byte[] out = new byte[image.channels() * h * w];
    for (int c = 0; c < image.channels(); c++) {
      for (int y = 0; y < h; y++) {
        System.arraycopy(image.pixels(), (c * image.height() + top + y) * image.width() + left, out,
            (c * h + y) * w, w);
      }
    }
    return new ImageStrip.Cell(out, image.channels(), h, w, caption);
  }

  private void print(Photo p, int eps) {
    String size = p.width() == 0 ? "?" : String.format(Locale.ROOT, "%dx%d %s%s, %.2f MP", p.width(), p.height(),
        p.channels() == 1 ? "gray" : "RGB", p.alpha() ? "+alpha" : "", p.megapixels());
    if (p.isProtected()) {
      out.printf(Locale.ROOT, "%-26s %-28s %6.1f s  max|δ| %d/255 (≤ ε %d: %s)%s  %s%n", p.file(),
          size, p.seconds(), p.maxDelta(), eps, p.maxDelta() >= 0 && p.maxDelta() <= eps
              ? "ok" : "FAILED", p.reductions().isEmpty() ? "" : " " + p.reductions(), p.detail());
    } else {
      out.printf(Locale.ROOT, "%-26s %-28s %6.1f s  %s: %s%n", p.file(), size, p.seconds(), p.status(),
          abbreviate(p.detail(), 160));
    }
  }

  private void totals(Result r) {
    double mp = r.photos().stream().filter(Photo::isProtected).mapToDouble(Photo::megapixels).sum();
    double seconds = r.photos().stream().filter(Photo::isProtected).mapToDouble(Photo::seconds).sum();
    out.printf(Locale.ROOT, "photos:       %d files, %d protected (%.2f MP in %.1f s: %.1f s per megapixel), %d "
        + "refused; ε-bound %s%n", r.photos().size(), r.protectedCount(), mp, seconds, mp == 0 ? 0 : seconds / mp,
        r.photos().size() - r.protectedCount(), r.allWithinEpsilon() ? "held on every delivered pixel and channel"
            : "FAILED (see above)");
  }

  private static String report(Result r, String caption) {
    StringBuilder md = new StringBuilder("# stream-demo --photos\n\n").append(caption).append("\n\n")
        .append("Each photo was uploaded alone and read back from the protected topic (or the dead-letter topic). "
            + "max |δ| is measured here on the delivered PNG against the upload as the service decoded it, in "
            + "8-bit levels; δ images show 128 + δ·127/ε per channel.\n\n")
        .append("| photo | size | MP | seconds | max \\|δ\\| | result |\n|---|---|---|---|---|---|\n");
    for (Photo p : r.photos()) {
      md.append(String.format(Locale.ROOT, "| %s | %s | %.2f | %.1f | %s | %s |%n", p.file(),
          p.width() == 0 ? "?" : p.width() + "×" + p.height() + (p.channels() == 1 ? " gray" : " RGB")
              + (p.alpha() ? "+α" : ""), p.megapixels(), p.seconds(), p.maxDelta() < 0 ? "" : p.maxDelta() + "/255",
          (p.isProtected() ? "protected (" + p.detail() + ")" + (p.reductions().isEmpty() ? ""
              : "; " + String.join("; ", p.reductions())) : p.status() + ": " + abbreviate(p.detail(), 200))
              .replace("|", "\\|")));
    }
    md.append("\n![overview](overview.png)\n");
    for (Photo p : r.photos()) {
      if (p.isProtected() && p.maxDelta() >= 0) {
        String s = stem(p.file());
        md.append("\n## ").append(p.file()).append("\n\n")
            .append("| original | protected | amplified δ |\n|---|---|---|\n")
            .append(String.format("| ![](%s.original.png) | ![](%s.protected.png) | ![](%s.delta.png) |%n", s, s, s));
      }
    }
    return md.toString();
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static String abbreviate(String s, int max) {
    return s.length() <= max ? s : s.substring(0, max - 1) + "…";
  }

  private static String stem(String file) {
    int dot = file.lastIndexOf('.');
    return (dot > 0 ? file.substring(0, dot) : file).replaceAll("[^A-Za-z0-9._-]", "_");
  }

  private static String extension(Path p) {
    String n = p.getFileName().toString();
    int dot = n.lastIndexOf('.');
    return dot < 0 ? "" : n.substring(dot + 1).toLowerCase(Locale.ROOT);
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] a = new byte[b.remaining()];
    b.duplicate().get(a);
    return a;
  }

  private static Set<String> union(Set<String> a, Set<String> b) {
    java.util.Set<String> u = new java.util.TreeSet<>(a);
    u.addAll(b);
    return Set.copyOf(u);
  }
}
