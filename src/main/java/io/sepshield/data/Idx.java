package io.sepshield.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Reads and writes IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
 *
 * <p>Format: two zero bytes, a data type byte (only {@code 0x08}, unsigned byte, is supported), the number of
 * dimensions, one big-endian int per dimension, then the data in row-major order.
 *
 * <ul>
 *   <li>Images: {@code idx3-ubyte} with dimensions (N, H, W), read as one channel. As an extension for colour data,
 *       {@code idx4-ubyte} with dimensions (N, C, H, W) is read and written in CHW order; other tools may store
 *       4-d image data as NHWC, so only exchange idx4 files with this class.
 *   <li>Labels: {@code idx1-ubyte} with dimension (N), values 0..255.
 * </ul>
 *
 * <p>Reading detects gzip by its magic bytes (not by the file name) and streams the data straight into the result
 * array. Every malformed input (wrong magic, unsupported type, bad dimensions, truncation, trailing bytes) raises an
 * {@link IOException} whose message names the source. Writing compresses when the file name ends in {@code .gz}.
 */
public final class Idx {
  /** IDX data type code for unsigned bytes, the only one used for images and labels. */
  public static final int UBYTE = 0x08;

  // Arrays cannot be larger than this on common JVMs.
  private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
  // For compressed input the header is not checked against a file size, so a corrupt header could ask for gigabytes;
  // allocate at most this much up front and grow only as real data arrives.
  private static final int INITIAL_CHUNK = 64 << 20;

  private Idx() {}

  /**
   * Images read from an IDX file.
   *
   * @param pixels {@code count * channels * height * width} bytes in NCHW order
   */
  public record Images(int count, int channels, int height, int width, byte[] pixels) {
    public Images {
      if ((long) count * channels * height * width != pixels.length) {
        throw new IllegalArgumentException(pixels.length + " pixel bytes for " + count + " images of "
            + channels + "x" + height + "x" + width);
      }
    }
  }

  /** Reads an images file ({@code idx3-ubyte}, or {@code idx4-ubyte} as NCHW), plain or gzip. */
  public static Images readImages(Path path) throws IOException {
    long plainSize = plainSize(path);
    // Both closed: the file even when open() fails, the inflater (native memory) when it succeeds.
    try (InputStream file = Files.newInputStream(path); Reader r = open(file, path.toString(), plainSize)) {
      return readImages(r);
    }
  }

  /**
   * Reads an images file from a stream (plain or gzip, detected from the first bytes). The stream is not closed.
   *
   * @param source name used in error messages, e.g. the file name or upload name
   */
  public static Images readImages(InputStream in, String source) throws IOException {
    return readImages(open(in, source, -1));
  }

  /** Reads a labels file ({@code idx1-ubyte}), plain or gzip; values 0..255. */
  public static int[] readLabels(Path path) throws IOException {
    long plainSize = plainSize(path);
    // Both closed: the file even when open() fails, the inflater (native memory) when it succeeds.
    try (InputStream file = Files.newInputStream(path); Reader r = open(file, path.toString(), plainSize)) {
      return readLabels(r);
    }
  }

  /** Reads a labels file from a stream (plain or gzip). The stream is not closed. */
  public static int[] readLabels(InputStream in, String source) throws IOException {
    return readLabels(open(in, source, -1));
  }

  /**
   * Writes images as {@code idx3-ubyte} when {@code channels == 1}, else as {@code idx4-ubyte} (N, C, H, W);
   * gzip-compressed when the file name ends in {@code .gz}. Parent directories are created.
   *
   * @param pixels N images of {@code channels * height * width} bytes each, CHW per image
   */
  public static void writeImages(Path path, int channels, int height, int width, byte[] pixels) throws IOException {
    if (channels <= 0 || height <= 0 || width <= 0) {
      throw new IllegalArgumentException("image shape must be positive: " + channels + "x" + height + "x" + width);
    }
    long imageBytes = (long) channels * height * width;
    if (pixels.length % imageBytes != 0) {
      throw new IllegalArgumentException(pixels.length + " pixel bytes is not a whole number of "
          + channels + "x" + height + "x" + width + " images");
    }
    int count = (int) (pixels.length / imageBytes);
    int[] dims = channels == 1 ? new int[] {count, height, width} : new int[] {count, channels, height, width};
    try (OutputStream out = openForWrite(path)) {
      writeHeader(out, dims);
      out.write(pixels);
    }
  }

