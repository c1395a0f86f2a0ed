package io.sepshield.reliability;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One protection processor running as a child JVM, its output in a log file per start. Started from the settings
 * {@code sep-shield serve} reads ({@code sep-shield.stream.*} as system properties), killed with SIGKILL
 * ({@link Process#destroyForcibly()} on Linux) and started again under the same name, so its Kafka client id (and
 * hence its place in the consumer group description) stays recognisable.
 */
public final class ProcessorJvm {
  /** How a processor JVM is started: the command for these settings (system properties) and JVM options. */
  @FunctionalInterface
  public interface Launcher {
    List<String> command(Map<String, String> properties, List<String> jvmOptions);

    /**
     * The packaged service: {@code java ... -jar quarkus-run.jar serve}, what {@code ./sep-shield serve} runs (Quarkus,
     * its configuration mapping, health and metrics on a free port).
     */
    static Launcher serve(Path quarkusRunJar) {
      return (properties, jvmOptions) -> {
        List<String> cmd = new ArrayList<>(java(jvmOptions));
        properties.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
        cmd.add("-Dquarkus.http.port=0"); // several instances on one host
        cmd.add("-jar");
        cmd.add(quarkusRunJar.toString());
        cmd.add("serve");
        return cmd;
      };
    }

    /** {@code java} of this JVM with the given options. */
    static List<String> java(List<String> jvmOptions) {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(jvmOptions);
      return cmd;
    }
  }

  /** The line {@code ProtectionServer.launch} prints once the stream is RUNNING. */
  static final String READY_LINE = "protecting " + io.sepshield.stream.ProtectionTopology.UPLOADS_TOPIC + " -> ";

  private final String name;
  private final Launcher launcher;
  private final Map<String, String> properties;
  private final List<String> jvmOptions;
  private final Path logs;
  private Process process;
  private Path log;
  private int starts;

  ProcessorJvm(String name, Launcher launcher, Map<String, String> properties, List<String> jvmOptions, Path logs) {
    this.name = name;
    this.launcher = launcher;
    this.properties = new LinkedHashMap<>(properties);
    this.jvmOptions = List.copyOf(jvmOptions);
    this.logs = logs;
  }

  String name() {
    return name;
  }

  int starts() {
    return starts;
  }

  Path log() {
    return log;
  }

  /** Starts the JVM; its stdout and stderr go to {@code <logs>/<name>-<n>.log}. The environment is inherited. */
  synchronized void start() throws IOException {
    if (process != null && process.isAlive()) {
      throw new IllegalStateException(name + " is running");
    }
    starts++;
    Files.createDirectories(logs);
    log = logs.resolve(name + "-" + starts + ".log");
    ProcessBuilder pb = new ProcessBuilder(launcher.command(properties, jvmOptions)).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    process = pb.start();
  }

  /**
   * Waits until the processor prints that it is protecting (stream RUNNING).
   *
   * @return false when the process ended first or the timeout passed
   */
  boolean awaitReady(Duration timeout) throws InterruptedException, IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long position = 0;
    String carry = "";
    while (System.nanoTime() < deadline) {
      if (Files.exists(log)) { // read what is new only: a processor's log grows with Kafka's lines
        try (var channel = Files.newByteChannel(log)) {
          channel.position(position);
          java.nio.ByteBuffer buffer = java.nio.ByteBuffer.allocate(1 << 16);
          int n;
          StringBuilder text = new StringBuilder(carry);
          while ((n = channel.read(buffer)) > 0) {
            position += n;
            text.append(new String(buffer.array(), 0, n, StandardCharsets.ISO_8859_1));
            buffer.clear();
          }
          if (text.indexOf(READY_LINE) >= 0) {
            return true;
          }
          carry = text.substring(Math.max(0, text.length() - READY_LINE.length()));
        }
      }
      if (!alive()) {
        return false;
      }
      Thread.sleep(200);
    }
    return false;
  }

  synchronized boolean alive() {
    return process != null && process.isAlive();
  }

  /** SIGKILL: no shutdown hook, no close, no commit; waits until the process is gone. */
  void kill() throws InterruptedException {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p != null) {
      p.destroyForcibly();
      p.waitFor();
    }
  }

  /** SIGTERM, the way a pod is stopped; SIGKILL after {@code grace}. */
  void stop(Duration grace) throws InterruptedException {
    Process p;
    synchronized (this) {
      p = process;
    }
    if (p != null && p.isAlive()) {
      p.destroy();
      if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor();
      }
    }
  }

  /** The last lines of the current log, for error messages. */
  String tail(int lines) {
    try {
      List<String> all = Files.readAllLines(log, StandardCharsets.ISO_8859_1);
      return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException | RuntimeException e) {
      return "(no log: " + e + ")";
    }
  }
}
