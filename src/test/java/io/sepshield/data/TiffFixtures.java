package io.sepshield.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * TIFF test files made in the test, never read from disk: skimage's {@code chessboard_GRAY_U16.tif} (little-endian)
 * and {@code chessboard_GRAY_U16B.tif} (big-endian) in kind, written byte by byte because the JDK's TIFF writer
 * always writes big-endian and no Orientation tag; other layouts through the JDK's writer.
 */
public final class TiffFixtures {
  private TiffFixtures() {}

  /**
   * A 16-bit gray chessboard of {@code square}-pixel squares whose dark and light squares take values that exercise
   * rounding to 8 bits (257·k ± 128 lies on either side of a half level).
   */
  public static int[] chessboard16(int width, int height, int square) {
    int[] v = new int[width * height];
    int[] dark = {0, 257 * 40 + 128, 257 * 90 + 129, 1000};
    int[] light = {65535, 257 * 200 + 127, 60000, 257 * 170};
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        int k = (x + 3 * y) % 4;
        v[y * width + x] = ((x / square + y / square) % 2 == 0) ? dark[k] : light[k];
      }
    }
    return v;
  }

  /**
   * An uncompressed single-strip gray TIFF of 16-bit samples (row-major), in the given byte order, with an
   * Orientation tag when {@code orientation} is not 0.
   */
  public static byte[] gray16(int width, int height, int[] samples, ByteOrder order, int orientation) {
    int entries = orientation == 0 ? 9 : 10;
    int ifd = 8;
    int data = ifd + 2 + 12 * entries + 4;
    int bytes = width * height * 2;
    ByteBuffer b = ByteBuffer.allocate(data + bytes).order(order);
    b.put(order == ByteOrder.LITTLE_ENDIAN ? (byte) 'I' : (byte) 'M');
    b.put(order == ByteOrder.LITTLE_ENDIAN ? (byte) 'I' : (byte) 'M');
    b.putShort((short) 42).putInt(ifd);
    b.putShort((short) entries); // tags in ascending order, as TIFF requires
    entry(b, 256, 4, width); // ImageWidth
    entry(b, 257, 4, height); // ImageLength
    entry(b, 258, 3, 16); // BitsPerSample
    entry(b, 259, 3, 1); // Compression: none
    entry(b, 262, 3, 1); // PhotometricInterpretation: BlackIsZero
    entry(b, 273, 4, data); // StripOffsets
    if (orientation != 0) {
      entry(b, 274, 3, orientation);
    }
    entry(b, 277, 3, 1); // SamplesPerPixel
    entry(b, 278, 4, height); // RowsPerStrip
    entry(b, 279, 4, bytes); // StripByteCounts
    b.putInt(0); // no next IFD
    for (int s : samples) {
      b.putShort((short) s);
    }
    return b.array();
  }

  private static void entry(ByteBuffer b, int tag, int type, int value) {
    b.putShort((short) tag).putShort((short) type).putInt(1);
    if (type == 3) {
      b.putShort((short) value).putShort((short) 0); // a SHORT sits in the first two bytes of the value field
    } else {
      b.putInt(value);
    }
  }

  /** The image as TIFF through the JDK's writer (big-endian). */
  public static byte[] write(BufferedImage img) {
    return pages(img);
  }

  /** A multi-page TIFF, one directory per image. */
  public static byte[] pages(BufferedImage... images) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("tiff").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      if (images.length == 1) {
        writer.write(images[0]);
      } else {
        writer.prepareWriteSequence(null);
        for (BufferedImage img : images) {
          writer.writeToSequence(new IIOImage(img, null, null), null);
        }
        writer.endWriteSequence();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }
}
