package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.ChwImage;
import io.sepshield.data.DecodedUpload;
import io.sepshield.data.ImageMetadata;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.data.TiffFixtures;
import io.sepshield.data.UploadDecoder;
import io.sepshield.jobs.FolderProtection;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.Protector;
import io.sepshield.service.StreamMetrics;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import javax.imageio.ImageIO;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code serve} does with the metadata of an upload (stripped, or kept per {@code keep-metadata}, never GPS) and
 * with TIFF uploads, through the real topology on Kafka's test driver; and TIFF through {@code protect --data folder:}.
 * Every file is generated here.
 */
class UploadFormatsStreamTest {
  private static final byte[] GPS = "!SPG".getBytes(StandardCharsets.ISO_8859_1);
  private static final String XMP = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">secret-xmp</x:xmpmeta>";

  static LabeledImages data;
  static CheckpointEnsemble ensemble;
  static ProtectionEngine engine;
  static InMemorySchemaRegistry registryServer;
  static SchemaRegistryClient registry;

  @TempDir
  Path tmp;
  TopologyUnderTest topology;

  @BeforeAll
  static void engineAndRegistry() throws Exception {
    data = StreamFixtures.data();
    ensemble = StreamFixtures.tinyEnsemble(data);
    engine = StreamFixtures.engine("tiny-test-bundle", ensemble, () -> { }); // the ensemble is closed below
    registryServer = new InMemorySchemaRegistry().start();
    registry = new SchemaRegistryClient(registryServer.url());
  }

  @AfterAll
  static void close() throws Exception {
    engine.close();
    ensemble.close();
    registryServer.close();
  }

  @AfterEach
  void closeDriver() {
    if (topology != null) {
      topology.close();
      topology = null;
    }
  }

  private void start(StreamSettings settings) {
    closeDriver();
    topology = TopologyUnderTest.start("sep-shield-formats", tmp.resolve("state"), settings,
        BundleHolder.serving(engine), registry, new StreamMetrics(new SimpleMeterRegistry()));
  }

  /** Sends one upload (batch size 1: crafted at once) and returns what came out on the protected topic, or null. */
  private ProtectedImage protect(String id, String contentType, byte[] image) {
    UploadedImage upload = StreamFixtures.upload(id, contentType, image, 1);
    topology.uploads.pipeInput(id.getBytes(StandardCharsets.UTF_8), topology.serialize(upload));
    return topology.protectedImages.isEmpty() ? null : topology.protectedImages.readValue();
  }

