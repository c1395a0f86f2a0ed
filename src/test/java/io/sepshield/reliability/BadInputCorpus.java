package io.sepshield.reliability;

import io.sepshield.avro.ProtectionFailure;
import io.sepshield.avro.UploadedImage;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * Hostile and broken uploads, one {@link Case} per kind, each with the outcome the service must give it: a
 * dead-letter reason, or {@link #PROTECTED} with the shape the protected image must have. Everything is generated
 * here (no binary files in the repository): images by {@link CorpusImages}, Avro records with the service's own
 * serializer and hand-framed bytes, against the registry the service under test reads.
 *
 * <p>Every record carries the header {@link #KIND_HEADER}, which the service carries through to its protected
 * record, dead letter and failure event, so an outcome can be matched to its kind.
 *
 * <p>What the product does with the valid-but-awkward kinds (decided here, checked by the corpus tests):
 * <ul>
 *   <li>16-bit PNG: protected; samples rounded to 8 bits, recorded as the reduction "16-bit samples reduced to
 *       8-bit" in ProtectedImage.reductions. 16-bit alpha is rounded the same way and re-attached.
 *   <li>palette PNG / GIF: protected as RGB (palette expanded, lossless; a protected image no longer fits the
 *       palette), palette transparency becomes an alpha channel, re-attached untouched A palette of grays only
 *       (1/2/4-bit gray PNGs among them) is protected as gray.
 *   <li>truncated JPEG: DECODE_ERROR even though ImageIO decodes it with a warning (the missing part would be
 *       published as gray).
 *   <li>metadata bombs (zTXt/iTXt/iCCP inflating to tens of MiB): protected, the metadata stripped without being
 *       inflated.
 *   <li>alpha (RGBA, gray + alpha): colour protected, alpha re-attached untouched.
 *   <li>CMYK JPEG: refused as UNSUPPORTED_FORMAT (the JDK cannot decode it reliably and converting needs the print
 *       profile; publishing wrong colours would be worse).
 *   <li>12-bit JPEG: refused as UNSUPPORTED_FORMAT (the JDK's decoder is 8-bit only).
 *   <li>animated GIF / APNG: MULTI_FRAME (which frame to protect is undefined; protecting one and dropping the rest
 *       would publish something else than was uploaded).
 *   <li>duplicate id: each record gets its own outcome; both are protected and published under the same key in
 *       upload order, so a compacted or upserting consumer keeps the later upload (ids are the producer's business:
 *       a retried send is harmless, a reused id means "replace").
 * </ul>
 */
public final class BadInputCorpus {
  /** The expected outcome of an upload that must come out protected. */
  public static final String PROTECTED = "PROTECTED";
  /** Carried through to every output; names the corpus kind of a record. */
  public static final String KIND_HEADER = "corpus-kind";

  /**
   * The limits of the service under test (the corpus builds the over-limit kinds just beyond them).
   *
   * @param numClasses classes of the bundle (label-out-of-range uses this)
   */
  public record Limits(int maxBytes, int maxWidth, int maxHeight, long maxPixels, int numClasses) {}

  /**
   * What a protected upload must look like.
   *
   * @param reduction a reduction the record must list, or null when it must list none
   */
  public record Shape(int width, int height, int channels, boolean alpha, String reduction) {}

  /**
   * One record as it goes onto the uploads topic.
   *
   * @param image the encoded image inside the record, or null when the record is no readable upload
   */
  public record Upload(byte[] key, byte[] value, List<Header> headers, byte[] image) {}

  /**
   * One kind of bad input.
   *
   * @param expected a dead-letter reason (RejectedUpload's codes) or {@link #PROTECTED}, for every upload of the kind
   * @param causeContains a fragment the dead-letter cause must contain, or null
   * @param shape for {@link #PROTECTED}: what the output must be
   * @param image the encoded image, when the kind is one (for writing the corpus out), else null
   */
  public record Case(String kind, String expected, String causeContains, String why, List<Upload> uploads,
      Shape shape, byte[] image) {
    public boolean protects() {
      return PROTECTED.equals(expected);
    }
  }

  private final SchemaRegistryClient registry;
  private final String topic;
  private final Limits limits;
  private final ConfluentAvroSerializer<UploadedImage> serializer;

  public BadInputCorpus(SchemaRegistryClient registry, String uploadsTopic, Limits limits) {
    this.registry = registry;
    this.topic = uploadsTopic;
    this.limits = limits;
    this.serializer = new ConfluentAvroSerializer<>(registry);
    serializer.configure(Map.of(), false);
  }

  /** An upload as the service's serializer frames it (registering UploadedImage under the uploads topic). */
  public byte[] serialize(UploadedImage upload) {
    return serializer.serialize(topic, upload);
  }

  /** Every kind, in a fixed order. */
  public List<Case> cases() {
    List<Case> c = new ArrayList<>();
    String png = "image/png";
    String jpeg = "image/jpeg";
    // Broken files.
    c.add(image("zero-bytes", "DECODE_ERROR", "empty", "an upload whose image is 0 bytes (a failed upload)",
        png, new byte[0]));
    c.add(image("truncated-png-header", "DECODE_ERROR", null, "PNG cut inside IHDR",
        png, Arrays.copyOf(CorpusImages.grayPng(16, 12, 1), 29)));
    c.add(image("truncated-png-data", "DECODE_ERROR", null, "PNG cut inside IDAT (header intact)",
        png, CorpusImages.truncated(CorpusImages.grayPng(32, 32, 2), 0.6)));
    c.add(image("truncated-jpeg-header", "DECODE_ERROR", null, "JPEG cut inside its tables",
        jpeg, Arrays.copyOf(CorpusImages.rgbJpeg(32, 32, 3), 120)));
    c.add(image("truncated-jpeg-scan", "DECODE_ERROR", "cut off",
        "JPEG cut inside the entropy-coded scan (no EOI): ImageIO fills the rest with gray and only warns",
        jpeg, CorpusImages.truncated(CorpusImages.rgbJpeg(64, 64, 4), 0.8)));
    c.add(image("corrupt-png-zlib", "DECODE_ERROR", null, "IDAT that is not a zlib stream (valid CRC)",
        png, CorpusImages.pngCorruptZlib(16, 12, 5)));
    // Wrong or unsupported formats.
    c.add(image("wrong-magic-text", "UNSUPPORTED_FORMAT", "not a PNG", "text sent as image/png",
        png, "<html>not an image</html>".getBytes(StandardCharsets.UTF_8)));
    c.add(image("wrong-magic-jpeg-as-png", "UNSUPPORTED_FORMAT", "data is JPEG", "JPEG bytes labelled image/png",
        png, CorpusImages.rgbJpeg(16, 16, 6)));
    c.add(image("webp", "UNSUPPORTED_FORMAT", "image/webp", "WebP (no JDK decoder)", "image/webp",
        CorpusImages.webp()));
    c.add(image("content-type-not-allowed", "UNSUPPORTED_FORMAT", "application/pdf", "a PDF",
        "application/pdf", "%PDF-1.4\n%\u00e2\u00e3\n".getBytes(StandardCharsets.ISO_8859_1)));
    c.add(image("jpeg-cmyk", "UNSUPPORTED_FORMAT", "CMYK", "4-component (CMYK, Adobe) JPEG",
        jpeg, CorpusImages.cmykJpeg(16, 16, 7)));
    c.add(image("jpeg-12-bit", "UNSUPPORTED_FORMAT", "12-bit", "12-bit extended sequential JPEG (SOF1)",
        jpeg, CorpusImages.jpeg12Bit(16, 16, 8)));
    // Bombs: huge declared size, tiny file.
    c.add(image("png-bomb", "TOO_LARGE", "100000x100000", "PNG declaring 100,000 × 100,000 in a few hundred bytes",
        png, CorpusImages.pngBomb(100_000)));
    c.add(image("jpeg-bomb", "TOO_LARGE", "65500x65500", "JPEG SOF declaring 65,500 × 65,500",
        jpeg, CorpusImages.jpegBomb(65_500, 65_500)));
    c.add(image("gif-bomb", "TOO_LARGE", "65535x65535", "GIF declaring 65,535 × 65,535", "image/gif",
        CorpusImages.gifBomb(65_535)));
    c.add(image("bmp-bomb", "TOO_LARGE", "20000x20000", "BMP header declaring 20,000 × 20,000 (1.2 GB of pixels)",
        "image/bmp", CorpusImages.bmpBomb(20_000)));
    c.add(protectedImage("png-metadata-bomb", "valid 16×12 PNG with zTXt and iTXt chunks inflating to 48 MiB each "
        + "(metadata is stripped, so never inflated)", png, CorpusImages.pngMetadataBomb(16, 12, 9, 48 << 20),
        new Shape(16, 12, 1, false, null)));
    // Over the limits.
    byte[] padded = CorpusImages.insertPngChunks(CorpusImages.grayPng(16, 12, 10),
        CorpusImages.chunk("prVt", new byte[limits.maxBytes()]));
    c.add(image("over-byte-limit", "TOO_LARGE", "bytes, limit", "a PNG one chunk over max-bytes (dead-lettered by "
        + "reference)", png, padded));
    c.add(image("over-pixel-limit", "TOO_LARGE", "pixels, limit", "a real PNG one pixel wider than max-width",
        png, CorpusImages.grayPng(limits.maxWidth() + 1, 4, 11)));
    // Animations.
    c.add(image("gif-animated", "MULTI_FRAME", "3 frames", "GIF89a animation, 3 frames", "image/gif",
        CorpusImages.animatedGif(16, 12, 3, 12)));
    c.add(image("apng", "MULTI_FRAME", "APNG", "two-frame animated PNG (acTL, fcTL, fdAT)", png,
        CorpusImages.apng(16, 12, 13)));
    // Valid but awkward: protected, with what decoding changed recorded.
    c.add(protectedImage("png-16bit-gray", "16-bit gray PNG", png, CorpusImages.gray16Png(16, 12, 14),
        new Shape(16, 12, 1, false, "16-bit samples reduced to 8-bit")));
    c.add(protectedImage("png-16bit-rgba", "16-bit RGBA PNG", png, CorpusImages.rgba16Png(16, 12, 15),
        new Shape(16, 12, 3, true, "16-bit samples reduced to 8-bit")));
    c.add(protectedImage("png-palette", "palette PNG, 16 colours", png, CorpusImages.palettePng(16, 12, 16, false),
        new Shape(16, 12, 3, false, null)));
    c.add(protectedImage("png-palette-trns", "palette PNG with tRNS transparency", png,
        CorpusImages.palettePng(16, 12, 17, true), new Shape(16, 12, 3, true, null)));
    c.add(protectedImage("png-rgba", "8-bit RGBA PNG", png, CorpusImages.rgbaPng(16, 12, 18),
        new Shape(16, 12, 3, true, null)));
    c.add(protectedImage("png-gray-alpha", "8-bit gray + alpha PNG", png, CorpusImages.grayAlphaPng(16, 12, 19),
        new Shape(16, 12, 1, true, null)));
    c.add(protectedImage("png-1bit", "1-bit black-and-white PNG", png, CorpusImages.oneBitPng(16, 12, 20),
        new Shape(16, 12, 1, false, null)));
    c.add(protectedImage("png-interlaced", "Adam7-interlaced RGB PNG", png, CorpusImages.interlacedPng(16, 12, 21),
        new Shape(16, 12, 3, false, null)));
    c.add(protectedImage("jpeg-gray", "grayscale JPEG", jpeg, CorpusImages.grayJpeg(16, 12, 22),
        new Shape(16, 12, 1, false, null)));
    c.add(protectedImage("jpeg-exif-rotated", "JPEG with EXIF orientation 6 (stored 16×12, shown 12×16)", jpeg,
        CorpusImages.exifOrientedJpeg(16, 12, 23, 6), new Shape(12, 16, 3, false, null)));
    c.add(protectedImage("gif-single-frame", "one-frame GIF with a transparent palette entry", "image/gif",
        CorpusImages.gif(16, 12, 24), new Shape(16, 12, 3, true, null)));
    c.add(protectedImage("bmp", "24-bit BMP", "image/bmp", CorpusImages.bmp(16, 12, 25),
        new Shape(16, 12, 3, false, null)));
    // Avro records that cannot be read.
    byte[] valid = serializer.serialize(topic, upload("avro", png, CorpusImages.grayPng(16, 12, 26), null));
    int uploadSchemaId = ByteBuffer.wrap(valid, 1, 4).getInt();
    c.add(raw("avro-tombstone", "DESERIALIZATION_ERROR", "tombstone", "a record with a null value", null));
    c.add(raw("avro-short", "DESERIALIZATION_ERROR", "shorter than the 5-byte header", "3 bytes",
        new byte[] {0, 0, 1}));
    byte[] badMagic = valid.clone();
    badMagic[0] = 1;
    c.add(raw("avro-bad-magic", "DESERIALIZATION_ERROR", "magic byte", "a valid upload with magic byte 1", badMagic));
    c.add(raw("avro-unknown-schema-id", "DESERIALIZATION_ERROR", "Unknown schema id", "schema id 0x7f7f7f7f",
        framed(0x7f7f7f7f, Arrays.copyOfRange(valid, 5, valid.length))));
    byte[] ff = new byte[64];
    Arrays.fill(ff, (byte) 0xFF);
    c.add(raw("avro-garbage-after-magic", "DESERIALIZATION_ERROR", null,
        "magic byte 0 and the upload schema's id, then 64 bytes of 0xFF", framed(uploadSchemaId, ff)));
    c.add(raw("avro-huge-string-length", "DESERIALIZATION_ERROR", "out of bounds",
        "magic byte 0 and the upload schema's id, then an id string declaring 2,147,483,000 bytes in a 20-byte record",
        framed(uploadSchemaId, concat(zigzag(2_147_483_000L), "abcdefghij".getBytes(StandardCharsets.US_ASCII)))));
    c.add(raw("avro-huge-map", "DESERIALIZATION_ERROR", "out of bounds",
        "valid fields up to metadata, then a map block declaring 1,000,000,000 entries",
        framed(uploadSchemaId, hugeMapBody())));
    c.add(raw("avro-truncated", "DESERIALIZATION_ERROR", null, "a valid upload record cut in half",
        Arrays.copyOf(valid, valid.length / 2)));
    c.add(raw("avro-schema-mismatch", "DESERIALIZATION_ERROR", null,
        "a ProtectionFailure record (a registered schema of another type) on the uploads topic", foreignRecord()));
    c.add(raw("avro-missing-id-field", "DESERIALIZATION_ERROR", "id",
        "an UploadedImage written with a registered schema version that has no id field", withoutIdField()));
    // Fields the service validates.
    byte[] small = CorpusImages.grayPng(16, 12, 27);
    c.add(record("empty-id", "INVALID_ID", "id must have", "id is the empty string",
        upload("", png, small, null), List.of()));
    c.add(record("id-too-long", "INVALID_ID", "id must have", "an id of 70,000 characters",
        upload("x".repeat(70_000), png, small, null), List.of()));
    c.add(record("header-name-too-long", "INVALID_ID", "header name", "a record header name of 2,000 characters",
        upload("corpus-long-header", png, small, null), List.of(new RecordHeader("h".repeat(2000), new byte[1]))));
    c.add(record("label-out-of-range", "INVALID_LABEL", "label " + limits.numClasses(),
        "label = number of classes", upload("corpus-label-high", png, small, limits.numClasses()), List.of()));
    c.add(record("label-negative", "INVALID_LABEL", "label -7", "label -7",
        upload("corpus-label-negative", png, small, -7), List.of()));
    UploadedImage both = upload("corpus-claim-both", png, small, null);
    both.setImageUri("file:/tmp/x.png");
    c.add(record("claim-check-both-set", "CLAIM_CHECK_ERROR", "both", "image bytes and imageUri both set", both,
        List.of()));
    UploadedImage ssrf = upload("corpus-claim-ssrf", png, new byte[0], null);
    ssrf.setImageUri("http://169.254.169.254/latest/meta-data/");
    c.add(record("claim-check-refused-uri", "CLAIM_CHECK_ERROR", null,
        "imageUri pointing at a cloud metadata endpoint (http: is never fetched)", ssrf, List.of()));
    // Duplicate id: two different images under one id, both protected, in upload order.
    UploadedImage first = upload("corpus-dup", png, CorpusImages.grayPng(16, 12, 28), null);
    UploadedImage second = upload("corpus-dup", png, CorpusImages.grayPng(16, 12, 29), null);
    c.add(new Case("duplicate-id", PROTECTED, null, "two uploads with one id (different images): each protected, "
        + "published under that id in upload order", List.of(upload("duplicate-id", first, List.of()),
            upload("duplicate-id", second, List.of())), new Shape(16, 12, 1, false, null), null));
    return c;
  }

  /** Writes each kind's image (or record value) to {@code dir}, for inspecting the corpus with other tools. */
  public static void writeTo(List<Case> cases, Path dir) throws IOException {
    Files.createDirectories(dir);
    for (Case c : cases) {
      byte[] value = c.image() != null ? c.image() : c.uploads().get(0).value();
      if (value != null) {
        Files.write(dir.resolve(c.kind() + (c.image() != null ? ".img" : ".avro")), value);
      }
    }
  }

  // --- builders -----------------------------------------------------------------------------------------------

  private Case image(String kind, String expected, String cause, String why, String contentType, byte[] bytes) {
    return new Case(kind, expected, cause, why, List.of(upload(kind, upload("corpus-" + kind, contentType, bytes,
        null), List.of())), null, bytes);
  }

  private Case protectedImage(String kind, String why, String contentType, byte[] bytes, Shape shape) {
    return new Case(kind, PROTECTED, null, why, List.of(upload(kind, upload("corpus-" + kind, contentType, bytes,
        null), List.of())), shape, bytes);
  }

  private Case record(String kind, String expected, String cause, String why, UploadedImage upload,
      List<Header> extraHeaders) {
    return new Case(kind, expected, cause, why, List.of(upload(kind, upload, extraHeaders)), null, null);
  }

  private static Case raw(String kind, String expected, String cause, String why, byte[] value) {
    return new Case(kind, expected, cause, why, List.of(new Upload(utf8("corpus-" + kind), value,
        headers(kind, List.of()), null)), null, null);
  }

  private Upload upload(String kind, UploadedImage upload, List<Header> extraHeaders) {
    return new Upload(utf8(upload.getId().isEmpty() ? "corpus-" + kind : upload.getId().substring(0,
        Math.min(100, upload.getId().length()))), serializer.serialize(topic, upload), headers(kind, extraHeaders),
        upload.getImageUri() == null ? bytes(upload.getImage()) : null);
  }

  private static List<Header> headers(String kind, List<Header> extra) {
    List<Header> h = new ArrayList<>();
    h.add(new RecordHeader(KIND_HEADER, utf8(kind)));
    h.addAll(extra);
    return List.copyOf(h);
  }

  /** An upload as a client would send it. */
  public static UploadedImage upload(String id, String contentType, byte[] image, Integer label) {
    return UploadedImage.newBuilder().setId(id).setContentType(contentType).setImage(ByteBuffer.wrap(image))
        .setLabel(label).setUploader("corpus").setSource(null).setMetadata(Map.of())
        .setUploadedAt(Instant.ofEpochMilli(1_700_000_000_000L)).build();
  }

  /** id "x", contentType, empty image, three nulls, then a metadata map block of 10^9 entries and 1 entry's bytes. */
  private static byte[] hugeMapBody() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(zigzag(1));
    out.write('x');
    out.writeBytes(zigzag(9));
    out.writeBytes("image/png".getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(zigzag(0)); // image: 0 bytes
    out.writeBytes(new byte[] {0, 0, 0}); // label, uploader, source: null branch
    out.writeBytes(zigzag(1_000_000_000L));
    out.writeBytes(zigzag(1));
    out.write('k');
    out.writeBytes(zigzag(1));
    out.write('v');
    return out.toByteArray();
  }

  /** A ProtectionFailure, framed with the id its schema has under another subject. */
  private byte[] foreignRecord() {
    ProtectionFailure failure = ProtectionFailure.newBuilder().setId("corpus-foreign").setReason("NONE")
        .setCause("written to the wrong topic").setTopic(topic).setPartition(0).setOffset(0)
        .setFailedAt(Instant.ofEpochMilli(1_700_000_000_000L)).build();
    int id = registry.register("corpus-foreign-value", ProtectionFailure.getClassSchema());
    return framed(id, avro(ProtectionFailure.getClassSchema(), failure, true));
  }

  /** UploadedImage's schema less the id field, registered under another subject, and a record written with it. */
  private byte[] withoutIdField() {
    Schema full = UploadedImage.getClassSchema();
    List<Schema.Field> fields = new ArrayList<>();
    for (Schema.Field f : full.getFields()) {
      if (!f.name().equals("id")) {
        fields.add(new Schema.Field(f, f.schema()));
      }
    }
    Schema noId = Schema.createRecord(full.getName(), full.getDoc(), full.getNamespace(), false, fields);
    int id = registry.register("corpus-no-id-value", noId);
    GenericRecord r = new GenericData.Record(noId);
    r.put("contentType", "image/png");
    r.put("image", ByteBuffer.wrap(CorpusImages.grayPng(16, 12, 30)));
    r.put("metadata", Map.of());
    r.put("uploadedAt", 1_700_000_000_000L);
    return framed(id, avro(noId, r, false));
  }

  private static byte[] avro(Schema schema, Object record, boolean specific) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    try {
      if (specific) {
        new SpecificDatumWriter<>(schema).write(record, encoder);
      } else {
        new GenericDatumWriter<GenericRecord>(schema).write((GenericRecord) record, encoder);
      }
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Confluent framing: magic byte 0, 4-byte schema id, body. */
  static byte[] framed(int schemaId, byte[] body) {
    return concat(ByteBuffer.allocate(5).put((byte) 0).putInt(schemaId).array(), body);
  }

  /** Avro's zig-zag varint encoding of a long. */
  static byte[] zigzag(long v) {
    long z = (v << 1) ^ (v >> 63);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while ((z & ~0x7FL) != 0) {
      out.write((int) ((z & 0x7F) | 0x80));
      z >>>= 7;
    }
    out.write((int) z);
    return out.toByteArray();
  }

  private static byte[] concat(byte[] a, byte[] b) {
    return CorpusImages.concat(a, b);
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
