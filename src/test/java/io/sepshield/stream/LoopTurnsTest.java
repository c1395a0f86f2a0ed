package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stream thread's turn: one batch per loop, first come first served among the tasks that were refused. */
class LoopTurnsTest {
  @Test
  void oneTurnPerLoopAndRefusedTasksGoFirst() {
    LoopTurns.Turns turns = new LoopTurns.Turns();
    Object a = "a";
    Object b = "b";
    Object c = "c";
    // Loop 1: a, b and c all have a batch due, in that order.
    assertTrue(turns.tryTake(a, 1));
    assertFalse(turns.tryTake(b, 1), "one batch per loop");
    assertFalse(turns.tryTake(c, 1));
    assertFalse(turns.tryTake(a, 1), "not a second one for a either");
    // Loop 2: a asks first again (Kafka Streams runs tasks in a fixed order), but b has waited longest.
    assertFalse(turns.tryTake(a, 2));
    assertTrue(turns.tryTake(b, 2));
    assertFalse(turns.tryTake(c, 2));
    // Loop 3: c, then a.
    assertFalse(turns.tryTake(a, 3));
    assertFalse(turns.tryTake(b, 3));
    assertTrue(turns.tryTake(c, 3));
    assertTrue(turns.tryTake(a, 4));
    assertTrue(turns.tryTake(b, 5));
  }

  @Test
  void roundRobinOverManyLoopsIsFair() {
    LoopTurns.Turns turns = new LoopTurns.Turns();
    List<Object> tasks = List.of("t0", "t1", "t2", "t3");
    List<Object> crafted = new ArrayList<>();
    for (long loop = 1; loop <= 40; loop++) {
      for (Object t : tasks) { // every task always has work, asked in the same order each loop
        if (turns.tryTake(t, loop)) {
          crafted.add(t);
        }
      }
    }
    assertEquals(40, crafted.size(), "a batch in every loop: the turn is never left unused");
    for (int i = 0; i < crafted.size(); i++) {
      assertEquals(tasks.get(i % 4), crafted.get(i), "strict rotation at " + i + ": " + crafted);
    }
  }

  @Test
  void aWaitingTaskThatStopsAskingLosesItsPlaceAfterOneLoop() {
    LoopTurns.Turns turns = new LoopTurns.Turns();
    assertTrue(turns.tryTake("a", 1));
    assertFalse(turns.tryTake("gone", 1)); // queued, then closed without withdrawing
    assertFalse(turns.tryTake("b", 1));
    assertFalse(turns.tryTake("b", 2), "loop 2 is kept for the first in the queue");
    assertTrue(turns.tryTake("b", 3), "who did not ask in the last loop has left");

    turns.withdraw("b");
    assertFalse(turns.tryTake("c", 3));
    turns.withdraw("c"); // nothing due any more
    assertTrue(turns.tryTake("d", 4));
  }
}
