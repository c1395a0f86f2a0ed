package io.sepshield.bundle;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Minimal NumPy .npy (format 1.0) for 2-D little-endian float32 matrices: class centers stay readable with
 * {@code numpy.load} for anyone inspecting a bundle.
 */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  private static final Pattern SHAPE = Pattern.compile("'shape':\\s*\\((\\d+),\\s*(\\d+),?\\s*\\)");

  private Npy() {}

  /** A matrix with its shape. */
  public record Matrix(int rows, int cols, float[] data) {}

  public static byte[] write(int rows, int cols, float[] data) {
    if ((long) rows * cols != data.length) {
      throw new IllegalArgumentException(data.length + " values for a " + rows + "x" + cols + " matrix");
    }
    String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + rows + ", " + cols + "), }";
    int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
    int padding = (64 - unpadded % 64) % 64; // the header is padded to a multiple of 64 bytes
    String header = dict + " ".repeat(padding) + "\n";
    ByteBuffer buf = ByteBuffer.allocate(MAGIC.length + 4 + header.length() + 4 * data.length)
        .order(ByteOrder.LITTLE_ENDIAN);
    buf.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) header.length());
    buf.put(header.getBytes(StandardCharsets.US_ASCII));
    buf.asFloatBuffer().put(data);
    return buf.array();
  }

  public static Matrix read(byte[] bytes) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.length < 10) {
      throw new IOException("not an .npy file: " + bytes.length + " bytes");
    }
    for (byte b : MAGIC) {
      if (buf.get() != b) {
        throw new IOException("not an .npy file: bad magic");
      }
    }
    int major = buf.get();
    buf.get();
    if (major != 1) {
      throw new IOException("unsupported .npy version " + major);
    }
    int headerLength = Short.toUnsignedInt(buf.getShort());
    if (10 + headerLength > bytes.length) {
      throw new IOException("truncated .npy header");
    }
    String header = new String(bytes, 10, headerLength, StandardCharsets.US_ASCII);
    if (!header.contains("'descr': '<f4'") || header.contains("'fortran_order': True")) {
      throw new IOException("expected a C-order little-endian float32 .npy, header: " + header.trim());
    }
    Matcher m = SHAPE.matcher(header);
    if (!m.find()) {
      throw new IOException("expected a 2-D .npy, header: " + header.trim());
    }
    int rows = Integer.parseInt(m.group(1));
    int cols = Integer.parseInt(m.group(2));
    int offset = 10 + headerLength;
    if ((long) bytes.length - offset != 4L * rows * cols) {
      throw new IOException(".npy data holds " + (bytes.length - offset) + " bytes, shape (" + rows + ", " + cols
          + ") needs " + 4L * rows * cols);
    }
    float[] data = new float[rows * cols];
    buf.position(offset);
    buf.asFloatBuffer().get(data);
    return new Matrix(rows, cols, data);
  }
}
