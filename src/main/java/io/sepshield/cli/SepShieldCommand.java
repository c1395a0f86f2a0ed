package io.sepshield.cli;

import io.quarkus.picocli.runtime.annotations.TopCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** sep-shield: train protecting models, protect images, and run the end-to-end demo. */
@TopCommand
@Command(name = "sep-shield", mixinStandardHelpOptions = true, version = "sep-shield 0.1.0",
    description = "Protects images against unauthorized model training (Self-Ensemble Protection, SEP-FA-VR).",
    subcommands = {TrainCommand.class, ProtectCommand.class, DemoCommand.class, EvaluateCommand.class,
        ServeCommand.class, StreamDemoCommand.class, BenchCommand.class, SoakCommand.class, ReportCommand.class})
public class SepShieldCommand {

  /** Errors a user can fix are reported as one line, not a stack trace. */
  static int reportError(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
    cmd.getErr().println("error: " + e.getMessage());
    if (Boolean.getBoolean("sepshield.debug")) {
      e.printStackTrace(cmd.getErr());
    }
    return 1;
  }
}
