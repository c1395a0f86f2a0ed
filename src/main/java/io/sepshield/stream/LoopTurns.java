package io.sepshield.stream;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.function.LongSupplier;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.streams.processor.api.ProcessorContext;

/**
 * At most one batch per processing loop of a stream thread, taken in turns by the thread's tasks.
 *
 * <p>Kafka Streams runs every task of a thread from one loop: poll, then process records and run punctuators until
 * the queues are empty or half of {@code max.poll.interval.ms} has passed, committing the transaction on the way.
 * A thread that holds several partitions (after a rebalance gave it a lost pod's) would otherwise craft one batch
 * per task in a single punctuation round, without polling or committing in between, and overrun the poll interval
 * and the transaction timeout, which are sized for one batch. So a task asks for the thread's turn before crafting;
 * the turn is free once per poll, and the tasks that were refused get it first come, first served (a task asks
 * again on every loop until it has crafted, see {@link ProtectionProcessor}). A queued task that stops asking (closed,
 * revoked, nothing left to craft) loses its place after one loop without asking.
 *
 * <p>A loop is counted by Kafka's own thread metric {@code poll-total} (stream-thread-metrics, recorded on every poll
 * of the main consumer, even an empty one), read through the processor context. Where it does not exist (the
 * TopologyTestDriver polls nothing) every request is a loop of its own.
 *
 * <p>One instance serves all tasks of a topology; the state is per thread and only ever touched by that thread.
 */
final class LoopTurns {
  private static final System.Logger LOG = System.getLogger(LoopTurns.class.getName());
  static final String POLL_TOTAL = "poll-total";
  static final String THREAD_GROUP = "stream-thread-metrics";

  private final ThreadLocal<Turns> turns = ThreadLocal.withInitial(Turns::new);

  /** One thread's turn and queue. */
  static final class Turns {
    private boolean lookedUp;
    private LongSupplier polls; // null where Kafka has no poll metric for this thread
    private long requests; // the loop counter where Kafka's metric is missing
    private long grantedLoop = -1;
    private final Deque<Waiting> queue = new ArrayDeque<>();
    private long granted;
    private long refused;

    private static final class Waiting {
      final Object task;
      long askedLoop;

      Waiting(Object task, long askedLoop) {
        this.task = task;
        this.askedLoop = askedLoop;
      }
    }

    /**
     * Whether {@code task} may craft one batch in {@code loop}: the turn is unused in this loop and no other task
     * that still asks has been waiting longer.
     */
    boolean tryTake(Object task, long loop) {
      // Waiters that did not ask in this loop or the previous one have left (closed, or nothing to craft).
      queue.removeIf(w -> w.askedLoop < loop - 1 && w.task != task);
      Waiting mine = null;
      for (Waiting w : queue) {
        if (w.task == task) {
          mine = w;
          w.askedLoop = loop;
        }
      }
      boolean first = queue.isEmpty() || queue.peekFirst().task == task;
      if (grantedLoop != loop && first) {
        grantedLoop = loop;
        queue.remove(mine);
        granted++;
        return true;
      }
      if (mine == null) {
        queue.addLast(new Waiting(task, loop));
      }
      refused++;
      return false;
    }

    void withdraw(Object task) {
      queue.removeIf(w -> w.task == task);
    }
  }

  /** Whether the calling task may craft a batch now (see the class comment). */
  boolean tryTake(Object task, ProcessorContext<?, ?> context) {
    Turns t = turns.get();
    if (!t.lookedUp) {
      t.polls = pollCount(context);
      t.lookedUp = true;
      if (t.polls == null) {
        LOG.log(System.Logger.Level.DEBUG, "no Kafka poll-total metric for thread {0}: every request for the turn "
            + "counts as a loop of its own", Thread.currentThread().getName());
      }
    }
    long loop = t.polls != null ? t.polls.getAsLong() : ++t.requests;
    return t.tryTake(task, loop);
  }

  /** The task has nothing due (or is closing): it gives up its place in the queue. */
  void withdraw(Object task) {
    turns.get().withdraw(task);
  }

  /** Turns given and refused so far on the calling thread. */
  long[] counts() {
    Turns t = turns.get();
    return new long[] {t.granted, t.refused};
  }

  /** The calling stream thread's poll count, from Kafka's metric; null where there is none. */
  private static LongSupplier pollCount(ProcessorContext<?, ?> context) {
    String thread = Thread.currentThread().getName();
    for (Map.Entry<MetricName, ? extends Metric> e : context.metrics().metrics().entrySet()) {
      MetricName name = e.getKey();
      if (POLL_TOTAL.equals(name.name()) && THREAD_GROUP.equals(name.group())
          && thread.equals(name.tags().get("thread-id"))) {
        Metric metric = e.getValue();
        return () -> ((Number) metric.metricValue()).longValue();
      }
    }
    return null;
  }
}
