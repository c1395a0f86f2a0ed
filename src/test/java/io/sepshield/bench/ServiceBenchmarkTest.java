package io.sepshield.bench;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The service benchmark's arithmetic: percentiles, the open-loop schedule, sweep parsing, the JSON records. */
class ServiceBenchmarkTest {

  @Test
  void percentilesAreNearestRankOfMeasuredValues() {
    double[] ms = new double[100];
    for (int i = 0; i < 100; i++) {
      ms[i] = 100 - i; // unsorted on purpose: 100, 99, ..., 1
    }
    LatencyStats s = LatencyStats.of(ms);
    assertEquals(50, s.percentile(50));
    assertEquals(95, s.percentile(95));
    assertEquals(99, s.percentile(99));
    assertEquals(100, s.percentile(100));
    assertEquals(1, s.percentile(0.5), "rank ⌈0.005·100⌉ = 1");
    assertEquals(100, s.max());
    assertEquals(50.5, s.mean(), 1e-9);
    // Few samples: p99 of 10 is the largest, never an interpolation.
    LatencyStats few = LatencyStats.of(new double[] {7, 3, 9, 1, 5, 2, 8, 4, 6, 10});
    assertEquals(5, few.percentile(50));
    assertEquals(10, few.percentile(95));
    assertEquals(10, few.percentile(99));
    LatencyStats three = LatencyStats.of(new double[] {30, 10, 20});
    assertEquals(20, three.percentile(50), "⌈1.5⌉ = rank 2");
    assertEquals(10, three.percentile(33));
    assertEquals(20, three.percentile(34));
    assertTrue(Double.isNaN(LatencyStats.of(new double[0]).percentile(50)));
    assertThrows(IllegalArgumentException.class, () -> s.percentile(0));
    assertThrows(IllegalArgumentException.class, () -> s.percentile(101));
  }

  @Test
  void theScheduleIsFixedInAdvanceAndDoesNotDrift() {
    long[] due = new OfferedLoad(4).scheduleNanos(9);
    assertArrayEquals(new long[] {0, 250_000_000L, 500_000_000L, 750_000_000L, 1_000_000_000L, 1_250_000_000L,
        1_500_000_000L, 1_750_000_000L, 2_000_000_000L}, due);
    // A rate whose period is not a whole number of nanoseconds: upload i is due at round(i/rate), not at a sum of
    // rounded periods.
    long[] thirds = new OfferedLoad(3).scheduleNanos(3001);
    assertEquals(333_333_333L, thirds[1]);
    assertEquals(1_000_000_000_000L, thirds[3000]);
    for (int i = 1; i < thirds.length; i++) {
      assertTrue(thirds[i] >= thirds[i - 1]);
    }
    assertArrayEquals(new long[5], OfferedLoad.saturation().scheduleNanos(5), "saturation: everything at once");
    assertTrue(OfferedLoad.saturation().saturating());
    assertEquals("saturate", OfferedLoad.saturation().label());
    assertEquals("2.5/s", new OfferedLoad(2.5).label());
  }

  @Test
  void offeredLoadsParse() {
    List<OfferedLoad> loads = OfferedLoad.parseList("5, 10/s,saturate,2.5");
    assertEquals(List.of(new OfferedLoad(5), new OfferedLoad(10), OfferedLoad.saturation(), new OfferedLoad(2.5)),
        loads);
    assertEquals(List.of(OfferedLoad.saturation()), OfferedLoad.parseList("max"));
    assertThrows(IllegalArgumentException.class, () -> OfferedLoad.parseList("0"));
    assertThrows(IllegalArgumentException.class, () -> OfferedLoad.parseList("-3"));
    assertThrows(IllegalArgumentException.class, () -> OfferedLoad.parseList("fast"));
    assertThrows(IllegalArgumentException.class, () -> OfferedLoad.parseList(" , "));
    assertThrows(IllegalArgumentException.class, () -> OfferedLoad.parseList("Infinity"));
  }

  @Test
  void sweepsParse() {
    Sweep n = Sweep.parse("n=1,3,5");
    assertEquals(Sweep.Key.N, n.key());
    assertEquals(List.of(1, 3, 5), n.values());
    assertEquals(5, n.max());
    assertEquals("n=1,3,5", n.toString());
    assertEquals(Sweep.Key.M, Sweep.parse("M=0,5").key());
    assertEquals(List.of(0, 5), Sweep.parse("m=0,5").values(), "M may be 0 (no inner steps)");
    assertEquals(Sweep.Key.T, Sweep.parse("T=5, 10 ,20").key());
    assertEquals(List.of(5, 10, 20), Sweep.parse("T=5, 10 ,20").values());
    assertEquals(Sweep.Key.BATCH, Sweep.parse("batch=8,32,64").key());
    assertEquals(Sweep.Key.SIZE, Sweep.parse("size=28,56,112,224").key());
    assertEquals(Sweep.Key.INPUT, Sweep.parse("input=28,56").key());
    assertThrows(IllegalArgumentException.class, () -> Sweep.parse("n"));
    assertThrows(IllegalArgumentException.class, () -> Sweep.parse("=1,2"));
    assertThrows(IllegalArgumentException.class, () -> Sweep.parse("depth=1,2"));
    assertThrows(IllegalArgumentException.class, () -> Sweep.parse("n=1,x"));
    assertThrows(IllegalArgumentException.class, () -> Sweep.parse("n=0,1"), "n must be ≥ 1");
    assertThrows(IllegalArgumentException.class, () -> Sweep.parse("batch="));
  }

