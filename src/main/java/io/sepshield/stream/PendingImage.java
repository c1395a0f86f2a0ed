package io.sepshield.stream;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;

/**
 * A validated upload waiting in the batch buffer: only what a restart needs (the buffer is a changelogged store),
 * that is the original record (key, value, headers: the encoded image or its claim-check reference, and what the
 * dead-letter topic needs) and where it came from. Pixels are not kept, so a changelog record is no bigger than the
 * upload record: the pixels decoded on arrival wait in memory ({@link DecodedArrivals}), and after a restore the image
 * is decoded again when its batch is crafted.
 *
 * @param label class index, or {@link io.sepshield.data.LabeledImages#UNKNOWN_LABEL} to predict it
 * @param arrivedAt wall-clock time the processor accepted it, for max-delay and processing time
 * @param width image width from its header (for the batch's pixel bound); 0 when unknown (formats 1 and 2 kept
 *     pixels of the model's shape instead)
 * @param claimSha256 hex SHA-256 of a claim-checked image as fetched when accepted, so the bytes crafted later are
 *     the bytes that were checked; null when the image is inline
 */
record PendingImage(String id, int label, long arrivedAt, String topic, int partition, long offset, long timestamp,
    byte[] originalKey, byte[] originalValue, List<Header> headers, int width, int height, String claimSha256) {
  // 1: decoded pixels; 2: + their shape; 3: no pixels (decoded again at flush), + header size and claim-check SHA-256.
  private static final int FORMAT = 3;

  /** Pixels counted against max-batch-pixels. */
  long pixelCount() {
    return (long) width * height;
  }

  Headers kafkaHeaders() {
    RecordHeaders h = new RecordHeaders();
    headers.forEach(h::add);
    return h;
  }

  byte[] toBytes() {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream(originalValue.length + 256);
    try (DataOutputStream out = new DataOutputStream(buffer)) {
      out.writeByte(FORMAT);
      out.writeUTF(id);
      out.writeInt(label);
      out.writeLong(arrivedAt);
      out.writeUTF(topic);
      out.writeInt(partition);
      out.writeLong(offset);
      out.writeLong(timestamp);
      writeBytes(out, originalKey);
      writeBytes(out, originalValue);
      out.writeInt(headers.size());
      for (Header h : headers) {
        out.writeUTF(h.key());
        writeBytes(out, h.value());
      }
      out.writeInt(width);
      out.writeInt(height);
      out.writeUTF(claimSha256 == null ? "" : claimSha256);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return buffer.toByteArray();
  }

  /** Reads formats 1 to 3: a changelog written by an older version is restored, its pixels dropped. */
  static PendingImage fromBytes(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      int format = in.readUnsignedByte();
      if (format < 1 || format > FORMAT) {
        throw new IllegalStateException("pending image in unknown store format " + format);
      }
      String id = in.readUTF();
      int label = in.readInt();
      long arrivedAt = in.readLong();
      String topic = in.readUTF();
      int partition = in.readInt();
      long offset = in.readLong();
      long timestamp = in.readLong();
      byte[] key = readBytes(in);
      byte[] value = readBytes(in);
      int n = in.readInt();
      List<Header> headers = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        headers.add(new RecordHeader(in.readUTF(), readBytes(in)));
      }
      int width = 0;
      int height = 0;
      String sha = null;
      if (format == 2) { // channels, height, width of the decoded pixels, then the pixels: the model's shape
        in.readInt();
        height = in.readInt();
        width = in.readInt();
      } else if (format == 3) {
        width = in.readInt();
        height = in.readInt();
        sha = in.readUTF();
      }
      return new PendingImage(id, label, arrivedAt, topic, partition, offset, timestamp, key, value, headers, width,
          height, sha == null || sha.isEmpty() ? null : sha);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
    if (b == null) {
      out.writeInt(-1);
    } else {
      out.writeInt(b.length);
      out.write(b);
    }
  }

  private static byte[] readBytes(DataInputStream in) throws IOException {
    int n = in.readInt();
    return n < 0 ? null : in.readNBytes(n);
  }
}
