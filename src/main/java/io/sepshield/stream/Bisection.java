package io.sepshield.stream;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;

/**
 * What a task crafts after the engine failed on a batch: the same batch once more (a transient error, a native
 * allocation that fails once), then halves, quarters... until the images that fail alone are found. Only those are
 * dead-lettered (PROTECTION_ERROR); their batch mates are protected. One attempt per turn, like any batch, so a
 * failure never makes a loop craft more than one batch; the images wait in the changelogged buffer meanwhile, so a
 * crash or a rebalance loses nothing (the new owner simply crafts them afresh).
 *
 * <p>Per task, touched only by its stream thread.
 */
final class Bisection {
  /** Buffer keys to craft together; {@code retry}: a repeat of a failed batch, else a part of one. */
  record Attempt(List<String> keys, boolean retry) {}

  private final Deque<Attempt> queue = new ArrayDeque<>();

  /** The next attempt, or null when no failed batch is being worked through. */
  Attempt next() {
    return queue.pollFirst();
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  void clear() {
    queue.clear();
  }

  /**
   * Records that crafting {@code keys} failed, as a fresh batch ({@code attempt} null) or as {@code attempt}.
   *
   * @return the keys that failed alone and were already retried: to dead-letter; empty while the search goes on
   */
  List<String> failed(List<String> keys, Attempt attempt) {
    if (attempt == null) {
      queue.addFirst(new Attempt(List.copyOf(keys), true));
      return List.of();
    }
    if (keys.size() == 1) {
      return List.copyOf(keys);
    }
    int half = keys.size() / 2;
    queue.addFirst(new Attempt(List.copyOf(keys.subList(half, keys.size())), false));
    queue.addFirst(new Attempt(List.copyOf(keys.subList(0, half)), false));
    return List.of();
  }
}
