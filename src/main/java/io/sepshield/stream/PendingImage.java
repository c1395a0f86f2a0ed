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
 * A validated, decoded upload waiting in the batch buffer. It carries everything the output needs after a restart
 * (the buffer is a changelogged state store): the decoded pixels, the original record for the dead-letter topic,
 * where it came from and its headers.
 *
 * @param label class index, or {@link io.sepshield.data.LabeledImages#UNKNOWN_LABEL} to predict it
 * @param arrivedAt wall-clock time the processor accepted it, for max-delay and processing time
 * @param channels shape the pixels were decoded to (that of the engine at the time); 0 when unknown (format 1)
 */
record PendingImage(String id, int label, long arrivedAt, String topic, int partition, long offset, long timestamp,
    byte[] originalKey, byte[] originalValue, List<Header> headers, int channels, int height, int width,
    byte[] pixels) {
  // 2 added the shape: after a restart the buffer may hold images decoded for an earlier bundle's input shape.
  private static final int FORMAT = 2;

  boolean hasShape(int c, int h, int w) {
    return channels == c && height == h && width == w;
  }

  Headers kafkaHeaders() {
    RecordHeaders h = new RecordHeaders();
    headers.forEach(h::add);
    return h;
  }

  byte[] toBytes() {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream(pixels.length + originalValue.length + 256);
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
      out.writeInt(channels);
      out.writeInt(height);
      out.writeInt(width);
      writeBytes(out, pixels);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return buffer.toByteArray();
  }

  static PendingImage fromBytes(byte[] bytes) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      int format = in.readUnsignedByte();
      if (format != FORMAT && format != 1) {
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
      int[] shape = format == 1 ? new int[3] : new int[] {in.readInt(), in.readInt(), in.readInt()};
      return new PendingImage(id, label, arrivedAt, topic, partition, offset, timestamp, key, value, headers,
          shape[0], shape[1], shape[2], readBytes(in));
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
