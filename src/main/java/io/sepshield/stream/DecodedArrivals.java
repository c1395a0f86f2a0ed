package io.sepshield.stream;

import io.sepshield.avro.UploadedImage;
import io.sepshield.data.DecodedUpload;
import java.util.HashMap;
import java.util.Map;

/**
 * Uploads as read and decoded when the processor accepted them, by buffer key, so that their batch does not read,
 * fetch and decode them again. In memory only, never in the changelog: after a restore, or when Kafka Streams
 * revives a task, it is empty and the buffered records are decoded again from their bytes. Holds at most
 * {@code maxPixels} pixels (width × height); an upload that does not fit is simply not kept.
 *
 * <p>Touched by the stream thread only, like the processor that owns it.
 */
final class DecodedArrivals {
  /** An upload as read and decoded on arrival. */
  record Arrival(UploadedImage upload, DecodedUpload decoded) {
    long pixels() {
      return (long) decoded.height() * decoded.width();
    }
  }

  private final long maxPixels;
  private final Map<String, Arrival> byKey = new HashMap<>();
  private long pixels;

  DecodedArrivals(long maxPixels) {
    this.maxPixels = maxPixels;
  }

  /** Keeps {@code arrival} under {@code key} if it fits; returns whether it was kept. */
  boolean keep(String key, Arrival arrival) {
    if (pixels + arrival.pixels() > maxPixels || byKey.containsKey(key)) {
      return false;
    }
    byKey.put(key, arrival);
    pixels += arrival.pixels();
    return true;
  }

  /** The arrival kept under {@code key}, or null (not kept, or forgotten). */
  Arrival get(String key) {
    return byKey.get(key);
  }

  /** The upload left the buffer (crafted or rejected). */
  void forget(String key) {
    Arrival arrival = byKey.remove(key);
    if (arrival != null) {
      pixels -= arrival.pixels();
    }
  }

  void clear() {
    byKey.clear();
    pixels = 0;
  }

  int size() {
    return byKey.size();
  }

  long pixels() {
    return pixels;
  }
}
