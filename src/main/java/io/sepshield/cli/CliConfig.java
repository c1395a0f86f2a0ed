package io.sepshield.cli;

import io.quarkus.picocli.runtime.PicocliCommandLineFactory;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import picocli.CommandLine;

/** Wires picocli: one-line error messages for execution failures. */
@ApplicationScoped
public class CliConfig {
  @Produces
  CommandLine commandLine(PicocliCommandLineFactory factory) {
    return factory.create().setExecutionExceptionHandler(SepShieldCommand::reportError);
  }
}
