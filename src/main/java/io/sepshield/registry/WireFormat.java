package io.sepshield.registry;

import java.io.ByteArrayOutputStream;
import org.apache.kafka.common.errors.SerializationException;

/** Confluent's framing: magic byte 0, the 4-byte big-endian schema id, then the Avro binary body. */
final class WireFormat {
  static final byte MAGIC_BYTE = 0;
  static final int HEADER_SIZE = 5;

  private WireFormat() {}

  static void writeHeader(ByteArrayOutputStream out, int schemaId) {
    out.write(MAGIC_BYTE);
    out.write(schemaId >>> 24);
    out.write(schemaId >>> 16);
    out.write(schemaId >>> 8);
    out.write(schemaId);
  }

  /** The schema id of a framed message; rejects anything that is not in this format. */
  static int schemaId(byte[] data) {
    if (data.length < HEADER_SIZE) {
      throw new SerializationException(
          "Not Confluent Avro data: " + data.length + " bytes is shorter than the 5-byte header");
    }
    if (data[0] != MAGIC_BYTE) {
      throw new SerializationException(
          "Unknown magic byte " + (data[0] & 0xff) + ": not Confluent Avro data (expected 0)");
    }
    return ((data[1] & 0xff) << 24) | ((data[2] & 0xff) << 16) | ((data[3] & 0xff) << 8) | (data[4] & 0xff);
  }
}