  /** Writes labels as {@code idx1-ubyte} (gzip when the name ends in {@code .gz}); each label must be 0..255. */
  public static void writeLabels(Path path, int[] labels) throws IOException {
    byte[] data = new byte[labels.length];
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] > 255) {
        throw new IllegalArgumentException("label " + labels[i] + " of image " + i
            + " cannot be stored in an idx1-ubyte file (0..255 only; unknown labels have no IDX encoding)");
      }
      data[i] = (byte) labels[i];
    }
    try (OutputStream out = openForWrite(path)) {
      writeHeader(out, new int[] {labels.length});
      out.write(data);
    }
  }

  // ---------------------------------------------------------------------------------------------------------------

  private static Images readImages(Reader r) throws IOException {
    String source = r.source;
    int[] dims = r.header();
    int count;
    int channels;
    int height;
    int width;
    if (dims.length == 3) {
      count = dims[0];
      channels = 1;
      height = dims[1];
      width = dims[2];
    } else if (dims.length == 4) {
      count = dims[0];
      channels = dims[1];
      height = dims[2];
      width = dims[3];
    } else {
      throw new IOException(source + ": expected an images file with 3 dimensions (N, H, W) or 4 (N, C, H, W), "
          + "found " + dims.length + (dims.length == 1 ? " (is this a labels file?)" : ""));
    }
    if (channels == 0 || height == 0 || width == 0) {
      throw new IOException(source + ": image dimensions must be positive, found " + Arrays.toString(dims));
    }
    byte[] pixels = r.body(dims);
    return new Images(count, channels, height, width, pixels);
  }

  private static int[] readLabels(Reader r) throws IOException {
    String source = r.source;
    int[] dims = r.header();
    if (dims.length != 1) {
      throw new IOException(source + ": expected a labels file with 1 dimension, found " + dims.length
          + (dims.length >= 3 ? " (is this an images file?)" : ""));
    }
    byte[] data = r.body(dims);
    int[] labels = new int[data.length];
    for (int i = 0; i < data.length; i++) {
      labels[i] = data[i] & 0xFF;
    }
    return labels;
  }

  /** File size for plain files (to check the header against), or -1 when compressed or unknown. */
  private static long plainSize(Path path) throws IOException {
    try (InputStream in = Files.newInputStream(path)) {
      return isGzip(in.read(), in.read()) ? -1 : Files.size(path);
    }
  }

  private static boolean isGzip(int b0, int b1) {
    return b0 == 0x1f && b1 == 0x8b;
  }

  private static Reader open(InputStream raw, String source, long plainSize) throws IOException {
    InputStream in = raw.markSupported() ? raw : new BufferedInputStream(raw, 1 << 16);
    in.mark(2);
    int b0 = in.read();
    int b1 = in.read();
    in.reset();
    if (b0 < 0) {
      throw new IOException(source + ": empty file, expected IDX data");
    }
    if (isGzip(b0, b1)) {
      try {
        // 64 KiB inflater buffer: the default 512 bytes makes large files needlessly slow.
        return new Reader(new GZIPInputStream(in, 1 << 16), source, -1);
      } catch (IOException e) {
        throw new IOException(source + ": corrupt gzip header: " + e.getMessage(), e);
      }
    }
    return new Reader(in, source, plainSize);
  }

  private static OutputStream openForWrite(Path path) throws IOException {
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    OutputStream out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 16);
    return path.getFileName().toString().endsWith(".gz") ? new GZIPOutputStream(out, 1 << 16) : out;
  }

  private static void writeHeader(OutputStream out, int[] dims) throws IOException {
    DataOutputStream d = new DataOutputStream(out);
    d.writeByte(0);
    d.writeByte(0);
    d.writeByte(UBYTE);
    d.writeByte(dims.length);
    for (int dim : dims) {
      d.writeInt(dim);
    }
    d.flush();
  }

  /**
   * Header and body parsing over a (possibly decompressing) stream, with the source name for messages. Closing it
   * closes the underlying stream too, so only the Path-based methods do.
   */
  private static final class Reader implements java.io.Closeable {
    private final InputStream in;
    private final String source;
    private final long plainSize;
    private int headerBytes;

    Reader(InputStream in, String source, long plainSize) {
      this.in = in;
      this.source = source;
      this.plainSize = plainSize;
    }

    int[] header() throws IOException {
      byte[] magic = new byte[4];
      if (readFully(magic, 0, 4) < 4) {
        throw new IOException(source + ": truncated IDX header (fewer than 4 bytes)");
      }
      if (magic[0] != 0 || magic[1] != 0) {
        throw new IOException(String.format("%s: not an IDX file (magic bytes %02x %02x %02x %02x, expected 00 00 08 0n)",
            source, magic[0], magic[1], magic[2], magic[3]));
      }
      int type = magic[2] & 0xFF;
      if (type != UBYTE) {
        throw new IOException(String.format("%s: IDX data type 0x%02x is not supported, only unsigned byte (0x08)",
            source, type));
      }
      int ndims = magic[3] & 0xFF;
      if (ndims == 0) {
        throw new IOException(source + ": IDX header declares 0 dimensions");
      }
      byte[] dimBytes = new byte[4 * ndims];
      if (readFully(dimBytes, 0, dimBytes.length) < dimBytes.length) {
        throw new IOException(source + ": truncated IDX header (" + ndims + " dimensions declared)");
      }
      int[] dims = new int[ndims];
      for (int i = 0; i < ndims; i++) {
        int p = 4 * i;
        dims[i] = ((dimBytes[p] & 0xFF) << 24) | ((dimBytes[p + 1] & 0xFF) << 16) | ((dimBytes[p + 2] & 0xFF) << 8)
            | (dimBytes[p + 3] & 0xFF);
        if (dims[i] < 0) {
          throw new IOException(source + ": negative IDX dimension " + dims[i]);
        }
      }
      headerBytes = 4 + 4 * ndims;
      return dims;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }

    byte[] body(int[] dims) throws IOException {
      long expected = 1;
      for (int d : dims) {
        expected *= d;
        if (expected > MAX_ARRAY) {
          throw new IOException(source + ": IDX dimensions " + Arrays.toString(dims) + " exceed the 2 GiB array limit");
        }
      }
      if (plainSize >= 0 && plainSize != headerBytes + expected) {
        throw new IOException(source + ": file has " + plainSize + " bytes but its header " + Arrays.toString(dims)
            + " needs " + (headerBytes + expected) + (plainSize < headerBytes + expected ? " (truncated)"
            : " (trailing data)"));
      }
      // Known size: one exact allocation. Compressed: start bounded and grow, so a lying header fails as truncation
      // instead of an OutOfMemoryError.
      byte[] data = new byte[(int) (plainSize >= 0 ? expected : Math.min(expected, INITIAL_CHUNK))];
      int filled = 0;
      while (true) {
        int n = readFully(data, filled, data.length - filled);
        filled += n;
        if (filled < data.length || filled == expected) {
          break;
        }
        data = Arrays.copyOf(data, (int) Math.min(expected, 2L * data.length));
      }
      if (filled < expected) {
        throw new IOException(source + ": truncated IDX data: header " + Arrays.toString(dims) + " needs " + expected
            + " bytes after the header, the file ends after " + filled);
      }
      if (in.read() >= 0) {
        throw new IOException(source + ": trailing data after the " + expected + " bytes that header "
            + Arrays.toString(dims) + " declares");
      }
      return data;
    }

    /** Reads up to len bytes, stopping only at end of stream; returns the count read. */
    private int readFully(byte[] b, int off, int len) throws IOException {
      int total = 0;
      try {
        while (total < len) {
          int n = in.read(b, off + total, len - total);
          if (n < 0) {
            break;
          }
          total += n;
        }
      } catch (java.io.EOFException e) {
        // GZIPInputStream signals a cut-off member this way; report it like any other truncation.
        return total;
      } catch (java.util.zip.ZipException e) {
        throw new IOException(source + ": corrupt gzip data: " + e.getMessage(), e);
      }
      return total;
    }
  }
}
