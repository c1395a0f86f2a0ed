package io.sepshield.reliability;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Awkward and broken image files made here, from the JDK's ImageIO writers and hand-built bytes (chunks with their
 * CRCs, segments, headers), so the corpus needs no checked-in binaries. Every image is small (at most 32 × 32
 * decoded), so protecting the valid ones stays cheap; the bombs only declare large sizes.
 */
public final class CorpusImages {
  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

  private CorpusImages() {}

  // --- valid images of every colour layout --------------------------------------------------------------------

  /** 8-bit gray PNG, {@code w} × {@code h}, a seeded texture. */
  public static byte[] grayPng(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    fill(img.getRaster(), 255, seed);
    return write(img, "png");
  }

  /** 16-bit gray PNG (TYPE_USHORT_GRAY): full-range samples that the decoder rounds to 8 bits. */
  public static byte[] gray16Png(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_USHORT_GRAY);
    fill(img.getRaster(), 65535, seed);
    return write(img, "png");
  }

  /** 16-bit RGBA PNG: 16-bit colour and 16-bit alpha. */
  public static byte[] rgba16Png(int w, int h, long seed) {
    ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_sRGB), true, false,
        Transparency.TRANSLUCENT, DataBuffer.TYPE_USHORT);
    WritableRaster raster = cm.createCompatibleWritableRaster(w, h);
    fill(raster, 65535, seed);
    return write(new BufferedImage(cm, raster, false, null), "png");
  }

  /** 8-bit RGBA PNG with an alpha ramp. */
  public static byte[] rgbaPng(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_4BYTE_ABGR);
    fill(img.getRaster(), 255, seed);
    return write(img, "png");
  }

  /** 8-bit gray + alpha PNG (colour type 4). */
  public static byte[] grayAlphaPng(int w, int h, long seed) {
    ComponentColorModel cm = new ComponentColorModel(ColorSpace.getInstance(ColorSpace.CS_GRAY), true, false,
        Transparency.TRANSLUCENT, DataBuffer.TYPE_BYTE);
    WritableRaster raster = cm.createCompatibleWritableRaster(w, h);
    fill(raster, 255, seed);
    return write(new BufferedImage(cm, raster, false, null), "png");
  }

  /** Palette PNG (colour type 3) with 16 colours; with {@code transparency}, a tRNS chunk (palette alpha). */
  public static byte[] palettePng(int w, int h, long seed, boolean transparency) {
    return write(paletteImage(w, h, seed, transparency), "png");
  }

  /** 1-bit PNG (TYPE_BYTE_BINARY: black and white). */
  public static byte[] oneBitPng(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_BINARY);
    fill(img.getRaster(), 1, seed);
    return write(img, "png");
  }

  /** Adam7-interlaced 8-bit RGB PNG. */
  public static byte[] interlacedPng(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    fill(img.getRaster(), 255, seed);
    ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
    ImageWriteParam param = writer.getDefaultWriteParam();
    param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT); // Adam7
    return write(writer, param, new IIOImage(img, null, null));
  }

  /** Baseline RGB JPEG of smooth content (so truncation points fall inside the entropy-coded scan). */
  public static byte[] rgbJpeg(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    fill(img.getRaster(), 255, seed);
    return write(img, "jpeg");
  }

  /** 8-bit grayscale JPEG. */
  public static byte[] grayJpeg(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    fill(img.getRaster(), 255, seed);
    return write(img, "jpeg");
  }

  /**
   * A 4-component JPEG as CMYK print workflows write it: ImageIO's JPEG writer given a 4-band raster (no colour
   * model) writes four components in the SOF, with an Adobe APP14 segment.
   */
  public static byte[] cmykJpeg(int w, int h, long seed) {
    WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
    fill(raster, 255, seed);
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    byte[] jpeg = write(writer, writer.getDefaultWriteParam(), new IIOImage(raster, null, null));
    if (sofComponents(jpeg) != 4) {
      throw new IllegalStateException("ImageIO did not write a 4-component JPEG");
    }
    return jpeg;
  }

  /** A JPEG whose EXIF says orientation {@code orientation} (6 = rotate 90° clockwise to display). */
  public static byte[] exifOrientedJpeg(int w, int h, long seed, int orientation) {
    byte[] jpeg = rgbJpeg(w, h, seed);
    // APP1 "Exif\0\0" + big-endian TIFF header + IFD0 with one entry: 0x0112 Orientation, SHORT, count 1.
    ByteBuffer tiff = ByteBuffer.allocate(8 + 2 + 12 + 4);
    tiff.put(new byte[] {'M', 'M', 0, 42}).putInt(8).putShort((short) 1)
        .putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) orientation).putShort((short) 0)
        .putInt(0);
    byte[] payload = concat("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1), tiff.array());
    return insertJpegSegment(jpeg, 0xE1, payload);
  }

  /** One-frame GIF (palette, with a transparent index). */
  public static byte[] gif(int w, int h, long seed) {
    return write(paletteImage(w, h, seed, true), "gif");
  }

  /** A GIF89a animation of {@code frames} frames, written as an ImageIO sequence. */
  public static byte[] animatedGif(int w, int h, int frames, long seed) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.prepareWriteSequence(null);
      for (int f = 0; f < frames; f++) {
        BufferedImage frame = paletteImage(w, h, seed + f, false);
        IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(frame), null);
        String format = meta.getNativeMetadataFormatName();
        IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(format);
        IIOMetadataNode control = new IIOMetadataNode("GraphicControlExtension");
        control.setAttribute("disposalMethod", "none");
        control.setAttribute("userInputFlag", "FALSE");
        control.setAttribute("transparentColorFlag", "FALSE");
        control.setAttribute("delayTime", "10");
        control.setAttribute("transparentColorIndex", "0");
        root.appendChild(control);
        meta.setFromTree(format, root);
        writer.writeToSequence(new IIOImage(frame, null, meta), null);
      }
      writer.endWriteSequence();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  /**
   * A genuine two-frame APNG: acTL (2 frames), fcTL + IDAT for the default image, fcTL + fdAT for the second frame,
   * with sequence numbers and CRCs as the APNG specification has them.
   */
  public static byte[] apng(int w, int h, long seed) {
    byte[] first = grayPng(w, h, seed);
    byte[] second = grayPng(w, h, seed + 1);
    byte[] idat1 = chunkData(first, "IDAT");
    byte[] idat2 = chunkData(second, "IDAT");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(PNG_SIGNATURE);
    out.writeBytes(chunk("IHDR", chunkData(first, "IHDR")));
    out.writeBytes(chunk("acTL", ByteBuffer.allocate(8).putInt(2).putInt(0).array()));
    out.writeBytes(chunk("fcTL", fcTL(0, w, h)));
    out.writeBytes(chunk("IDAT", idat1));
    out.writeBytes(chunk("fcTL", fcTL(1, w, h)));
    out.writeBytes(chunk("fdAT", concat(ByteBuffer.allocate(4).putInt(2).array(), idat2)));
    out.writeBytes(chunk("IEND", new byte[0]));
    return out.toByteArray();
  }

  private static byte[] fcTL(int sequence, int w, int h) {
    return ByteBuffer.allocate(26).putInt(sequence).putInt(w).putInt(h).putInt(0).putInt(0)
        .putShort((short) 1).putShort((short) 10).put((byte) 0).put((byte) 0).array();
  }

  /** 24-bit BMP. */
  public static byte[] bmp(int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
    fill(img.getRaster(), 255, seed);
    return write(img, "bmp");
  }

  // --- broken and hostile files -------------------------------------------------------------------------------

  /**
   * Decompression bomb: a PNG whose IHDR declares {@code side} × {@code side} 8-bit gray pixels (10 G pixels at
   * 100,000) with one IDAT that deflates a few rows of zeros, a few hundred bytes in all.
   */
  public static byte[] pngBomb(int side) {
    ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(side).putInt(side).put((byte) 8).put((byte) 0).put((byte) 0)
        .put((byte) 0).put((byte) 0);
    byte[] rows = new byte[4 * (side + 1)]; // filter byte 0 + zeros, four rows
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(PNG_SIGNATURE);
    out.writeBytes(chunk("IHDR", ihdr.array()));
    out.writeBytes(chunk("IDAT", deflate(rows)));
    out.writeBytes(chunk("IEND", new byte[0]));
    return out.toByteArray();
  }

  /**
   * Metadata bomb: a valid small PNG with a zTXt chunk that inflates to {@code inflatedBytes} (zeros compress about
   * 1000:1) and an iTXt chunk compressed the same way.
   */
  public static byte[] pngMetadataBomb(int w, int h, long seed, int inflatedBytes) {
    byte[] png = grayPng(w, h, seed);
    byte[] zeros = new byte[inflatedBytes];
    byte[] compressed = deflate(zeros);
    byte[] ztxt = concat("Comment\0\0".getBytes(StandardCharsets.ISO_8859_1), compressed);
    byte[] itxt = concat("Description\0\1\0\0\0".getBytes(StandardCharsets.ISO_8859_1), compressed);
    return insertPngChunks(png, chunk("zTXt", ztxt), chunk("iTXt", itxt));
  }

  /** A PNG whose IDAT holds bytes that are no zlib stream (CRC recomputed, so only the inflater can notice). */
  public static byte[] pngCorruptZlib(int w, int h, long seed) {
    byte[] png = grayPng(w, h, seed);
    byte[] idat = chunkData(png, "IDAT");
    byte[] garbage = new byte[idat.length];
    new Random(seed).nextBytes(garbage);
    garbage[0] = 0x78; // a plausible zlib header, then noise
    garbage[1] = (byte) 0x9C;
    return replaceChunk(png, "IDAT", garbage);
  }

  /** A JPEG whose SOF declares {@code w} × {@code h} (e.g. 65500 × 65500) over a small image's scan. */
  public static byte[] jpegBomb(int w, int h) {
    byte[] jpeg = rgbJpeg(16, 16, 1);
    int sof = findSof(jpeg);
    ByteBuffer.wrap(jpeg, sof + 5, 4).putShort((short) h).putShort((short) w);
    return jpeg;
  }

  /** A JPEG whose SOF says 12-bit samples (extended sequential, SOF1): the JDK's libjpeg decodes 8-bit only. */
  public static byte[] jpeg12Bit(int w, int h, long seed) {
    byte[] jpeg = rgbJpeg(w, h, seed);
    int sof = findSof(jpeg);
    jpeg[sof + 1] = (byte) 0xC1;
    jpeg[sof + 4] = 12;
    return jpeg;
  }

  /** A GIF whose logical screen and image descriptor declare {@code side} × {@code side}, with a 1-pixel LZW stream. */
  public static byte[] gifBomb(int side) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes("GIF89a".getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(le16(side));
    out.writeBytes(le16(side));
    out.writeBytes(new byte[] {(byte) 0x80, 0, 0}); // global colour table of 2 entries
    out.writeBytes(new byte[] {0, 0, 0, (byte) 255, (byte) 255, (byte) 255});
    out.write(0x2C);
    out.writeBytes(le16(0));
    out.writeBytes(le16(0));
    out.writeBytes(le16(side));
    out.writeBytes(le16(side));
    out.write(0);
    out.write(2); // LZW minimum code size
    out.writeBytes(new byte[] {2, 0x44, 0x01, 0}); // clear, 1 pixel, end of information
    out.write(0x3B);
    return out.toByteArray();
  }

  /** A BMP header declaring {@code side} × {@code side} 24-bit pixels, followed by 16 bytes of pixel data. */
  public static byte[] bmpBomb(int side) {
    ByteBuffer b = ByteBuffer.allocate(54 + 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    long imageSize = 3L * side * side;
    b.put((byte) 'B').put((byte) 'M').putInt((int) Math.min(Integer.MAX_VALUE, 54 + imageSize)).putInt(0).putInt(54);
    b.putInt(40).putInt(side).putInt(side).putShort((short) 1).putShort((short) 24).putInt(0)
        .putInt((int) Math.min(Integer.MAX_VALUE, imageSize)).putInt(2835).putInt(2835).putInt(0).putInt(0);
    return b.array();
  }

  /** WebP (RIFF/WEBP, a lossy VP8 header): no JDK decoder. */
  public static byte[] webp() {
    ByteBuffer b = ByteBuffer.allocate(30).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.ISO_8859_1)).putInt(22).put("WEBPVP8 ".getBytes(StandardCharsets.ISO_8859_1))
        .putInt(10).put(new byte[] {0x30, 0x01, 0, (byte) 0x9d, 0x01, 0x2a, 16, 0, 16, 0});
    return b.array();
  }

  /** The first {@code fraction} of the bytes. */
  public static byte[] truncated(byte[] bytes, double fraction) {
    return Arrays.copyOf(bytes, (int) (bytes.length * fraction));
  }

  // --- PNG and JPEG plumbing ----------------------------------------------------------------------------------

  /** A PNG chunk: length, type, data, CRC-32 over type and data. */
  public static byte[] chunk(String type, byte[] data) {
    byte[] typeBytes = type.getBytes(StandardCharsets.ISO_8859_1);
    CRC32 crc = new CRC32();
    crc.update(typeBytes);
    crc.update(data);
    return ByteBuffer.allocate(12 + data.length).putInt(data.length).put(typeBytes).put(data)
        .putInt((int) crc.getValue()).array();
  }

  /** The concatenated data of every chunk of this type. */
  static byte[] chunkData(byte[] png, String type) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int pos = 8; pos + 12 <= png.length; ) {
      int len = ByteBuffer.wrap(png, pos, 4).getInt();
      if (new String(png, pos + 4, 4, StandardCharsets.ISO_8859_1).equals(type)) {
        out.write(png, pos + 8, len);
      }
      pos += 12 + len;
    }
    return out.toByteArray();
  }

  /** The PNG with every chunk of this type replaced by one chunk holding {@code data}. */
  static byte[] replaceChunk(byte[] png, String type, byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(png, 0, 8);
    boolean written = false;
    for (int pos = 8; pos + 12 <= png.length; ) {
      int len = ByteBuffer.wrap(png, pos, 4).getInt();
      if (new String(png, pos + 4, 4, StandardCharsets.ISO_8859_1).equals(type)) {
        if (!written) {
          out.writeBytes(chunk(type, data));
          written = true;
        }
      } else {
        out.write(png, pos, 12 + len);
      }
      pos += 12 + len;
    }
    return out.toByteArray();
  }

  /** The PNG with these ready-made chunks inserted right after IHDR. */
  static byte[] insertPngChunks(byte[] png, byte[]... chunks) {
    int afterIhdr = 8 + 12 + 13;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(png, 0, afterIhdr);
    for (byte[] c : chunks) {
      out.writeBytes(c);
    }
    out.write(png, afterIhdr, png.length - afterIhdr);
    return out.toByteArray();
  }

  static byte[] insertJpegSegment(byte[] jpeg, int marker, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2); // SOI
    out.write(0xFF);
    out.write(marker);
    out.write((payload.length + 2) >>> 8);
    out.write(payload.length + 2);
    out.writeBytes(payload);
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  /** Offset of the first start-of-frame marker (FF C0..CF but C4, C8, CC). */
  static int findSof(byte[] jpeg) {
    for (int pos = 2; pos + 4 <= jpeg.length; ) {
      int marker = jpeg[pos + 1] & 0xff;
      if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
        return pos;
      }
      pos += 2 + ((jpeg[pos + 2] & 0xff) << 8 | (jpeg[pos + 3] & 0xff));
    }
    throw new IllegalArgumentException("no SOF segment");
  }

  static int sofComponents(byte[] jpeg) {
    return jpeg[findSof(jpeg) + 9] & 0xff;
  }

  // --- helpers ------------------------------------------------------------------------------------------------

  private static BufferedImage paletteImage(int w, int h, long seed, boolean transparency) {
    int n = 16;
    byte[] r = new byte[n];
    byte[] g = new byte[n];
    byte[] b = new byte[n];
    byte[] a = new byte[n];
    Random random = new Random(seed);
    for (int i = 0; i < n; i++) {
      r[i] = (byte) random.nextInt(256);
      g[i] = (byte) random.nextInt(256);
      b[i] = (byte) random.nextInt(256);
      a[i] = (byte) (i == 0 ? 0 : 255);
    }
    IndexColorModel icm = transparency ? new IndexColorModel(8, n, r, g, b, a) : new IndexColorModel(8, n, r, g, b);
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_INDEXED, icm);
    fill(img.getRaster(), n - 1, seed);
    return img;
  }

  /** Every band: a smooth gradient plus seeded noise, up to {@code max}. */
  private static void fill(WritableRaster raster, int max, long seed) {
    Random random = new Random(seed);
    int w = raster.getWidth();
    int h = raster.getHeight();
    for (int band = 0; band < raster.getNumBands(); band++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          double smooth = (x + y + band * 7) / (double) (w + h + 21);
          int v = (int) Math.round(max * (0.8 * smooth + 0.2 * random.nextDouble()));
          raster.setSample(x, y, band, Math.min(max, Math.max(0, v)));
        }
      }
    }
  }

  private static byte[] write(BufferedImage img, String format) {
    ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
    return write(writer, writer.getDefaultWriteParam(), new IIOImage(img, null, null));
  }

  private static byte[] write(ImageWriter writer, ImageWriteParam param, IIOImage image) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      writer.write(null, image, param);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  static byte[] deflate(byte[] data) {
    Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
    deflater.setInput(data);
    deflater.finish();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[64 << 10];
    while (!deflater.finished()) {
      out.write(buf, 0, deflater.deflate(buf));
    }
    deflater.end();
    return out.toByteArray();
  }

  private static byte[] le16(int v) {
    return new byte[] {(byte) v, (byte) (v >>> 8)};
  }

  public static byte[] concat(byte[] a, byte[] b) {
    byte[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