  @Test
  void serviceRecordsCarryTheRequiredFieldsAndTheRatioToTheEngine() {
    MachinePeak peak = new MachinePeak(2, 2.0, 64, "AVX-512", "test cpu");
    double[] ms = {100, 200, 300, 400};
    ServiceBenchmark.PhaseResult paced = new ServiceBenchmark.PhaseResult(new OfferedLoad(5), 4, 4, 0, 2.0,
        LatencyStats.of(ms), 2, 0, 0, 8, "1.00 1.00 1.00", "2.00 1.00 1.00", Instant.parse("2026-12-01T16:00:00Z"));
    ServiceBenchmark.PhaseResult saturated = new ServiceBenchmark.PhaseResult(OfferedLoad.saturation(), 4, 4, 0, 0.5,
        LatencyStats.of(ms), 1, 0, 0, 8, "2.00 1.00 1.00", "2.00 1.00 1.00", Instant.parse("2026-12-01T16:01:00Z"));
    assertTrue(paced.complete());
    LatencyStats l = LatencyStats.of(ms);
    Instant t = Instant.EPOCH;
    assertFalse(new ServiceBenchmark.PhaseResult(new OfferedLoad(5), 4, 3, 0, 2, l, 2, 0, 0, 8, "", "", t).complete(),
        "one missing");
    assertFalse(new ServiceBenchmark.PhaseResult(new OfferedLoad(5), 4, 4, 1, 2, l, 2, 0, 0, 8, "", "", t).complete(),
        "one twice: exactly-once broken");
    assertFalse(new ServiceBenchmark.PhaseResult(new OfferedLoad(5), 4, 4, 0, 2, l, 2, 1, 0, 8, "", "", t).complete(),
        "a valid upload dead-lettered");
    assertFalse(new ServiceBenchmark.PhaseResult(new OfferedLoad(5), 4, 4, 0, 2, l, 2, 0, 1, 9, "", "", t).complete(),
        "outside ε");
    List<Map<String, Object>> rows = ServiceBenchmark.records(List.of(paced, saturated), 10.0, 90, 36.58e6, peak,
        Map.of("device", "cpu", "arch", "resnet8", "input", "1x28x28", "batch", 8, "profile", "cpu", "command",
            "sep-shield bench --service"));
    assertEquals(2, rows.size());
    for (String field : List.of("where", "device", "arch", "input", "batch", "profile", "images_per_s",
        "passes_per_s", "gflops_per_s", "peak_fraction", "command", "p50_ms", "p95_ms", "p99_ms", "offered_per_s")) {
      assertTrue(rows.get(0).containsKey(field), field);
      assertTrue(rows.get(1).containsKey(field), field);
    }
    Map<String, Object> a = rows.get(0);
    assertEquals("service", a.get("where"));
    assertEquals(5.0, a.get("offered_per_s"));
    assertEquals(false, a.get("saturation"));
    assertEquals(2.0, a.get("images_per_s"), "4 images in 2 s");
    assertEquals(180.0, a.get("passes_per_s"));
    assertEquals(180 * 36.58e6 / 1e9, (Double) a.get("gflops_per_s"), 0.01);
    assertEquals(180 * 36.58e6 / 1e9 / 256, (Double) a.get("peak_fraction"), 1e-4);
    assertEquals(200.0, a.get("p50_ms"));
    assertEquals(400.0, a.get("p95_ms"));
    assertEquals(400.0, a.get("p99_ms"));
    assertEquals(0.5, a.get("offered_to_engine"), "5/s offered to an engine doing 10/s");
    assertFalse(a.containsKey("service_to_engine"), "below saturation the service's rate is the offered one");
    Map<String, Object> b = rows.get(1);
    assertNull(b.get("offered_per_s"), "saturation has no offered rate");
    assertEquals(true, b.get("saturation"));
    assertEquals(8.0, b.get("images_per_s"));
    assertEquals(0.8, b.get("service_to_engine"));
    assertEquals(10.0, b.get("engine_images_per_s"));
    assertEquals("2026-12-01T16:01:00Z", b.get("date"));
  }
}
