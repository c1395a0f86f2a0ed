package io.sepshield.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Memory of this process from /proc/self/status: resident set (VmRSS) and its peak (VmHWM), in MiB. The native
 * part (PyTorch tensors, DJL, the JVM's own native memory) is estimated as RSS minus the Java heap and
 * non-heap in use; no JVM flag is needed for that, at the price of counting the JVM's own native memory too.
 */
public record ProcessMemory(double rssMb, double hwmMb, double heapUsedMb, double nativeMb) {

  public static ProcessMemory sample() {
    double rss = -1;
    double hwm = -1;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmRSS:")) {
          rss = kib(line) / 1024.0;
        } else if (line.startsWith("VmHWM:")) {
          hwm = kib(line) / 1024.0;
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux: memory figures stay -1 ("not measured").
    }
    MemoryMXBean mx = ManagementFactory.getMemoryMXBean();
    // Used, not committed: committed heap pages that were never touched are not resident.
    double heap = mx.getHeapMemoryUsage().getUsed() / 1048576.0;
    double nonHeap = mx.getNonHeapMemoryUsage().getUsed() / 1048576.0;
    return new ProcessMemory(rss, hwm, heap, rss < 0 ? -1 : rss - heap - nonHeap);
  }

  private static long kib(String line) {
    return Long.parseLong(line.replaceAll("[^0-9]", ""));
  }
}
