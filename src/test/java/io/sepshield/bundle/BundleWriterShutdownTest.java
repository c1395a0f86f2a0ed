package io.sepshield.bundle;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A retraining process stopped with SIGTERM (a Job's pod evicted) leaves no half-written bundle on the volume. */
class BundleWriterShutdownTest {
  @TempDir
  Path root;

  @Test
  void aStoppedProcessRemovesItsStagingDirectory() throws Exception {
    Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), StagedBundleMain.class.getName(), root.toString()))
        .redirectError(root.resolve("stderr.txt").toFile()).start();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      assertEquals("staged", out.readLine());
      assertEquals(1, staging().size(), "the unfinished bundle is staged");
      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the process should stop on SIGTERM");
    } finally {
      p.destroyForcibly();
    }
    assertEquals(List.of(), staging(), "staging directory left behind");
    assertTrue(Files.readString(root.resolve("stderr.txt")).contains("removed its staging directory"),
        Files.readString(root.resolve("stderr.txt")));
  }

  @Test
  void aFinishedOrAbandonedWriterLeavesTheHookNothingToDo() {
    BundleWriter abandoned = new BundleWriter(root);
    abandoned.addFile("a.bin", new byte[] {1});
    abandoned.abandon();
    assertEquals(List.of(), staging());
    assertThrows(IllegalStateException.class, () -> abandoned.addFile("b.bin", new byte[] {2}),
        "nothing is written into an abandoned bundle");
  }

  private List<Path> staging() {
    try (Stream<Path> files = Files.list(root)) {
      return files.filter(f -> f.getFileName().toString().startsWith(".staging-")).toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
