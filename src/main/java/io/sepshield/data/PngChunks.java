package io.sepshield.data;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes metadata chunks into an encoded PNG, right after IHDR (where iCCP must be, and before IDAT as eXIf must).
 * Written here because the JDK's PNG writer has no eXIf chunk and would need an IIOMetadata tree for the others; a
 * chunk is just length, type, data and CRC-32.
 */
final class PngChunks {
  private static final String XMP_KEYWORD = "XML:com.adobe.xmp";

  private PngChunks() {}

  static byte[] insertAfterHeader(byte[] png, ImageMetadata m) {
    int ihdrEnd = 8 + 8 + 13 + 4; // signature, IHDR length+type, 13 data bytes, CRC
    ByteArrayOutputStream out = new ByteArrayOutputStream(png.length + 1024);
    out.write(png, 0, ihdrEnd);
    if (m.icc() != null) {
      byte[] name = "ICC profile".getBytes(StandardCharsets.ISO_8859_1);
      ByteArrayOutputStream d = new ByteArrayOutputStream();
      d.writeBytes(name);
      d.write(0);
      d.write(0); // compression method: zlib
      d.writeBytes(deflate(m.icc()));
      chunk(out, "iCCP", d.toByteArray());
    }
    if (m.exif() != null) {
      chunk(out, "eXIf", m.exif());
    }
    if (m.xmp() != null) {
      chunk(out, "iTXt", itxt(XMP_KEYWORD, m.xmp()));
    }
    for (ImageMetadata.Text t : m.text()) {
      String keyword = t.keyword().length() > 79 ? t.keyword().substring(0, 79) : t.keyword();
      chunk(out, "iTXt", itxt(keyword.isEmpty() ? "Comment" : keyword, t.value()));
    }
    out.write(png, ihdrEnd, png.length - ihdrEnd);
    return out.toByteArray();
  }

  /** A PNG with one more chunk right after IHDR. */
  static byte[] insertAfterHeader(byte[] png, String type, byte[] data) {
    int ihdrEnd = 8 + 8 + 13 + 4;
    ByteArrayOutputStream out = new ByteArrayOutputStream(png.length + data.length + 12);
    out.write(png, 0, ihdrEnd);
    chunk(out, type, data);
    out.write(png, ihdrEnd, png.length - ihdrEnd);
    return out.toByteArray();
  }

  /** Uncompressed iTXt: UTF-8 text survives, where tEXt is Latin-1 only. */
  private static byte[] itxt(String keyword, String text) {
    ByteArrayOutputStream d = new ByteArrayOutputStream();
    d.writeBytes(keyword.getBytes(StandardCharsets.ISO_8859_1));
    d.write(0);
    d.write(0); // not compressed
    d.write(0); // method
    d.write(0); // no language tag
    d.write(0); // no translated keyword
    d.writeBytes(text.getBytes(StandardCharsets.UTF_8));
    return d.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    byte[] t = type.getBytes(StandardCharsets.ISO_8859_1);
    int n = data.length;
    out.write(n >>> 24);
    out.write(n >>> 16);
    out.write(n >>> 8);
    out.write(n);
    out.writeBytes(t);
    out.writeBytes(data);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    long c = crc.getValue();
    out.write((int) (c >>> 24));
    out.write((int) (c >>> 16));
    out.write((int) (c >>> 8));
    out.write((int) c);
  }

  private static byte[] deflate(byte[] data) {
    Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
    try {
      deflater.setInput(data);
      deflater.finish();
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      byte[] buf = new byte[8192];
      while (!deflater.finished()) {
        out.write(buf, 0, deflater.deflate(buf));
      }
      return out.toByteArray();
    } finally {
      deflater.end();
    }
  }
}
