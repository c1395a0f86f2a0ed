package io.sepshield.data;

import io.sepshield.data.ImageFormatException.Kind;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes an upload for protection at its own size and colour: PNG, JPEG, GIF, BMP or TIFF into 8-bit gray or RGB plus
 * an optional alpha channel, with the EXIF orientation applied and metadata kept only per the keep-list.
 *
 * <p>Order of work, cheapest refusal first: the format from the magic bytes; the container's own structure (PNG
 * chunks, JPEG segments: metadata, APNG's acTL, CMYK) without decoding; the size from the header, refused as
 * {@link Kind#TOO_LARGE} before any pixel is allocated; frame count (animations are {@link Kind#MULTI_FRAME});
 * then the pixels. Every failure is an {@link ImageFormatException} with a {@link Kind}.
 *
 * <p>Colour is kept as the file has it: gray stays 1 channel (with its alpha, if any), colour becomes 3 channels,
 * palettes are expanded to RGB (and their transparency to alpha). Samples are taken from the raster, never through
 * Java2D's colour conversion (see {@link PngCodec}), so an ICC-tagged image keeps its encoded values and a kept
 * profile still describes them. Samples over 8 bits are rounded to 8 and the reduction is recorded.
 *
 * <p>TIFF (the JDK's plug-in): one page only, a multi-page file is {@link Kind#MULTI_FRAME} (its second directory
 * may be a thumbnail or another picture: which page is "the" image is not ours to guess); integer samples of up to
 * 16 bits (float and 32-bit samples are {@link Kind#UNSUPPORTED}); the TIFF Orientation tag is applied like EXIF's;
 * premultiplied (associated) alpha is converted to straight alpha, recorded as a reduction. A TIFF's metadata is
 * never kept (the keep-list applies to PNG and JPEG): its tags live in the same directory as the pixel layout.
 */
public final class UploadDecoder {
  private static final String XMP_KEYWORD = "XML:com.adobe.xmp";
  private static final byte[] JPEG_EXIF = "Exif\0\0".getBytes(StandardCharsets.ISO_8859_1);
  private static final byte[] JPEG_XMP = "http://ns.adobe.com/xap/1.0/\0".getBytes(StandardCharsets.ISO_8859_1);
  private static final byte[] JPEG_ICC = "ICC_PROFILE\0".getBytes(StandardCharsets.ISO_8859_1);

  private UploadDecoder() {}

  /**
   * Limits and the metadata keep-list.
   *
   * @param keep metadata kinds re-emitted into the output (empty: strip everything)
   * @param maxWidth refused above this width
   * @param maxHeight refused above this height
   * @param maxPixels refused above width × height
   */
  public record Options(Set<ImageMetadata.Kind> keep, int maxWidth, int maxHeight, long maxPixels) {
    /** Strip all metadata; up to 16384 pixels a side and 64 megapixels. */
    public static final Options DEFAULT = new Options(Set.of(), 16384, 16384, 64L << 20);

    public Options {
      keep = keep.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(keep));
      if (maxWidth <= 0 || maxHeight <= 0 || maxPixels <= 0) {
        throw new IllegalArgumentException("limits must be positive");
      }
    }

    public Options withKeep(Set<ImageMetadata.Kind> kinds) {
      return new Options(kinds, maxWidth, maxHeight, maxPixels);
    }
  }

  /**
   * Decodes one upload.
   *
   * @throws ImageFormatException with its {@link ImageFormatException#kind()}
   */
  public static DecodedUpload decode(byte[] bytes, Options options) throws ImageFormatException {
    String format = PngCodec.detectFormat(bytes);
    if (format == null) {
      if (isWebp(bytes)) {
        throw webp(bytes);
      }
      PngCodec.requireFormat(bytes); // throws, with the head of the data in its message
    }
    Container c = switch (format) {
      case "png" -> pngContainer(bytes, options.keep());
      case "jpeg" -> jpegContainer(bytes);
      default -> new Container(null, null, null, new ArrayList<>());
    };
    PngCodec.ImageInfo info = PngCodec.probe(bytes);
    if (info.width() > options.maxWidth() || info.height() > options.maxHeight()
        || (long) info.width() * info.height() > options.maxPixels()) {
      throw new ImageFormatException(Kind.TOO_LARGE, info.width() + "x" + info.height() + " pixels, limit "
          + options.maxWidth() + "x" + options.maxHeight() + " and " + options.maxPixels() + " pixels");
    }
    List<String> reductions = new ArrayList<>();
    BufferedImage img = read(bytes, format);
    Planes planes = planes(img, reductions);
    // A TIFF file is itself the TIFF structure EXIF borrows: its IFD0 holds the Orientation tag.
    int orientation = format.equals("tiff") ? Exif.orientation(bytes) : c.exif == null ? 1 : Exif.orientation(c.exif);
    if (orientation != 1) {
      planes = planes.oriented(orientation);
    }
    Set<ImageMetadata.Kind> keep = options.keep();
    ImageMetadata kept = new ImageMetadata(
        keep.contains(ImageMetadata.Kind.ICC) ? c.icc : null,
        keep.contains(ImageMetadata.Kind.EXIF) && c.exif != null ? Exif.sanitized(c.exif) : null,
        keep.contains(ImageMetadata.Kind.XMP) ? c.xmp : null,
        keep.contains(ImageMetadata.Kind.TEXT) ? c.text : List.of());
    return new DecodedUpload(new ChwImage(planes.colour.length, planes.height, planes.width, planes.chw()),
        planes.alpha, format, reductions, kept);
  }

  // --- containers ---------------------------------------------------------------------------------------------

  /** What the container says besides the pixels. */
  private record Container(byte[] icc, byte[] exif, String xmp, List<ImageMetadata.Text> text) {}

  /**
   * Reads the chunks; compressed metadata (iCCP, zTXt, compressed iTXt) is inflated only when the keep-list asks for
   * it, so a metadata bomb costs nothing by default.
   */
  private static Container pngContainer(byte[] b, Set<ImageMetadata.Kind> keep) throws ImageFormatException {
    boolean keepText = keep.contains(ImageMetadata.Kind.TEXT) || keep.contains(ImageMetadata.Kind.XMP);
    int pos = 8;
    byte[] icc = null;
    byte[] exif = null;
    String xmp = null;
    List<ImageMetadata.Text> text = new ArrayList<>();
    while (pos + 8 <= b.length) {
      long length = u32be(b, pos);
      String type = new String(b, pos + 4, 4, StandardCharsets.ISO_8859_1);
      if (length > b.length - pos - 12L) {
        throw new ImageFormatException(Kind.CORRUPT, "PNG chunk " + type + " at " + pos + " runs past the end");
      }
      int data = pos + 8;
      int len = (int) length;
      switch (type) {
        case "acTL" -> {
          long frames = len >= 4 ? u32be(b, data) : 0;
          if (frames > 1) {
            throw new ImageFormatException(Kind.MULTI_FRAME, "animated PNG (APNG) with " + frames + " frames");
          }
        }
        case "iCCP" -> {
          if (!keep.contains(ImageMetadata.Kind.ICC)) {
            break;
          }
          int nul = indexOf(b, data, data + len, (byte) 0);
          icc = nul < 0 || nul + 2 > data + len ? null : inflate(b, nul + 2, data + len - nul - 2);
        }
        case "eXIf" -> exif = java.util.Arrays.copyOfRange(b, data, data + len);
        case "tEXt", "zTXt", "iTXt" -> {
          if (!keepText) {
            break;
          }
          ImageMetadata.Text t = pngText(type, b, data, len);
          if (t != null && t.keyword().equals(XMP_KEYWORD)) {
            xmp = t.value();
          } else if (t != null) {
            text.add(t);
          }
        }
        case "IEND" -> {
          return new Container(icc, exif, xmp, text);
        }
        default -> { }
      }
      pos = data + len + 4;
    }
    return new Container(icc, exif, xmp, text); // no IEND: the pixel decoder reports truncation
  }

  /** A text chunk's keyword and value, or null when unreadable (then it is simply not kept). */
  private static ImageMetadata.Text pngText(String type, byte[] b, int data, int len) {
    int end = data + len;
    int nul = indexOf(b, data, end, (byte) 0);
    if (nul < 0) {
      return null;
    }
    String keyword = new String(b, data, nul - data, StandardCharsets.ISO_8859_1);
    switch (type) {
      case "tEXt":
        return new ImageMetadata.Text(keyword, new String(b, nul + 1, end - nul - 1, StandardCharsets.ISO_8859_1));
      case "zTXt": {
        byte[] v = nul + 2 <= end ? inflate(b, nul + 2, end - nul - 2) : null;
        return v == null ? null : new ImageMetadata.Text(keyword, new String(v, StandardCharsets.ISO_8859_1));
      }
      default: { // iTXt: keyword, compression flag, method, language\0, translated keyword\0, UTF-8 text
        if (nul + 3 > end) {
          return null;
        }
        boolean compressed = b[nul + 1] != 0;
        int lang = indexOf(b, nul + 3, end, (byte) 0);
        int translated = lang < 0 ? -1 : indexOf(b, lang + 1, end, (byte) 0);
        if (translated < 0) {
          return null;
        }
        byte[] v = compressed ? inflate(b, translated + 1, end - translated - 1)
            : java.util.Arrays.copyOfRange(b, translated + 1, end);
        return v == null ? null : new ImageMetadata.Text(keyword, new String(v, StandardCharsets.UTF_8));
      }
    }
  }

  private static Container jpegContainer(byte[] b) throws ImageFormatException {
    byte[] exif = null;
    String xmp = null;
    List<ImageMetadata.Text> text = new ArrayList<>();
    TreeMap<Integer, byte[]> iccParts = new TreeMap<>();
    int pos = 2;
    while (pos + 4 <= b.length) {
      if ((b[pos] & 0xff) != 0xFF) {
        throw new ImageFormatException(Kind.CORRUPT, "JPEG marker expected at byte " + pos);
      }
      int marker = b[pos + 1] & 0xff;
      if (marker == 0xFF) {
        pos++; // fill byte
        continue;
      }
      if (marker == 0xD9 || marker == 0xDA) {
        break; // end of image or start of scan: no more header segments
      }
      int len = (b[pos + 2] & 0xff) << 8 | (b[pos + 3] & 0xff);
      int data = pos + 4;
      int end = pos + 2 + len;
      if (len < 2 || end > b.length) {
        throw new ImageFormatException(Kind.CORRUPT, "JPEG segment at byte " + pos + " runs past the end");
      }
      if (marker == 0xE1 && startsWith(b, data, end, JPEG_EXIF)) {
        exif = java.util.Arrays.copyOfRange(b, data + JPEG_EXIF.length, end);
      } else if (marker == 0xE1 && startsWith(b, data, end, JPEG_XMP)) {
        xmp = new String(b, data + JPEG_XMP.length, end - data - JPEG_XMP.length, StandardCharsets.UTF_8);
      } else if (marker == 0xE2 && startsWith(b, data, end, JPEG_ICC) && end - data > JPEG_ICC.length + 2) {
        iccParts.put(b[data + JPEG_ICC.length] & 0xff,
            java.util.Arrays.copyOfRange(b, data + JPEG_ICC.length + 2, end));
      } else if (marker == 0xFE) {
        text.add(new ImageMetadata.Text("Comment", new String(b, data, end - data, StandardCharsets.UTF_8)));
      } else if (isStartOfFrame(marker) && end - data >= 6) {
        int components = b[data + 5] & 0xff;
        if (components == 4) {
          // The JDK's JPEG reader cannot decode Adobe CMYK/YCCK reliably (it fails or inverts colours), and
          // converting CMYK needs the file's print profile; refused rather than published with wrong colours.
          throw new ImageFormatException(Kind.UNSUPPORTED, "CMYK (4-component) JPEG is not supported; convert it "
              + "to RGB first");
        }
      }
      pos = end;
    }
    byte[] icc = null;
    if (!iccParts.isEmpty()) {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      iccParts.values().forEach(all::writeBytes);
      icc = all.toByteArray();
    }
    return new Container(icc, exif, xmp, text);
  }

  private static boolean isStartOfFrame(int marker) {
    return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
  }

  private static boolean isWebp(byte[] b) {
    return b.length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F' && b[8] == 'W' && b[9] == 'E'
        && b[10] == 'B' && b[11] == 'P';
  }

  private static ImageFormatException webp(byte[] b) {
    // VP8X's flags byte has the animation bit (0x02); ANIM/ANMF chunks follow only then.
    boolean animated = b.length >= 21 && b[12] == 'V' && b[13] == 'P' && b[14] == '8' && b[15] == 'X'
        && (b[20] & 0x02) != 0;
    return animated
        ? new ImageFormatException(Kind.MULTI_FRAME, "animated WebP")
        : new ImageFormatException(Kind.UNSUPPORTED, "WebP is not supported (no decoder in the JDK); send PNG or JPEG");
  }

  // --- pixels -------------------------------------------------------------------------------------------------

  private static BufferedImage read(byte[] bytes, String format) throws ImageFormatException {
    ImageReader reader = PngCodec.readerFor(format);
    List<String> warnings = new ArrayList<>();
    try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
      reader.setInput(in, false, true);
      // libjpeg only warns about a cut-off scan and fills the rest with gray: that image must not be published.
      reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
      if (format.equals("gif") || format.equals("tiff")) {
        int frames = reader.getNumImages(true);
        if (frames > 1) {
          throw new ImageFormatException(Kind.MULTI_FRAME, format.equals("gif")
              ? "animated GIF with " + frames + " frames" : "multi-page TIFF with " + frames + " pages; send one");
        }
      }
      BufferedImage img = reader.read(0);
      for (String w : warnings) {
        String lower = w.toLowerCase(java.util.Locale.ROOT);
        if (lower.contains("truncated") || lower.contains("premature end")) {
          throw new ImageFormatException(Kind.CORRUPT, format.toUpperCase() + " data is cut off (" + bytes.length
              + " bytes): " + w);
        }
      }
      return img;
    } catch (ImageFormatException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new ImageFormatException(Kind.CORRUPT, "cannot decode " + format.toUpperCase() + " data ("
          + bytes.length + " bytes): " + e.getMessage(), e);
    } finally {
      reader.dispose();
    }
  }

  /** Colour planes (1 or 3) and alpha, row-major, 8-bit as ints. */
  private record Planes(int height, int width, int[][] colour, byte[] alpha) {
    byte[] chw() {
      int plane = height * width;
      byte[] out = new byte[colour.length * plane];
      for (int c = 0; c < colour.length; c++) {
        for (int p = 0; p < plane; p++) {
          out[c * plane + p] = (byte) colour[c][p];
        }
      }
      return out;
    }

    /** The upright image for an EXIF orientation (2..8): mirrors and rotations, width and height swap for 5..8. */
    Planes oriented(int orientation) {
      boolean swap = orientation >= 5;
      int h = swap ? width : height;
      int w = swap ? height : width;
      int[] map = new int[h * w]; // display pixel → stored pixel
      for (int r = 0; r < h; r++) {
        for (int c = 0; c < w; c++) {
          int y;
          int x;
          switch (orientation) {
            case 2 -> { y = r; x = width - 1 - c; }
            case 3 -> { y = height - 1 - r; x = width - 1 - c; }
            case 4 -> { y = height - 1 - r; x = c; }
            case 5 -> { y = c; x = r; }
            case 6 -> { y = height - 1 - c; x = r; }
            case 7 -> { y = height - 1 - c; x = width - 1 - r; }
            default -> { y = c; x = width - 1 - r; } // 8
          }
          map[r * w + c] = y * width + x;
        }
      }
      int[][] col = new int[colour.length][h * w];
      for (int k = 0; k < colour.length; k++) {
        for (int p = 0; p < map.length; p++) {
          col[k][p] = colour[k][map[p]];
        }
      }
      byte[] a = null;
      if (alpha != null) {
        a = new byte[h * w];
        for (int p = 0; p < map.length; p++) {
          a[p] = alpha[map[p]];
        }
      }
      return new Planes(h, w, col, a);
    }
  }

  private static Planes planes(BufferedImage img, List<String> reductions) throws ImageFormatException {
    int w = img.getWidth();
    int h = img.getHeight();
    int plane = w * h;
    ColorModel cm = img.getColorModel();
    Raster raster = img.getRaster();
    if (cm instanceof IndexColorModel icm) {
      int[] index = raster.getSamples(0, 0, w, h, 0, (int[]) null);
      if (grayPalette(icm)) {
        // 1/2/4-bit gray PNGs and gray palettes: protected as gray, as the file is (no colour noise on a B/W page).
        int[][] gray = new int[1][plane];
        byte[] alpha = icm.hasAlpha() ? new byte[plane] : null;
        for (int p = 0; p < plane; p++) {
          gray[0][p] = icm.getRed(index[p]);
          if (alpha != null) {
            alpha[p] = (byte) icm.getAlpha(index[p]);
          }
        }
        return new Planes(h, w, gray, alpha);
      }
      int[][] rgb = new int[3][plane];
      byte[] alpha = icm.hasAlpha() ? new byte[plane] : null;
      for (int p = 0; p < plane; p++) {
        int i = index[p];
        rgb[0][p] = icm.getRed(i);
        rgb[1][p] = icm.getGreen(i);
        rgb[2][p] = icm.getBlue(i);
        if (alpha != null) {
          alpha[p] = (byte) icm.getAlpha(i);
        }
      }
      return new Planes(h, w, rgb, alpha);
    }
    int type = raster.getDataBuffer().getDataType();
    if (type == java.awt.image.DataBuffer.TYPE_FLOAT || type == java.awt.image.DataBuffer.TYPE_DOUBLE) {
      throw new ImageFormatException(Kind.UNSUPPORTED, "floating-point samples are not supported; send 8- or 16-bit");
    }
    for (int b = 0; b < cm.getNumComponents(); b++) {
      if (cm.getComponentSize(b) > 16) {
        throw new ImageFormatException(Kind.UNSUPPORTED, cm.getComponentSize(b) + "-bit samples are not supported; "
            + "send 8- or 16-bit");
      }
    }
    if (cm.isAlphaPremultiplied()) {
      // Crafting and the ε check work on straight colour; Java2D divides by alpha in place (lossy where alpha is low).
      img.coerceData(false);
      cm = img.getColorModel();
      raster = img.getRaster();
      reductions.add("premultiplied alpha converted to straight alpha");
    }
    int colours = cm.getNumColorComponents();
    if (colours != 1 && colours != 3) {
      throw new ImageFormatException(Kind.UNSUPPORTED, colours + "-component colour (" + cm.getColorSpace().getType()
          + ") is not supported; send gray or RGB");
    }
    int[][] col = new int[colours][];
    boolean reduced = false;
    for (int c = 0; c < colours; c++) {
      col[c] = PngCodec.samples8(raster, cm, c, w, h);
      reduced |= cm.getComponentSize(c) > 8;
    }
    byte[] alpha = null;
    if (cm.hasAlpha()) {
      int[] a = PngCodec.samples8(raster, cm, colours, w, h);
      reduced |= cm.getComponentSize(colours) > 8;
      alpha = new byte[plane];
      for (int p = 0; p < plane; p++) {
        alpha[p] = (byte) a[p];
      }
    }
    if (reduced) {
      reductions.add(cm.getComponentSize(0) + "-bit samples reduced to 8-bit");
    }
    return new Planes(h, w, col, alpha);
  }

  private static boolean grayPalette(IndexColorModel icm) {
    for (int i = 0; i < icm.getMapSize(); i++) {
      if (icm.getRed(i) != icm.getGreen(i) || icm.getRed(i) != icm.getBlue(i)) {
        return false;
      }
    }
    return true;
  }

  // --- bytes --------------------------------------------------------------------------------------------------

  private static long u32be(byte[] b, int at) {
    return (long) (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
  }

  private static int indexOf(byte[] b, int from, int to, byte v) {
    for (int i = from; i < to; i++) {
      if (b[i] == v) {
        return i;
      }
    }
    return -1;
  }

  private static boolean startsWith(byte[] b, int from, int to, byte[] prefix) {
    if (to - from < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (b[from + i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  /** zlib data, or null when corrupt. Bounded at 64 MiB: metadata is never that large, a zip bomb might be. */
  private static byte[] inflate(byte[] b, int from, int length) {
    Inflater inflater = new Inflater();
    try {
      inflater.setInput(b, from, length);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      while (!inflater.finished()) {
        int n = inflater.inflate(buf);
        if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
          return null;
        }
        out.write(buf, 0, n);
        if (out.size() > 64 << 20) {
          return null;
        }
      }
      return out.toByteArray();
    } catch (DataFormatException e) {
      return null;
    } finally {
      inflater.end();
    }
  }
}
