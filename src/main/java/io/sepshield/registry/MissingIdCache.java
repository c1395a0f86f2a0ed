package io.sepshield.registry;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Schema ids the registry said it does not know, remembered for a while (Confluent's {@code missing.id.cache.ttl.sec}
 * and {@code missing.cache.size}). Junk after a 0 magic byte carries random ids; without this every such record
 * would cost a blocking HTTP call. Bounded: the least recently asked id goes first. Thread-safe.
 */
final class MissingIdCache {
  private final long ttlNanos;
  private final Map<Integer, Long> expiryById;

  MissingIdCache(Duration ttl, int maxSize) {
    this.ttlNanos = ttl.toNanos();
    this.expiryById = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<Integer, Long> eldest) {
        return size() > maxSize;
      }
    };
  }

  /** True while the registry's "not found" for {@code id} is fresh. */
  synchronized boolean isMissing(int id, long nowNanos) {
    Long expiry = expiryById.get(id);
    if (expiry == null) {
      return false;
    }
    if (nowNanos - expiry >= 0) {
      expiryById.remove(id);
      return false;
    }
    return true;
  }

  synchronized void markMissing(int id, long nowNanos) {
    if (ttlNanos > 0) {
      expiryById.put(id, nowNanos + ttlNanos);
    }
  }

  synchronized int size() {
    return expiryById.size();
  }
}
