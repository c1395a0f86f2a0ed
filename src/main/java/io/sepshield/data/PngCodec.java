package io.sepshield.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBufferByte;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Lossless PNG encoding of CHW 8-bit images, and decoding of PNG, JPEG, BMP, GIF and TIFF input into a chosen channel
 * count.
 *
 * <p>Decoding reads raster samples directly rather than through {@link BufferedImage#getRGB}: Java2D treats 8-bit
 * grayscale as linear and gamma-converts it in {@code getRGB} (gray 128 comes back as 188), which would break
 * bit-exact round trips. Alpha channels are dropped, not composited. Colour to gray uses ITU-R BT.601 luminance
 * (0.299 R + 0.587 G + 0.114 B), as PIL's "L" mode does.
 *
 * <p>The input format is recognised from its magic bytes; only PNG, JPEG, BMP, GIF and (classic, not Big-) TIFF are
 * accepted, even though ImageIO knows more (WBMP in particular has almost no signature and would "recognise" random
 * bytes). TIFF is read by the JDK's own plug-in (javax.imageio, Java 9+).
 */
public final class PngCodec {
  private PngCodec() {}

  /**
   * An image's header facts, read without decoding pixels.
   *
   * @param format "png", "jpeg", "bmp", "gif" or "tiff"
   */
  public record ImageInfo(String format, int width, int height) {}

  /** Encodes an image as an 8-bit grayscale (1 channel) or RGB (3 channels) PNG. */
  public static byte[] encode(ChwImage image) {
    return encode(image.pixels(), image.channels(), image.height(), image.width());
  }

  /**
   * Encodes CHW bytes as an 8-bit grayscale (C=1) or RGB (C=3) PNG.
   *
   * @throws IllegalArgumentException for other channel counts or a buffer of the wrong size
   */
  public static byte[] encode(byte[] chw, int channels, int height, int width) {
    return write(toBufferedImage(new ChwImage(channels, height, width, chw)), chw.length);
  }

  /**
   * Encodes the protected image of an upload: gray or RGB colour, plus alpha when given (gray+alpha or RGBA PNG),
   * plus the kept metadata as PNG chunks (iCCP, eXIf, iTXt for XMP, tEXt/iTXt for text), all 8-bit, lossless.
   *
   * @param alpha height × width bytes, or null
   * @param metadata what to re-emit; {@link ImageMetadata#NONE} for nothing
   */
  public static byte[] encode(ChwImage colour, byte[] alpha, ImageMetadata metadata) {
    byte[] png = alpha == null ? encode(colour) : write(withAlpha(colour, alpha), colour.pixels().length);
    return metadata == null || metadata.isEmpty() ? png : PngChunks.insertAfterHeader(png, metadata);
  }

  /** A BufferedImage holding gray+alpha or RGBA, exactly these samples. */
  private static BufferedImage withAlpha(ChwImage colour, byte[] alpha) {
    int c = colour.channels();
    int h = colour.height();
    int w = colour.width();
    int plane = h * w;
    if (alpha.length != plane) {
      throw new IllegalArgumentException("alpha holds " + alpha.length + " bytes for a " + h + "x" + w + " image");
    }
    if (c != 1 && c != 3) {
      throw new IllegalArgumentException("PNG encoding supports 1 (gray) or 3 (RGB) channels, not " + c);
    }
    java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(ColorSpace.getInstance(c == 1
        ? ColorSpace.CS_GRAY : ColorSpace.CS_sRGB), true, false, java.awt.Transparency.TRANSLUCENT,
        java.awt.image.DataBuffer.TYPE_BYTE);
    java.awt.image.WritableRaster raster = cm.createCompatibleWritableRaster(w, h);
    byte[] data = ((DataBufferByte) raster.getDataBuffer()).getData(); // pixel-interleaved, colour bands then alpha
    byte[] chw = colour.pixels();
    for (int p = 0; p < plane; p++) {
      for (int k = 0; k < c; k++) {
        data[(c + 1) * p + k] = chw[k * plane + p];
      }
      data[(c + 1) * p + c] = alpha[p];
    }
    return new BufferedImage(cm, raster, false, null);
  }

  private static byte[] write(BufferedImage img, int sizeHint) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(sizeHint / 2 + 1024);
    // Memory-cached stream: ImageIO's default stream may spill to a temporary file.
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.write(img);
    } catch (IOException e) {
      throw new UncheckedIOException("PNG encoding failed in memory", e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /**
   * Decodes PNG, JPEG, BMP, GIF or TIFF bytes (first frame or page) into an image with the given number of channels.
   *
   * @param channels 1 (grayscale luminance) or 3 (RGB)
   * @throws ImageFormatException for an unknown format or corrupt/truncated data
   */
  public static ChwImage decode(byte[] bytes, int channels) throws ImageFormatException {
    checkChannels(channels);
    String format = requireFormat(bytes);
    ImageReader reader = readerFor(format);
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      reader.setInput(in, true, true);
      BufferedImage img = reader.read(0);
      return fromBufferedImage(img, channels);
    } catch (IOException | RuntimeException e) {
      // ImageIO plug-ins throw assorted runtime exceptions on corrupt input; callers need one checked type.
      throw new ImageFormatException("cannot decode " + format.toUpperCase() + " data (" + bytes.length
          + " bytes): " + e.getMessage(), e);
    } finally {
      reader.dispose();
    }
  }

  /**
   * Reads format, width and height from the image header only, so callers can enforce size limits before paying for
   * a full decode.
   *
   * @throws ImageFormatException for an unknown format or an unreadable header
   */
  public static ImageInfo probe(byte[] bytes) throws ImageFormatException {
    String format = requireFormat(bytes);
    if (format.equals("jpeg")) {
      int precision = jpegPrecision(bytes);
      if (precision > 0 && precision != 8) { // the JDK's libjpeg is 8-bit only: not corrupt, just unsupported
        throw new ImageFormatException(ImageFormatException.Kind.UNSUPPORTED, precision + "-bit JPEG is not "
            + "supported (8-bit only); convert it to 8-bit or send PNG");
      }
    }
    ImageReader reader = readerFor(format);
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      reader.setInput(in, true, true);
      int width = reader.getWidth(0);
      int height = reader.getHeight(0);
      if (width <= 0 || height <= 0) {
        throw new ImageFormatException(format.toUpperCase() + " header declares size " + width + "x" + height);
      }
      return new ImageInfo(format, width, height);
    } catch (ImageFormatException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new ImageFormatException("cannot read " + format.toUpperCase() + " header (" + bytes.length + " bytes): "
          + e.getMessage(), e);
    } finally {
      reader.dispose();
    }
  }

  /** The sample precision of a JPEG's first start-of-frame segment, or -1 when there is none before the scan. */
  static int jpegPrecision(byte[] b) {
    int pos = 2;
    while (pos + 4 < b.length && (b[pos] & 0xff) == 0xFF) {
      int marker = b[pos + 1] & 0xff;
      if (marker == 0xFF) {
        pos++;
        continue;
      }
      if (marker == 0xD9 || marker == 0xDA) {
        return -1;
      }
      if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
        return b[pos + 4] & 0xff;
      }
      pos += 2 + ((b[pos + 2] & 0xff) << 8 | (b[pos + 3] & 0xff));
    }
    return -1;
  }

    /** The format named by the magic bytes: "png", "jpeg", "bmp", "gif", "tiff", or {@code null} if none of these. */
  public static String detectFormat(byte[] b) {
    if (startsWith(b, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) {
      return "png";
    }
    if (startsWith(b, 0xFF, 0xD8, 0xFF)) {
      return "jpeg";
    }
    if (startsWith(b, 'G', 'I', 'F', '8', '7', 'a') || startsWith(b, 'G', 'I', 'F', '8', '9', 'a')) {
      return "gif";
    }
    if (startsWith(b, 'B', 'M') && b.length >= 26) {
      return "bmp";
    }
    if (startsWith(b, 'I', 'I', 42, 0) || startsWith(b, 'M', 'M', 0, 42)) {
      return "tiff"; // classic TIFF; BigTIFF (43) has no reader in the JDK
    }
    return null;
  }

  /** Converts a decoded image to CHW bytes with 1 (luminance) or 3 (RGB) channels; alpha is dropped. */
  public static ChwImage fromBufferedImage(BufferedImage img, int channels) {
    checkChannels(channels);
    int w = img.getWidth();
    int h = img.getHeight();
    int plane = w * h;
    ColorModel cm = img.getColorModel();
    Raster raster = img.getRaster();
    boolean direct = !(cm instanceof IndexColorModel);
    int[] gray = null;
    int[][] rgb = null;
    if (direct && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && cm.getNumColorComponents() == 1) {
      gray = samples8(raster, cm, 0, w, h);
    } else if (direct && cm.getColorSpace().isCS_sRGB() && cm.getNumColorComponents() == 3) {
      rgb = new int[][] {samples8(raster, cm, 0, w, h), samples8(raster, cm, 1, w, h), samples8(raster, cm, 2, w, h)};
    } else {
      // Palettes and other colour spaces: let Java2D convert to sRGB.
      int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
      rgb = new int[3][plane];
      for (int p = 0; p < plane; p++) {
        rgb[0][p] = (argb[p] >> 16) & 0xFF;
        rgb[1][p] = (argb[p] >> 8) & 0xFF;
        rgb[2][p] = argb[p] & 0xFF;
      }
    }
    byte[] out = new byte[channels * plane];
    if (gray != null) {
      for (int c = 0; c < channels; c++) {
        for (int p = 0; p < plane; p++) {
          out[c * plane + p] = (byte) gray[p];
        }
      }
    } else if (channels == 3) {
      for (int c = 0; c < 3; c++) {
        for (int p = 0; p < plane; p++) {
          out[c * plane + p] = (byte) rgb[c][p];
        }
      }
    } else {
      for (int p = 0; p < plane; p++) {
        out[p] = (byte) luminance(rgb[0][p], rgb[1][p], rgb[2][p]);
      }
    }
    return new ChwImage(channels, h, w, out);
  }

  /** A BufferedImage (TYPE_BYTE_GRAY or TYPE_3BYTE_BGR) holding exactly the given pixels. */
  public static BufferedImage toBufferedImage(ChwImage image) {
    int c = image.channels();
    int h = image.height();
    int w = image.width();
    byte[] chw = image.pixels();
    if (c == 1) {
      BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
      byte[] data = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
      System.arraycopy(chw, 0, data, 0, chw.length);
      return img;
    }
    if (c == 3) {
      BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
      byte[] data = ((DataBufferByte) img.getRaster().getDataBuffer()).getData();
      int plane = h * w;
      for (int p = 0; p < plane; p++) {
        data[3 * p] = chw[2 * plane + p];
        data[3 * p + 1] = chw[plane + p];
        data[3 * p + 2] = chw[p];
      }
      return img;
    }
    throw new IllegalArgumentException("PNG encoding supports 1 (gray) or 3 (RGB) channels, not " + c);
  }

  /** BT.601 luminance, rounded. */
  static int luminance(int r, int g, int b) {
    return (r * 299 + g * 587 + b * 114 + 500) / 1000;
  }

  /** One band as 8-bit values: wider samples rounded to the nearest 8-bit level, narrower ones scaled up. */
  static int[] samples8(Raster raster, ColorModel cm, int band, int w, int h) {
    int[] s = raster.getSamples(0, 0, w, h, band, (int[]) null);
    int bits = cm.getComponentSize(band);
    if (bits != 8) {
      long max = (1L << bits) - 1;
      for (int i = 0; i < s.length; i++) {
        s[i] = (int) ((s[i] * 255L + max / 2) / max);
      }
    }
    return s;
  }

  private static void checkChannels(int channels) {
    if (channels != 1 && channels != 3) {
      throw new IllegalArgumentException("channels must be 1 (gray) or 3 (RGB), not " + channels);
    }
  }

  static String requireFormat(byte[] bytes) throws ImageFormatException {
    String format = detectFormat(bytes);
    if (format == null) {
      StringBuilder head = new StringBuilder();
      for (int i = 0; i < Math.min(8, bytes.length); i++) {
        head.append(String.format(" %02x", bytes[i]));
      }
      throw new ImageFormatException(ImageFormatException.Kind.UNSUPPORTED, "unrecognized image format (" + bytes.length + " bytes, starting"
          + (head.length() == 0 ? " empty" : head) + "); expected PNG, JPEG, BMP, GIF or TIFF");
    }
    return format;
  }

  static ImageReader readerFor(String format) throws ImageFormatException {
    Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format);
    if (!readers.hasNext()) {
      throw new ImageFormatException(ImageFormatException.Kind.UNSUPPORTED, "no ImageIO reader for " + format + " in this JVM");
    }
    return readers.next();
  }

  private static boolean startsWith(byte[] b, int... prefix) {
    if (b.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if ((b[i] & 0xFF) != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
