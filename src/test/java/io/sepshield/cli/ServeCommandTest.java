package io.sepshield.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import java.util.Map;
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
    LaunchResult serve = launcher.launch("serve");
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertEquals(1, serve.exitCode(), serve.getErrorOutput());
    assertTrue(serve.getErrorOutput().contains("error: no Kafka bootstrap servers: set "
        + "SEP_SHIELD_STREAM_BOOTSTRAP_SERVERS"), serve.getErrorOutput());
    assertTrue(serve.getErrorOutput().contains("--embedded"), serve.getErrorOutput());
    assertFalse(serve.getErrorOutput().contains("embedded Kafka:"), "no broker of its own: " + serve.getErrorOutput());
    assertTrue(ms < 60_000, "failed after " + ms + " ms");
    // serve keeps Quarkus' start-up lines (the control for the batch command below: they are captured here).
    assertTrue(serve.getErrorOutput().contains("Installed features"), serve.getErrorOutput());
  }

  @Test
  void aBatchCommandPrintsNoQuarkusStartUpLines(QuarkusMainLauncher launcher) {
    LaunchResult help = launcher.launch("protect", "--help");
    assertEquals(0, help.exitCode(), help.getErrorOutput());
    assertTrue(help.getOutput().startsWith("Usage: sep-shield protect"), help.getOutput());
    String all = help.getOutput() + help.getErrorOutput();
    for (String startUp : new String[] {"Installed features", "Profile ", "powered by Quarkus", "Listening on"}) {
      assertFalse(all.contains(startUp), startUp + " in\n" + all);
    }
  }
}
