package io.sepshield.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import org.junit.jupiter.api.Test;

/**
 * What the user sees at the command line: {@code serve} without a broker stops at once and names the setting, with
 * Quarkus' start-up lines (a long-running service logs them); a batch command prints only its own output.
 */
@QuarkusMainTest
@TestProfile(ServeCommandTest.FreePort.class)
class ServeCommandTest {
  /** serve switches the HTTP server on; a free port keeps it off anyone else's. */
  public static class FreePort implements QuarkusTestProfile {
    @Override
    public Map<String, String> getConfigOverrides() {
      return Map.of("quarkus.http.test-port", "0");
    }
  }

  @Test
  void serveWithoutABrokerFailsFastNamingTheSetting(QuarkusMainLauncher launcher) {
    long t0 = System.nanoTime();
    List<String> startUp = new ArrayList<>();
    LaunchResult serve = quarkusLogLines(startUp, () -> launcher.launch("serve"));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(1, serve.exitCode(), serve.getErrorOutput());
    assertTrue(serve.getErrorOutput().contains("error: no Kafka bootstrap servers: set "
        + "SEP_SHIELD_STREAM_BOOTSTRAP_SERVERS"), serve.getErrorOutput());
    assertTrue(serve.getErrorOutput().contains("--embedded"), serve.getErrorOutput());
    assertFalse(serve.getErrorOutput().contains("embedded Kafka:"), "no broker of its own: " + serve.getErrorOutput());
    assertTrue(ms < 60_000, "failed after " + ms + " ms");
    // serve keeps Quarkus' start-up lines (the control for the batch command below: they are captured here).
    assertTrue(startUp.stream().anyMatch(l -> l.startsWith("Installed features")), startUp.toString());
  }

  @Test
  void aBatchCommandPrintsNoQuarkusStartUpLines(QuarkusMainLauncher launcher) {
    List<String> startUp = new ArrayList<>();
    LaunchResult help = quarkusLogLines(startUp, () -> launcher.launch("protect", "--help"));
    assertEquals(0, help.exitCode(), help.getErrorOutput());
    assertTrue(help.getOutput().startsWith("Usage: sep-shield protect"), help.getOutput());
    assertEquals(List.of(), startUp, "Quarkus' own lines (started in, Profile activated, Installed features)");
    String all = help.getOutput() + help.getErrorOutput();
    for (String line : new String[] {"Installed features", "Profile ", "powered by Quarkus", "Listening on"}) {
      assertFalse(all.contains(line), line + " in\n" + all);
    }
  }

  /**
   * Runs {@code launch} with a handler on the root logger that keeps what the {@code io.quarkus} logger writes (its
   * start-up and stop lines); the launcher's captured output does not include log records.
   */
  private static LaunchResult quarkusLogLines(List<String> lines, Supplier<LaunchResult> launch) {
    Logger root = Logger.getLogger("");
    Handler handler = new Handler() {
      @Override
      public void publish(LogRecord r) {
        if ("io.quarkus".equals(r.getLoggerName())) {
          lines.add(new SimpleFormatter().formatMessage(r));
        }
      }

      @Override
      public void flush() {}

      @Override
      public void close() {}
    };
    handler.setLevel(Level.ALL);
    root.addHandler(handler);
    try {
      return launch.get();
    } finally {
      root.removeHandler(handler);
    }
  }
}
