package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.ImageFormatException.Kind;
import java.awt.color.ColorSpace;
import java.awt.color.ICC_Profile;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.Test;

/** Every test image is generated here: no downloaded files. */
class UploadDecoderTest {
  private static final UploadDecoder.Options STRIP = UploadDecoder.Options.DEFAULT;
  private static final UploadDecoder.Options KEEP_ALL = STRIP.withKeep(EnumSet.allOf(ImageMetadata.Kind.class));

  static byte[] write(BufferedImage img, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(img, format, out), "no writer for " + format);
    return out.toByteArray();
  }

  static BufferedImage random(int type, int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, type);
    Random r = new Random(seed);
    int bands = img.getRaster().getNumBands();
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int b = 0; b < bands; b++) {
          img.getRaster().setSample(x, y, b, r.nextInt(1 << img.getColorModel().getComponentSize(b)));
        }
      }
    }
    return img;
  }

  private static DecodedUpload decode(byte[] bytes) throws ImageFormatException {
    return UploadDecoder.decode(bytes, STRIP);
  }

  @Test
  void oddNonSquareColourKeepsItsSizeAndExactPixels() throws Exception {
    BufferedImage img = random(BufferedImage.TYPE_3BYTE_BGR, 13, 7, 1);
    DecodedUpload d = decode(write(img, "png"));
    assertEquals(3, d.channels());
    assertEquals(7, d.height());
    assertEquals(13, d.width());
    assertNull(d.alpha());
    assertTrue(d.reductions().isEmpty());
    assertTrue(d.metadata().isEmpty());
    assertArrayEquals(PngCodec.fromBufferedImage(img, 3).pixels(), d.colour().pixels());
    DecodedUpload again = decode(d.encodePng(d.colour().pixels()));
    assertArrayEquals(d.colour().pixels(), again.colour().pixels());
  }

  @Test
  void grayStaysOneChannel() throws Exception {
    BufferedImage img = random(BufferedImage.TYPE_BYTE_GRAY, 9, 5, 2);
    DecodedUpload d = decode(write(img, "png"));
    assertEquals(1, d.channels());
    assertArrayEquals(PngCodec.fromBufferedImage(img, 1).pixels(), d.colour().pixels());
  }

  @Test
  void alphaPassesThroughUntouchedForRgbaAndGrayAlpha() throws Exception {
    BufferedImage rgba = random(BufferedImage.TYPE_4BYTE_ABGR, 11, 6, 3);
    DecodedUpload d = decode(write(rgba, "png"));
    assertEquals(3, d.channels());
    byte[] alpha = new byte[66];
    for (int p = 0; p < 66; p++) {
      alpha[p] = (byte) rgba.getRaster().getSample(p % 11, p / 11, 3);
    }
    assertArrayEquals(alpha, d.alpha());
    DecodedUpload back = decode(d.encodePng(d.colour().pixels()));
    assertArrayEquals(alpha, back.alpha());
    assertArrayEquals(d.colour().pixels(), back.colour().pixels());

    ChwImage gray = PngCodec.fromBufferedImage(random(BufferedImage.TYPE_BYTE_GRAY, 5, 8, 4), 1);
    byte[] grayAlpha = new byte[40];
    new Random(5).nextBytes(grayAlpha);
    DecodedUpload ga = decode(PngCodec.encode(gray, grayAlpha, ImageMetadata.NONE));
    assertEquals(1, ga.channels(), "gray + alpha stays gray");
    assertArrayEquals(gray.pixels(), ga.colour().pixels());
    assertArrayEquals(grayAlpha, ga.alpha());
  }

  @Test
  void aPaletteBecomesRgbWithItsTransparencyAsAlpha() throws Exception {
    byte[] r = {0, (byte) 255, 10, 20};
    byte[] g = {0, 0, (byte) 200, 30};
    byte[] b = {0, 0, 50, (byte) 240};
    byte[] a = {0, (byte) 255, (byte) 128, (byte) 255};
    IndexColorModel cm = new IndexColorModel(2, 4, r, g, b, a);
    BufferedImage img = new BufferedImage(7, 3, BufferedImage.TYPE_BYTE_INDEXED, cm);
    for (int p = 0; p < 21; p++) {
      img.getRaster().setSample(p % 7, p / 7, 0, p % 4);
    }
    DecodedUpload d = decode(write(img, "png"));
    assertEquals(3, d.channels());
    for (int p = 0; p < 21; p++) {
      int i = p % 4;
      assertEquals(r[i], d.colour().pixels()[p]);
      assertEquals(g[i], d.colour().pixels()[21 + p]);
      assertEquals(b[i], d.colour().pixels()[42 + p]);
      assertEquals(a[i], d.alpha()[p]);
    }
  }

  @Test
  void sixteenBitSamplesAreRoundedToEightBitAndSaySo() throws Exception {
    BufferedImage img = new BufferedImage(4, 3, BufferedImage.TYPE_USHORT_GRAY);
    int[] values = {0, 65535, 257 * 100, 257 * 100 + 128, 257 * 100 + 129, 32767, 1, 128, 129, 40000, 50000, 60000};
    for (int p = 0; p < 12; p++) {
      img.getRaster().setSample(p % 4, p / 4, 0, values[p]);
    }
    DecodedUpload d = decode(write(img, "png"));
    assertEquals(1, d.channels());
    for (int p = 0; p < 12; p++) {
      assertEquals(Math.round(values[p] / 257.0), d.colour().pixels()[p] & 0xff, "sample " + values[p]);
    }
    assertEquals(List.of("16-bit samples reduced to 8-bit"), d.reductions());
  }

  /** A little-endian EXIF block: orientation, a GPS latitude, and an IFD1 thumbnail of 0xAB bytes. */
  static byte[] exif(int orientation) {
    ByteBuffer b = ByteBuffer.allocate(126).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8);
    b.putShort((short) 2); // IFD0 at 8
    b.putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0);
    b.putShort((short) 0x8825).putShort((short) 4).putInt(1).putInt(38);
    b.putInt(80); // next: IFD1
    b.putShort((short) 1); // GPS IFD at 38
    b.putShort((short) 2).putShort((short) 5).putInt(3).putInt(56); // GPSLatitude, 3 rationals at 56
    b.putInt(0);
    for (int i = 0; i < 6; i++) {
      b.putInt(0x47505321); // "!SPG": recognisable GPS bytes
    }
    b.putShort((short) 2); // IFD1 at 80
    b.putShort((short) 0x0201).putShort((short) 4).putInt(1).putInt(110);
    b.putShort((short) 0x0202).putShort((short) 4).putInt(1).putInt(16);
    b.putInt(0);
    for (int i = 0; i < 16; i++) {
      b.put((byte) 0xAB);
    }
    return b.array();
  }

  @Test
  void exifOrientationIsAppliedForAllEightValues() throws Exception {
    int h = 3;
    int w = 5;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    for (int p = 0; p < h * w; p++) {
      img.getRaster().setSample(p % w, p / w, 0, 10 * p + 5); // unique values: stored (y, x) has 10(y w + x) + 5
    }
    byte[] png = write(img, "png");
    // Where stored (0,0) and stored (0,1) end up, per the EXIF specification's description of each value.
    int[][] expected = {null, {0, 0, 0, 1}, {0, -1, 0, -2}, {-1, -1, -1, -2}, {-1, 0, -1, 1}, {0, 0, 1, 0},
        {0, -1, 1, -1}, {-1, -1, -2, -1}, {-1, 0, -2, 0}};
    for (int o = 1; o <= 8; o++) {
      DecodedUpload d = decode(PngChunks.insertAfterHeader(png, "eXIf", exif(o)));
      int dh = o >= 5 ? w : h;
      int dw = o >= 5 ? h : w;
      assertEquals(dh, d.height(), "orientation " + o);
      assertEquals(dw, d.width(), "orientation " + o);
      byte[] px = d.colour().pixels();
      int[] e = expected[o];
      int r0 = e[0] < 0 ? dh + e[0] : e[0];
      int c0 = e[1] < 0 ? dw + e[1] : e[1];
      int r1 = e[2] < 0 ? dh + e[2] : e[2];
      int c1 = e[3] < 0 ? dw + e[3] : e[3];
      assertEquals(5, px[r0 * dw + c0] & 0xff, "orientation " + o + ": stored (0,0)");
      assertEquals(15, px[r1 * dw + c1] & 0xff, "orientation " + o + ": stored (0,1)");
    }
  }

  @Test
  void aJpegWithExifOrientationSixIsTurnedUpright() throws Exception {
    BufferedImage img = new BufferedImage(16, 8, BufferedImage.TYPE_3BYTE_BGR);
    for (int y = 0; y < 8; y++) {
      for (int x = 0; x < 8; x++) {
        img.setRGB(x, y, 0xFFFFFF); // the left half white, stored
      }
    }
    byte[] jpeg = write(img, "jpeg");
    byte[] exif = exif(6);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2);
    out.write(0xFF);
    out.write(0xE1);
    int len = 2 + 6 + exif.length;
    out.write(len >> 8);
    out.write(len);
    out.writeBytes("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(exif);
    out.write(jpeg, 2, jpeg.length - 2);
    DecodedUpload d = decode(out.toByteArray());
    assertEquals(16, d.height());
    assertEquals(8, d.width());
    byte[] red = d.colour().pixels();
    // Rotated 90 degrees clockwise: the stored left half is now the top half.
    assertTrue((red[2 * 8 + 4] & 0xff) > 200, "top should be white");
    assertTrue((red[13 * 8 + 4] & 0xff) < 50, "bottom should be black");
  }

  /** A PNG carrying every kind of metadata; its EXIF has GPS and a thumbnail. */
  static byte[] pngWithMetadata(BufferedImage img) throws IOException {
    byte[] png = write(img, "png");
    ImageMetadata all = new ImageMetadata(ICC_Profile.getInstance(ColorSpace.CS_sRGB).getData(), exif(1),
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">secret-xmp</x:xmpmeta>",
        List.of(new ImageMetadata.Text("Author", "secret-author")));
    return PngChunks.insertAfterHeader(png, all);
  }

  static List<String> chunkTypes(byte[] png) {
    List<String> types = new ArrayList<>();
    int pos = 8;
    while (pos + 8 <= png.length) {
      int len = ByteBuffer.wrap(png, pos, 4).getInt();
      types.add(new String(png, pos + 4, 4, StandardCharsets.ISO_8859_1));
      pos += 12 + len;
    }
    return types;
  }

  static boolean contains(byte[] haystack, byte[] needle) {
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

  @Test
  void metadataIsStrippedByDefaultAndKeptPerListWithoutGpsOrThumbnail() throws Exception {
    BufferedImage img = random(BufferedImage.TYPE_3BYTE_BGR, 6, 4, 7);
    byte[] in = pngWithMetadata(img);
    byte[] gps = {0x21, 0x53, 0x50, 0x47};
    DecodedUpload stripped = decode(in);
    assertTrue(stripped.metadata().isEmpty());
    assertArrayEquals(PngCodec.fromBufferedImage(img, 3).pixels(), stripped.colour().pixels(),
        "an ICC-tagged image keeps its encoded samples");
    byte[] out = stripped.encodePng(stripped.colour().pixels());
    assertEquals(Set.of("IHDR", "IDAT", "IEND"), Set.copyOf(chunkTypes(out)));
    for (String secret : List.of("secret-author", "secret-xmp")) {
      assertFalse(contains(out, secret.getBytes(StandardCharsets.ISO_8859_1)), secret);
    }

    DecodedUpload kept = UploadDecoder.decode(in, KEEP_ALL);
    assertEquals(EnumSet.allOf(ImageMetadata.Kind.class), kept.metadata().kinds());
    byte[] keptOut = kept.encodePng(kept.colour().pixels());
    assertTrue(chunkTypes(keptOut).containsAll(List.of("iCCP", "eXIf", "iTXt")), chunkTypes(keptOut).toString());
    assertTrue(contains(keptOut, "secret-author".getBytes(StandardCharsets.ISO_8859_1)));
    assertFalse(contains(keptOut, gps), "GPS values must not survive in kept EXIF");
    assertFalse(contains(keptOut, new byte[] {(byte) 0xAB, (byte) 0xAB, (byte) 0xAB, (byte) 0xAB}),
        "the EXIF thumbnail must not survive");
    DecodedUpload reread = UploadDecoder.decode(keptOut, KEEP_ALL);
    assertArrayEquals(kept.colour().pixels(), reread.colour().pixels());
    assertArrayEquals(kept.metadata().icc(), reread.metadata().icc());
    assertEquals(kept.metadata().xmp(), reread.metadata().xmp());
    assertEquals(1, Exif.orientation(reread.metadata().exif()));

    DecodedUpload onlyText = UploadDecoder.decode(in, STRIP.withKeep(Set.of(ImageMetadata.Kind.TEXT)));
    assertEquals(Set.of(ImageMetadata.Kind.TEXT), onlyText.metadata().kinds());
  }

  @Test
  void animationsAreRefusedAsMultiFrame() throws Exception {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
    ByteArrayOutputStream gif = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(gif)) {
      writer.setOutput(out);
      writer.prepareWriteSequence(null);
      writer.writeToSequence(new IIOImage(random(BufferedImage.TYPE_BYTE_INDEXED, 8, 8, 1), null, null), null);
      writer.writeToSequence(new IIOImage(random(BufferedImage.TYPE_BYTE_INDEXED, 8, 8, 2), null, null), null);
      writer.endWriteSequence();
    } finally {
      writer.dispose();
    }
    assertEquals(Kind.MULTI_FRAME, assertThrows(ImageFormatException.class, () -> decode(gif.toByteArray())).kind());
    byte[] stillGif = write(random(BufferedImage.TYPE_BYTE_INDEXED, 8, 8, 1), "gif");
    assertEquals(3, decode(stillGif).channels());

    byte[] png = write(random(BufferedImage.TYPE_BYTE_GRAY, 8, 8, 1), "png");
    byte[] apng = PngChunks.insertAfterHeader(png, "acTL", new byte[] {0, 0, 0, 2, 0, 0, 0, 0});
    assertEquals(Kind.MULTI_FRAME, assertThrows(ImageFormatException.class, () -> decode(apng)).kind());

    byte[] webp = new byte[30];
    System.arraycopy("RIFF\0\0\0\0WEBPVP8X".getBytes(StandardCharsets.ISO_8859_1), 0, webp, 0, 16);
    assertEquals(Kind.UNSUPPORTED, assertThrows(ImageFormatException.class, () -> decode(webp)).kind());
    webp[20] = 0x02; // animation flag
    assertEquals(Kind.MULTI_FRAME, assertThrows(ImageFormatException.class, () -> decode(webp)).kind());
  }

  @Test
  void badInputIsRefusedWithItsKindAndSizeIsCheckedBeforeDecoding() throws Exception {
    byte[] png = write(random(BufferedImage.TYPE_3BYTE_BGR, 13, 7, 1), "png");
    UploadDecoder.Options small = new UploadDecoder.Options(Set.of(), 12, 100, 1000);
    assertEquals(Kind.TOO_LARGE, assertThrows(ImageFormatException.class,
        () -> UploadDecoder.decode(png, small)).kind());
    // A header claiming 100000 x 100000 over a tiny body: refused for its size, not decoded.
    byte[] bomb = png.clone();
    ByteBuffer.wrap(bomb, 16, 8).putInt(100000).putInt(100000);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(bomb, 12, 17);
    ByteBuffer.wrap(bomb, 29, 4).putInt((int) crc.getValue());
    assertEquals(Kind.TOO_LARGE, assertThrows(ImageFormatException.class, () -> decode(bomb)).kind());

    byte[] truncated = java.util.Arrays.copyOf(png, png.length / 2);
    assertEquals(Kind.CORRUPT, assertThrows(ImageFormatException.class, () -> decode(truncated)).kind());
    assertEquals(Kind.UNSUPPORTED, assertThrows(ImageFormatException.class,
        () -> decode("not an image at all".getBytes(StandardCharsets.US_ASCII))).kind());

    // A JPEG whose frame header declares 4 components (CMYK): refused from the header.
    byte[] jpeg = write(random(BufferedImage.TYPE_3BYTE_BGR, 8, 8, 1), "jpeg");
    byte[] cmyk = jpeg.clone();
    for (int i = 2; i + 9 < cmyk.length; i++) {
      if ((cmyk[i] & 0xff) == 0xFF && (cmyk[i + 1] & 0xff) == 0xC0) {
        cmyk[i + 9] = 4;
        break;
      }
    }
    ImageFormatException e = assertThrows(ImageFormatException.class, () -> decode(cmyk));
    assertEquals(Kind.UNSUPPORTED, e.kind());
    assertTrue(e.getMessage().contains("CMYK"), e.getMessage());
  }
}
