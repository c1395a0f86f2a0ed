package io.sepshield.cli;

import io.quarkus.runtime.Quarkus;
import io.sepshield.service.ProtectionServer;
import io.sepshield.service.StreamConfig;
import jakarta.inject.Inject;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the streaming protection service until the process is stopped (SIGTERM / Ctrl-C). Quarkus' HTTP server
 * answers the probes and metrics meanwhile ({@link SepShieldMain} switches it on for this command).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = {"Run the Kafka Streams protection service (configuration: sep-shield.stream.* properties or "
        + "SEP_SHIELD_STREAM_* variables; SEP_SHIELD_STREAM_BOOTSTRAP_SERVERS and "
        + "SEP_SHIELD_STREAM_SCHEMA_REGISTRY_URL are required).",
        "Health: http://<host>:8080/q/health/{started,ready,live}; metrics: /q/metrics."})
public class ServeCommand implements Callable<Integer> {
  @Option(names = "--embedded", description = "Start an in-process Kafka broker and schema registry (demo, trying "
      + "it out); never for production.")
  boolean embedded;

  @Inject
  StreamConfig config;

  @Inject
  ProtectionServer server;

  /**
   * Starts the service and waits for Quarkus to be asked to exit. On SIGTERM Quarkus' own shutdown destroys the
   * beans: {@link ProtectionServer} closes the stream (the batch in hand is finished and committed within the close
   * timeout), then the model bean frees the engines. No shutdown hook of our own races it.
   */
  @Override
  public Integer call() throws Exception {
    ProtectionServer.Options options = ProtectionServer.from(config, embedded); // fails fast on missing settings
    server.launch(options, System.err);
    System.err.println("sep-shield serve is running (health: /q/health, metrics: /q/metrics); stop with Ctrl-C");
    Quarkus.waitForExit();
    return 0;
  }
}
