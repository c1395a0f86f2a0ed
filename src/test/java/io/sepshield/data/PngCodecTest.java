package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class PngCodecTest {
  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] imageIo(BufferedImage img, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(img, format, out), "no writer for " + format);
    return out.toByteArray();
  }

  @Test
  void pngRoundTripIsBitExactForGrayAndRgb() throws IOException {
    int[][] shapes = {{1, 1}, {7, 5}, {28, 28}, {13, 31}};
    for (int channels : new int[] {1, 3}) {
      for (int[] hw : shapes) {
        byte[] pixels = random(channels * hw[0] * hw[1], 31L * channels + hw[0]);
        byte[] png = PngCodec.encode(pixels, channels, hw[0], hw[1]);
        ChwImage back = PngCodec.decode(png, channels);
        assertEquals(hw[0], back.height());
        assertEquals(hw[1], back.width());
        assertArrayEquals(pixels, back.pixels(), channels + "x" + hw[0] + "x" + hw[1]);
      }
    }
  }

  @Test
  void encodesEightBitGrayOrRgbPng() {
    byte[] gray = PngCodec.encode(new byte[6], 1, 2, 3);
    byte[] rgb = PngCodec.encode(new byte[18], 3, 2, 3);
    // IHDR: bit depth at byte 24, colour type at 25 (0 = gray, 2 = RGB, no alpha, no palette).
    assertEquals("png", PngCodec.detectFormat(gray));
    assertEquals(8, gray[24]);
    assertEquals(0, gray[25]);
    assertEquals(8, rgb[24]);
    assertEquals(2, rgb[25]);
    assertThrows(IllegalArgumentException.class, () -> PngCodec.encode(new byte[8], 2, 2, 2));
    assertThrows(IllegalArgumentException.class, () -> PngCodec.encode(new byte[5], 1, 2, 3));
  }

  @Test
  void convertsBetweenGrayAndRgbOnDecode() throws IOException {
    byte[] gray = random(4 * 4, 1);
    ChwImage asRgb = PngCodec.decode(PngCodec.encode(gray, 1, 4, 4), 3);
    for (int c = 0; c < 3; c++) {
      assertArrayEquals(gray, Arrays.copyOfRange(asRgb.pixels(), c * 16, (c + 1) * 16));
    }
    byte[] rgb = random(3 * 4 * 4, 2);
    ChwImage asGray = PngCodec.decode(PngCodec.encode(rgb, 3, 4, 4), 1);
    for (int p = 0; p < 16; p++) {
      int expected = PngCodec.luminance(rgb[p] & 0xFF, rgb[16 + p] & 0xFF, rgb[32 + p] & 0xFF);
      assertEquals(expected, asGray.pixels()[p] & 0xFF);
    }
    assertEquals(255, PngCodec.luminance(255, 255, 255));
    assertEquals(76, PngCodec.luminance(255, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> PngCodec.decode(PngCodec.encode(gray, 1, 4, 4), 4));
  }

  @Test
  void decodesPaletteImagesInPngAndGifAndRgbBmpExactly() throws IOException {
    byte[] r = {0, (byte) 200, 10, (byte) 255};
    byte[] g = {0, 100, 20, (byte) 255};
    byte[] b = {0, 50, 30, (byte) 255};
    IndexColorModel palette = new IndexColorModel(8, 4, r, g, b);
    // 6 rows: the JDK's GIF code mixes up rows of interlaced images only 3 rows high.
    int h = 6;
    int w = 5;
    int n = h * w;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, palette);
    int[] index = new int[n];
    for (int p = 0; p < n; p++) {
      index[p] = p % 4;
      img.getRaster().setSample(p % w, p / w, 0, index[p]);
    }
    // Not BMP: the JDK's BMP writer stores small palettes as broken 4-bit files.
    for (String format : new String[] {"png", "gif"}) {
      ChwImage back = PngCodec.decode(imageIo(img, format), 3);
      assertEquals(h, back.height(), format);
      assertEquals(w, back.width(), format);
      for (int p = 0; p < n; p++) {
        assertEquals(r[index[p]] & 0xFF, back.pixels()[p] & 0xFF, format);
        assertEquals(g[index[p]] & 0xFF, back.pixels()[n + p] & 0xFF, format);
        assertEquals(b[index[p]] & 0xFF, back.pixels()[2 * n + p] & 0xFF, format);
      }
    }
    byte[] rgb = random(3 * 6 * 7, 3);
    BufferedImage colour = PngCodec.toBufferedImage(new ChwImage(3, 6, 7, rgb));
    assertArrayEquals(rgb, PngCodec.decode(imageIo(colour, "bmp"), 3).pixels());
  }

  @Test
  void decodesJpegApproximatelyAndSixteenBitAndAlphaPng() throws IOException {
    BufferedImage smooth = new BufferedImage(32, 32, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < 32; y++) {
      for (int x = 0; x < 32; x++) {
        smooth.getRaster().setSample(x, y, 0, 4 * x + 2 * y);
      }
    }
    ChwImage jpeg = PngCodec.decode(imageIo(smooth, "jpeg"), 1);
    for (int y = 0; y < 32; y++) {
      for (int x = 0; x < 32; x++) {
        int v = jpeg.pixels()[y * 32 + x] & 0xFF;
        assertTrue(Math.abs(v - (4 * x + 2 * y)) <= 8, "jpeg gray must not be gamma-shifted: " + v);
      }
    }

    BufferedImage wide = new BufferedImage(2, 1, BufferedImage.TYPE_USHORT_GRAY);
    wide.getRaster().setSample(0, 0, 0, 65535);
    wide.getRaster().setSample(1, 0, 0, 257 * 100);
    assertArrayEquals(new byte[] {(byte) 255, 100}, PngCodec.decode(imageIo(wide, "png"), 1).pixels());

    BufferedImage rgba = new BufferedImage(1, 1, BufferedImage.TYPE_4BYTE_ABGR);
    rgba.getRaster().setPixel(0, 0, new int[] {10, 20, 30, 0});
    assertArrayEquals(new byte[] {10, 20, 30}, PngCodec.decode(imageIo(rgba, "png"), 3).pixels(),
        "alpha is dropped, not composited");
  }

  @Test
  void probeReadsTheHeaderOnly() throws IOException {
    byte[] png = PngCodec.encode(random(3 * 40 * 30, 5), 3, 40, 30);
    assertEquals(new PngCodec.ImageInfo("png", 30, 40), PngCodec.probe(png));

    // Cut right after IHDR: the header is intact, the pixels are gone. Probe must still work; decode must fail.
    byte[] headerOnly = Arrays.copyOf(png, 33);
    assertEquals(new PngCodec.ImageInfo("png", 30, 40), PngCodec.probe(headerOnly));
    ImageFormatException e = assertThrows(ImageFormatException.class, () -> PngCodec.decode(headerOnly, 3));
    assertTrue(e.getMessage().contains("PNG"), e.getMessage());

    // A header announcing a 100000 x 100000 image is answered at once, with no gigantic allocation.
    assertEquals(new PngCodec.ImageInfo("png", 100_000, 100_000), PngCodec.probe(withPngSize(png, 100_000, 100_000)));

    BufferedImage img = new BufferedImage(9, 4, BufferedImage.TYPE_3BYTE_BGR);
    assertEquals(new PngCodec.ImageInfo("jpeg", 9, 4), PngCodec.probe(imageIo(img, "jpeg")));
    assertEquals(new PngCodec.ImageInfo("bmp", 9, 4), PngCodec.probe(imageIo(img, "bmp")));
    assertEquals(new PngCodec.ImageInfo("gif", 9, 4), PngCodec.probe(imageIo(img, "gif")));
  }

  @Test
  void unknownOrCorruptInputIsRejectedClearly() {
    byte[] garbage = random(1000, 9);
    garbage[0] = 0;
    garbage[1] = 0;
    byte[][] inputs = {garbage, new byte[0], new byte[64], "hello, world".getBytes(StandardCharsets.US_ASCII),
        "BM".getBytes(StandardCharsets.US_ASCII)};
    for (byte[] input : inputs) {
      ImageFormatException e = assertThrows(ImageFormatException.class, () -> PngCodec.probe(input));
      assertTrue(e.getMessage().contains("unrecognized image format"), e.getMessage());
      assertThrows(ImageFormatException.class, () -> PngCodec.decode(input, 1));
    }
    // Right magic, rubbish after it.
    byte[] fakePng = Arrays.copyOf(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}, 40);
    System.arraycopy(random(32, 10), 0, fakePng, 8, 32);
    assertThrows(ImageFormatException.class, () -> PngCodec.probe(fakePng));
    assertThrows(ImageFormatException.class, () -> PngCodec.decode(fakePng, 3));
    byte[] fakeJpeg = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF, 0, 1, 2};
    assertThrows(ImageFormatException.class, () -> PngCodec.decode(fakeJpeg, 3));
  }

  /** The PNG with other width and height in IHDR (and a matching CRC). */
  private static byte[] withPngSize(byte[] png, int width, int height) {
    byte[] out = png.clone();
    ByteBuffer.wrap(out, 16, 8).putInt(width).putInt(height);
    CRC32 crc = new CRC32();
    crc.update(out, 12, 17); // chunk type + 13 data bytes
    ByteBuffer.wrap(out, 29, 4).putInt((int) crc.getValue());
    return out;
  }
}
