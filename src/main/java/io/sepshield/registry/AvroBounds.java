package io.sepshield.registry;

import java.util.List;
import org.apache.avro.Schema;
import org.apache.kafka.common.errors.SerializationException;

/**
 * Checks a binary Avro datum against its writer schema before Avro reads it: every string, bytes and fixed length
 * and every array or map block fits in the bytes that remain.
 *
 * <p>Why our own walk: Avro's {@code BinaryDecoder} allocates a string or bytes value at its declared length before
 * reading it (bounded only by {@code org.apache.avro.limits.*}, about 2 GiB by default), so a 20-byte record of
 * junk after magic byte 0 can make the stream thread allocate 2 GiB, and one that declares more than the heap holds
 * fails with OutOfMemoryError on every retry of its offset. The walk allocates nothing; an out-of-bounds datum is a
 * {@link SerializationException} (bad data, dead-lettered like any unreadable record).
 */
final class AvroBounds {
  private static final int MAX_DEPTH = 256;
  private static final Schema MAP_KEY = Schema.create(Schema.Type.STRING);

  private final byte[] data;
  private int pos;
  private long items;

  private AvroBounds(byte[] data, int from) {
    this.data = data;
    this.pos = from;
  }

  /** @throws SerializationException naming the first length or count that exceeds the data */
  static void check(Schema writer, byte[] data, int from) {
    new AvroBounds(data, from).walk(writer, 0);
  }

  private void walk(Schema s, int depth) {
    if (depth > MAX_DEPTH) {
      throw fail("nesting deeper than " + MAX_DEPTH);
    }
    switch (s.getType()) {
      case NULL -> { }
      case BOOLEAN -> skip(1);
      case INT, LONG, ENUM -> readLong();
      case FLOAT -> skip(4);
      case DOUBLE -> skip(8);
      case FIXED -> skip(s.getFixedSize());
      case STRING, BYTES -> {
        long length = readLong();
        if (length < 0) {
          throw fail("negative length " + length);
        }
        skip(length);
      }
      case RECORD -> {
        for (Schema.Field f : s.getFields()) {
          walk(f.schema(), depth + 1);
        }
      }
      case UNION -> {
        List<Schema> types = s.getTypes();
        long branch = readLong();
        if (branch < 0 || branch >= types.size()) {
          throw fail("union branch " + branch + " of " + types.size());
        }
        walk(types.get((int) branch), depth + 1);
      }
      case ARRAY, MAP -> {
        Schema item = s.getType() == Schema.Type.ARRAY ? s.getElementType() : s.getValueType();
        for (long count = readLong(); count != 0; count = readLong()) {
          if (count < 0) { // a block with its size in bytes
            count = -count;
            if (count < 0) {
              throw fail("block count " + Long.MIN_VALUE);
            }
            long size = readLong();
            if (size < 0 || size > remaining()) {
              throw fail("block of " + size + " bytes");
            }
          }
          items += count;
          // Each item takes at least one byte but for zero-size types, which no sane writer repeats this often.
          if (count > remaining() || items > data.length) {
            throw fail(s.getType().getName() + " block of " + count + " items");
          }
          for (long i = 0; i < count; i++) {
            if (s.getType() == Schema.Type.MAP) {
              walk(MAP_KEY, depth + 1);
            }
            walk(item, depth + 1);
          }
        }
      }
      default -> throw fail("unexpected type " + s.getType());
    }
  }

  private int remaining() {
    return data.length - pos;
  }

  private void skip(long n) {
    if (n > remaining()) {
      throw fail(n + " bytes declared");
    }
    pos += (int) n;
  }

  /** Avro's zig-zag varint. */
  private long readLong() {
    long raw = 0;
    for (int shift = 0; ; shift += 7) {
      if (shift > 63) {
        throw fail("invalid long encoding");
      }
      if (pos >= data.length) {
        throw fail("data ends inside a number");
      }
      int b = data[pos++] & 0xff;
      raw |= (long) (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
  }

  private SerializationException fail(String what) {
    return new SerializationException("Avro data out of bounds at byte " + pos + " of " + data.length + ": " + what
        + ", only " + remaining() + " bytes remain");
  }
}
