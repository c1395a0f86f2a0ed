package io.sepshield.cli;

import io.sepshield.service.ProtectionServer;
import io.sepshield.service.StreamConfig;
import jakarta.inject.Inject;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;

/** Runs the streaming protection service until the process is stopped (SIGTERM / Ctrl-C). */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the Kafka Streams protection service (configuration: sep-shield.stream.* properties).")
public class ServeCommand implements Callable<Integer> {
  @Inject
  StreamConfig config;

  @Override
  public Integer call() throws Exception {
    CountDownLatch stopped = new CountDownLatch(1);
    ProtectionServer server = ProtectionServer.start(ProtectionServer.from(config), System.err);
    Thread hook = new Thread(() -> {
      try {
        server.close();
      } catch (Exception e) {
        System.err.println("error while stopping: " + e);
      } finally {
        stopped.countDown();
      }
    }, "sep-shield-serve-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    System.err.println("sep-shield serve is running; stop with Ctrl-C");
    stopped.await();
    return 0;
  }
}
