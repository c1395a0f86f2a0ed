package io.sepshield.cli;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import io.quarkus.runtime.annotations.QuarkusMain;
import jakarta.inject.Inject;
import picocli.CommandLine;

/**
 * The entry point: notes which command runs ({@link CommandDefaults}) before Quarkus reads its configuration, so
 * that {@code serve} gets the HTTP server and start-up logs that batch commands must not have, then hands the
 * arguments to picocli. Replaces quarkus-picocli's default runner, which gives configuration no look at the command.
 */
@QuarkusMain
public class SepShieldMain implements QuarkusApplication {
  @Inject
  CommandLine commandLine;

  public static void main(String... args) {
    CommandDefaults.select(args);
    Quarkus.run(SepShieldMain.class, args);
  }

  @Override
  public int run(String... args) {
    try {
      return commandLine.execute(args);
    } finally {
      commandLine.getOut().flush();
      commandLine.getErr().flush();
    }
  }
}
