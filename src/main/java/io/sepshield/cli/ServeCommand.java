package io.sepshield.cli;

import io.sepshield.service.ProtectionServer;
import io.sepshield.service.StreamConfig;
import jakarta.inject.Inject;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.streams.KafkaStreams;
import picocli.CommandLine.Command;

/** Runs the streaming protection service until the process is stopped (SIGTERM / Ctrl-C). */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the Kafka Streams protection service (configuration: sep-shield.stream.* properties).")
public class ServeCommand implements Callable<Integer> {
  @Inject
  StreamConfig config;

  /**
   * SIGTERM (Kubernetes stopping the pod) and Ctrl-C run the JVM's shutdown hooks; ours closes the server, so the
   * stream finishes its batch and commits the transaction (within {@code close-timeout}) before the JVM exits. The
   * command's thread waits for that, so the exit status comes after the commit.
   */
  @Override
  public Integer call() throws Exception {
    CountDownLatch stopped = new CountDownLatch(1);
    ProtectionServer.Options options = ProtectionServer.from(config);
    ProtectionServer server = ProtectionServer.start(options, System.err);
    Thread hook = new Thread(() -> {
      try {
        System.err.println("stopping: closing the protection stream (close timeout " + options.closeTimeout() + ")");
        long t0 = System.nanoTime();
        server.close();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        // On stderr, not the log: Quarkus' own shutdown hook may have stopped the logging by now.
        KafkaStreams.State state = server.service().state();
        System.err.println(state == KafkaStreams.State.NOT_RUNNING ? "stopped in " + ms + " ms"
            : "gave up after " + ms + " ms with the stream " + state + "; its open transaction is aborted and redone");
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
