package io.sepshield.lifecycle;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Calls in flight and how long each has run, for the liveness probe: a crafting call that never returns (a wedged
 * native kernel, a device that stopped answering) leaves the Kafka Streams state RUNNING, so only its age shows it.
 */
public final class ProgressWatchdog {
  /** A call that has run longer than the bound it was checked against. */
  public record Overdue(String what, String thread, Duration running) {
    @Override
    public String toString() {
      return what + " on " + thread + " for " + running.toSeconds() + " s";
    }
  }

  /** Open while the call runs; close it when the call returns, normally or not. */
  public interface Watch extends AutoCloseable {
    @Override
    void close();
  }

  private record Call(String what, String thread, long startNanos) {}

  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, Call> inFlight = new ConcurrentHashMap<>();

  public Watch watch(String what) {
    long id = ids.incrementAndGet();
    inFlight.put(id, new Call(what, Thread.currentThread().getName(), System.nanoTime()));
    return () -> inFlight.remove(id);
  }

  /** Calls running for longer than {@code bound}, oldest first. */
  public List<Overdue> overdue(Duration bound) {
    long now = System.nanoTime();
    return inFlight.values().stream().filter(c -> now - c.startNanos() > bound.toNanos())
        .sorted(Comparator.comparingLong(Call::startNanos))
        .map(c -> new Overdue(c.what(), c.thread(), Duration.ofNanos(now - c.startNanos()))).toList();
  }
}