  private static StreamSettings settings() {
    return StreamSettings.defaults(1, Duration.ofSeconds(2));
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  private static BufferedImage colour(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    Random r = new Random(seed);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.setRGB(x, y, r.nextInt(1 << 24));
      }
    }
    return img;
  }

  /** Little-endian EXIF: orientation 1 and a GPS directory whose latitude holds the bytes "!SPG". */
  private static byte[] exifWithGps() {
    ByteBuffer b = ByteBuffer.allocate(80).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
    b.putShort((short) 2); // IFD0 at 8
    b.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) 1).putShort((short) 0);
    b.putShort((short) 0x8825).putShort((short) 4).putInt(1).putInt(38); // GPS IFD pointer
    b.putInt(0);
    b.putShort((short) 1); // GPS IFD at 38: GPSLatitude, 3 rationals at 56
    b.putShort((short) 2).putShort((short) 5).putInt(3).putInt(56);
    b.putInt(0);
    for (int i = 0; i < 6; i++) {
      b.putInt(0x47505321); // "!SPG" little-endian
    }
    return b.array();
  }

  private static byte[] pngWithEverything(BufferedImage img) {
    ImageMetadata all = new ImageMetadata(ICC_Profile.getInstance(ColorSpace.CS_sRGB).getData(), exifWithGps(), XMP,
        List.of(new ImageMetadata.Text("Author", "secret-author")));
    return PngCodec.encode(PngCodec.fromBufferedImage(img, 3), null, all);
  }

  /** A JPEG with APP1 EXIF (with GPS), APP1 XMP and a COM comment. */
  private static byte[] jpegWithEverything(BufferedImage img) throws Exception {
    ByteArrayOutputStream plain = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(img, "jpeg", plain));
    byte[] jpeg = plain.toByteArray();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2);
    segment(out, 0xE1, concat("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1), exifWithGps()));
    segment(out, 0xE1, concat("http://ns.adobe.com/xap/1.0/\0".getBytes(StandardCharsets.ISO_8859_1),
        XMP.getBytes(StandardCharsets.UTF_8)));
    segment(out, 0xFE, "secret-comment".getBytes(StandardCharsets.UTF_8));
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  private static void segment(ByteArrayOutputStream out, int marker, byte[] body) {
    int len = body.length + 2;
    out.writeBytes(new byte[] {(byte) 0xFF, (byte) marker, (byte) (len >> 8), (byte) len});
    out.writeBytes(body);
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  private static List<String> chunkTypes(byte[] png) {
    List<String> types = new ArrayList<>();
    for (int pos = 8; pos + 8 <= png.length; pos += 12 + ByteBuffer.wrap(png, pos, 4).getInt()) {
      types.add(new String(png, pos + 4, 4, StandardCharsets.ISO_8859_1));
    }
    return types;
  }

  /** The delivered PNG: same shape as the upload, every pixel and channel within ε, alpha untouched. */
  private static DecodedUpload checkDelivered(byte[] upload, ProtectedImage p) throws Exception {
    DecodedUpload sent = UploadDecoder.decode(upload, UploadDecoder.Options.DEFAULT);
    byte[] png = bytes(p.getPng());
    DecodedUpload got = UploadDecoder.decode(png, UploadDecoder.Options.DEFAULT
        .withKeep(EnumSet.allOf(ImageMetadata.Kind.class)));
    assertEquals(List.of(sent.channels(), sent.height(), sent.width()),
        List.of(got.channels(), got.height(), got.width()));
    int worst = 0;
    for (int i = 0; i < sent.colour().pixels().length; i++) {
      worst = Math.max(worst, Math.abs((sent.colour().pixels()[i] & 0xff) - (got.colour().pixels()[i] & 0xff)));
    }
    assertTrue(worst > 0 && worst <= StreamFixtures.EPS255, "ε on every pixel and channel: max |δ| " + worst);
    assertEquals(worst, p.getMaxAbsDelta255());
    assertArrayEquals(sent.alpha(), got.alpha(), "alpha passes through");
    return got;
  }

  @Test
  void metadataIsStrippedByDefaultAndKeptExactlyPerTheKeepListNeverGps() throws Exception {
    byte[] png = pngWithEverything(colour(14, 9, 1));
    byte[] jpeg = jpegWithEverything(colour(16, 10, 2));
    List<String> secrets = List.of("secret-author", "secret-xmp", "secret-comment");

    start(settings());
    for (byte[] upload : List.of(png, jpeg)) {
      String type = PngCodec.detectFormat(upload).equals("png") ? "image/png" : "image/jpeg";
      ProtectedImage p = protect("strip-" + type, type, upload);
      DecodedUpload got = checkDelivered(upload, p);
      byte[] out = bytes(p.getPng());
      assertEquals(Set.of(), got.metadata().kinds(), type);
      assertEquals(Set.of("IHDR", "IDAT", "IEND"), Set.copyOf(chunkTypes(out)), type);
      for (String secret : secrets) {
        assertFalse(contains(out, secret.getBytes(StandardCharsets.UTF_8)), type + ": " + secret);
      }
      assertFalse(contains(out, GPS), type);
    }

    // exif + text from a PNG: those two chunks and nothing else; GPS gone from the kept EXIF.
    start(settings().withKeepMetadata(ImageMetadata.Kind.parseList("exif,text")));
    ProtectedImage p = protect("keep-png", "image/png", png);
    byte[] out = bytes(p.getPng());
    assertEquals(EnumSet.of(ImageMetadata.Kind.EXIF, ImageMetadata.Kind.TEXT),
        checkDelivered(png, p).metadata().kinds());
    assertEquals(List.of("IHDR", "eXIf", "iTXt", "IDAT", "IEND"), chunkTypes(out), "one text chunk, no iCCP");
    assertTrue(contains(out, "secret-author".getBytes(StandardCharsets.UTF_8)));
    assertFalse(contains(out, "secret-xmp".getBytes(StandardCharsets.UTF_8)));
    assertFalse(contains(out, "XML:com.adobe.xmp".getBytes(StandardCharsets.UTF_8)), "no XMP packet");
    assertFalse(contains(out, GPS), "GPS never survives, even with exif kept");

    // xmp alone from a JPEG: the packet, no EXIF, no comment.
    start(settings().withKeepMetadata(Set.of(ImageMetadata.Kind.XMP)));
    ProtectedImage q = protect("keep-jpeg", "image/jpeg", jpeg);
    byte[] qout = bytes(q.getPng());
    DecodedUpload kept = checkDelivered(jpeg, q);
    assertEquals(Set.of(ImageMetadata.Kind.XMP), kept.metadata().kinds());
    assertEquals(XMP, kept.metadata().xmp());
    assertFalse(contains(qout, "secret-comment".getBytes(StandardCharsets.UTF_8)));
    assertFalse(contains(qout, GPS));
  }

  @Test
  void tiffUploadsComeBackAtTheirSizeWithinEpsilonAndMultiPageIsDeadLettered() throws Exception {
    start(settings());
    int w = 19;
    int h = 13;
    int[] board = TiffFixtures.chessboard16(w, h, 4);
    byte[] u16 = TiffFixtures.gray16(w, h, board, ByteOrder.LITTLE_ENDIAN, 0); // like chessboard_GRAY_U16.tif
    byte[] u16b = TiffFixtures.gray16(w, h, board, ByteOrder.BIG_ENDIAN, 0); // like chessboard_GRAY_U16B.tif
    for (byte[] tif : List.of(u16, u16b)) {
      ProtectedImage p = protect("board-" + tif[0], "image/tiff", tif);
      assertNotNull(p, "protected, not dead-lettered: " + (topology.deadLetters.isEmpty() ? ""
          : topology.deadLetters.readRecord()));
      assertEquals(List.of(h, w, 1, false), List.of(p.getHeight(), p.getWidth(), p.getChannels(), p.getHasAlpha()));
      assertEquals("image/tiff", p.getOriginalContentType());
      assertEquals(List.of("16-bit samples reduced to 8-bit"), p.getReductions());
      checkDelivered(tif, p);
    }

    BufferedImage rgba = new BufferedImage(17, 11, BufferedImage.TYPE_4BYTE_ABGR);
    Random r = new Random(3);
    for (int y = 0; y < 11; y++) {
      for (int x = 0; x < 17; x++) {
        rgba.setRGB(x, y, (x * 15) << 24 | r.nextInt(1 << 24));
      }
    }
    byte[] rgbaTif = TiffFixtures.write(rgba);
    ProtectedImage q = protect("rgba", "image/tiff", rgbaTif);
    assertEquals(List.of(11, 17, 3, true), List.of(q.getHeight(), q.getWidth(), q.getChannels(), q.getHasAlpha()));
    checkDelivered(rgbaTif, q);

    BufferedImage page = colour(8, 8, 4);
    assertNull(protect("multipage", "image/tiff", TiffFixtures.pages(page, page)));
    TestRecord<byte[], byte[]> dead = topology.deadLetters.readRecord();
    assertEquals("multipage", new String(dead.key(), StandardCharsets.UTF_8));
    assertEquals(RejectedUpload.MULTI_FRAME, new String(dead.headers().lastHeader(DeadLetters.REASON).value(),
        StandardCharsets.UTF_8));
    assertTrue(topology.deadLetters.isEmpty());
  }

  @Test
  void protectFolderTakesTiffFilesAtTheirOwnSize() throws Exception {
    Path in = tmp.resolve("in");
    Files.createDirectories(in);
    int[] board = TiffFixtures.chessboard16(15, 10, 3);
    byte[] tif = TiffFixtures.gray16(15, 10, board, ByteOrder.LITTLE_ENDIAN, 0);
    Files.write(in.resolve("chessboard_GRAY_U16.tif"), tif);
    Files.write(in.resolve("multipage.tif"), TiffFixtures.pages(colour(6, 6, 1), colour(6, 6, 2)));
    Protector protector = new Protector(ensemble, Profile.FAST.settings(Method.SEP_FA_VR, 8 / 255f, ensemble.size(),
        3));
    FolderProtection.Summary summary = new FolderProtection(new PrintStream(new ByteArrayOutputStream()))
        .run(protector, in, tmp.resolve("out"), UploadDecoder.Options.DEFAULT, true, 8, 1 << 20);
    assertEquals(1, summary.images());
    assertEquals(List.of("multipage.tif"), summary.skipped().stream().map(FolderProtection.Skipped::id).toList());
    ChwImage before = UploadDecoder.decode(tif, UploadDecoder.Options.DEFAULT).colour();
    ChwImage after = PngCodec.decode(Files.readAllBytes(tmp.resolve("out/chessboard_GRAY_U16.png")), 1);
    assertEquals(List.of(10, 15), List.of(after.height(), after.width()));
    int worst = 0;
    for (int i = 0; i < before.pixels().length; i++) {
      worst = Math.max(worst, Math.abs((before.pixels()[i] & 0xff) - (after.pixels()[i] & 0xff)));
    }
    assertTrue(worst > 0 && worst <= 8, "max |δ| " + worst);
  }
}
