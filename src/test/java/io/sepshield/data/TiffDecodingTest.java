package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.ImageFormatException.Kind;
import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TIFF uploads through the JDK's reader: every file is generated here ({@link TiffFixtures}). */
class TiffDecodingTest {
  @TempDir
  Path tmp;

  private static DecodedUpload decode(byte[] bytes) throws ImageFormatException {
    return UploadDecoder.decode(bytes, UploadDecoder.Options.DEFAULT);
  }

  @Test
  void sixteenBitGrayChessboardsInBothByteOrdersAreRoundedToEightBitAndSaySo() throws Exception {
    int w = 13;
    int h = 9; // odd and non-square
    int[] v = TiffFixtures.chessboard16(w, h, 4);
    for (ByteOrder order : List.of(ByteOrder.LITTLE_ENDIAN, ByteOrder.BIG_ENDIAN)) { // _U16.tif and _U16B.tif
      byte[] tif = TiffFixtures.gray16(w, h, v, order, 0);
      assertEquals("tiff", PngCodec.detectFormat(tif));
      assertEquals(new PngCodec.ImageInfo("tiff", w, h), PngCodec.probe(tif));
      DecodedUpload d = decode(tif);
      assertEquals(List.of(1, h, w), List.of(d.channels(), d.height(), d.width()), order.toString());
      assertNull(d.alpha());
      assertEquals("tiff", d.format());
      for (int p = 0; p < w * h; p++) {
        assertEquals(Math.round(v[p] / 257.0), d.colour().pixels()[p] & 0xff, order + " sample " + v[p]);
      }
      assertEquals(List.of("16-bit samples reduced to 8-bit"), d.reductions());
      // The other reader (data sets, evaluation) agrees.
      assertArrayEquals(d.colour().pixels(), PngCodec.decode(tif, 1).pixels());
    }
  }

  @Test
  void colourAlphaAndSixteenBitRgbKeepTheirLayout() throws Exception {
    BufferedImage rgba = UploadDecoderTest.random(BufferedImage.TYPE_4BYTE_ABGR, 11, 6, 3);
    DecodedUpload d = decode(TiffFixtures.write(rgba));
    DecodedUpload png = decode(UploadDecoderTest.write(rgba, "png"));
    assertEquals(3, d.channels());
    assertArrayEquals(png.colour().pixels(), d.colour().pixels(), "same samples as the same image sent as PNG");
    assertArrayEquals(png.alpha(), d.alpha());
    assertTrue(d.reductions().isEmpty());

    ComponentColorModel cm16 = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), false, false,
        Transparency.OPAQUE, DataBuffer.TYPE_USHORT);
    BufferedImage rgb16 = new BufferedImage(cm16, cm16.createCompatibleWritableRaster(7, 5), false, null);
    java.util.Random r = new java.util.Random(9);
    for (int p = 0; p < 35; p++) {
      for (int b = 0; b < 3; b++) {
        rgb16.getRaster().setSample(p % 7, p / 7, b, r.nextInt(65536));
      }
    }
    DecodedUpload d16 = decode(TiffFixtures.write(rgb16));
    assertEquals(List.of(3, 5, 7), List.of(d16.channels(), d16.height(), d16.width()));
    for (int p = 0; p < 35; p++) {
      assertEquals(Math.round(rgb16.getRaster().getSample(p % 7, p / 7, 1) / 257.0),
          d16.colour().pixels()[35 + p] & 0xff, "green of pixel " + p);
    }
    assertEquals(List.of("16-bit samples reduced to 8-bit"), d16.reductions());
  }

  @Test
  void theTiffOrientationTagIsApplied() throws Exception {
    int w = 5;
    int h = 3;
    int[] v = new int[w * h];
    for (int p = 0; p < v.length; p++) {
      v[p] = 257 * (10 * p + 5);
    }
    DecodedUpload upright = decode(TiffFixtures.gray16(w, h, v, ByteOrder.LITTLE_ENDIAN, 6));
    assertEquals(List.of(w, h), List.of(upright.height(), upright.width()), "orientation 6 swaps the sides");
    // Rotated 90 degrees clockwise: stored (0,0) lands at the top right, stored (0,1) below it.
    assertEquals(5, upright.colour().pixels()[h - 1] & 0xff);
    assertEquals(15, upright.colour().pixels()[h + h - 1] & 0xff);
  }

  @Test
  void multiPageAndFloatTiffsAreRefusedWithTheirOwnKind() throws Exception {
    BufferedImage page = UploadDecoderTest.random(BufferedImage.TYPE_BYTE_GRAY, 8, 8, 1);
    ImageFormatException multi = assertThrows(ImageFormatException.class,
        () -> decode(TiffFixtures.pages(page, page, page)));
    assertEquals(Kind.MULTI_FRAME, multi.kind());
    assertTrue(multi.getMessage().contains("3 pages"), multi.getMessage());
    assertEquals(1, decode(TiffFixtures.pages(page)).channels(), "one page is fine");

    ComponentColorModel cmf = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), false, false,
        Transparency.OPAQUE, DataBuffer.TYPE_FLOAT);
    BufferedImage f = new BufferedImage(cmf, cmf.createCompatibleWritableRaster(4, 3), false, null);
    assertEquals(Kind.UNSUPPORTED, assertThrows(ImageFormatException.class,
        () -> decode(TiffFixtures.write(f))).kind());

    byte[] tif = TiffFixtures.gray16(6, 4, new int[24], ByteOrder.BIG_ENDIAN, 0);
    assertEquals(Kind.CORRUPT, assertThrows(ImageFormatException.class,
        () -> decode(java.util.Arrays.copyOf(tif, tif.length - 20))).kind(), "pixel data cut short");
    UploadDecoder.Options small = new UploadDecoder.Options(EnumSet.noneOf(ImageMetadata.Kind.class), 5, 100, 1000);
    assertEquals(Kind.TOO_LARGE, assertThrows(ImageFormatException.class,
        () -> UploadDecoder.decode(tif, small)).kind(), "the header's size is checked first");
  }

  @Test
  void premultipliedAlphaBecomesStraightAlphaAndSaysSo() throws Exception {
    BufferedImage pre = new BufferedImage(4, 2, BufferedImage.TYPE_4BYTE_ABGR_PRE);
    pre.setRGB(0, 0, 0x80FF0000); // half-transparent red: stored premultiplied as 128, 0, 0
    pre.setRGB(1, 0, 0xFF00FF00);
    DecodedUpload d = decode(TiffFixtures.write(pre));
    assertEquals(List.of("premultiplied alpha converted to straight alpha"), d.reductions());
    assertEquals(128, d.alpha()[0] & 0xff);
    assertTrue((d.colour().pixels()[0] & 0xff) >= 254, "red un-premultiplied: " + (d.colour().pixels()[0] & 0xff));
    assertEquals(255, d.colour().pixels()[8 + 1] & 0xff, "green of the opaque pixel");
  }

  @Test
  void imageFoldersListTiffFiles() throws Exception {
    Path dir = tmp.resolve("set/a");
    Files.createDirectories(dir);
    Files.write(dir.resolve("board.tif"), TiffFixtures.gray16(12, 12, TiffFixtures.chessboard16(12, 12, 3),
        ByteOrder.LITTLE_ENDIAN, 0));
    Files.write(dir.resolve("board.TIFF"), TiffFixtures.write(UploadDecoderTest.random(BufferedImage.TYPE_BYTE_GRAY,
        12, 12, 2)));
    assertEquals(List.of("a/board.TIFF", "a/board.tif"), ImageFolder.list(tmp.resolve("set")).ids());
  }
}
