package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.registry.SchemaRegistryClient;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.demo.EmbeddedKafka;
import io.sepshield.service.StreamMetrics;

/**
 * Stopping waits for the stream thread at most the configured close timeout: a thread stuck in the record in hand
 * (here a schema lookup against a registry that never answers) does not hold the process past it.
 */
class GracefulShutdownTest {
  @TempDir
  Path dir;

  @Test
  void stopGivesUpAfterTheCloseTimeoutWhenTheThreadIsStuck() throws Exception {
    StreamSettings settings = StreamSettings.defaults(1, Duration.ofSeconds(1));
    List<Socket> accepted = new CopyOnWriteArrayList<>();
    CountDownLatch lookup = new CountDownLatch(1);
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        ServerSocket silentRegistry = new ServerSocket(0, 10, InetAddress.getLoopbackAddress());
        ProtectionEngine engine = StreamFixtures.tinyEngine(StreamFixtures.data())) {
      kafka.createTopics(settings.uploadsTopic(), settings.protectedTopic(), settings.deadLetterTopic());
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            accepted.add(silentRegistry.accept()); // reads nothing, answers nothing
            lookup.countDown();
          }
        } catch (java.io.IOException closed) {
          // the test is over
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      Properties config = ProtectionTopology.streamsConfig("sep-shield-shutdown", kafka.bootstrapServers(), settings,
          Duration.ofSeconds(30));
      config.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString());
      Duration closeTimeout = Duration.ofSeconds(2);
      ProtectionService service = new ProtectionService(BundleHolder.serving(engine), settings, config,
          new SchemaRegistryClient("http://127.0.0.1:" + silentRegistry.getLocalPort()), new StreamMetrics(),
          closeTimeout).start();
      service.awaitRunning(Duration.ofSeconds(60));
      try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()), new ByteArraySerializer(),
          new ByteArraySerializer())) {
        // Confluent framing with schema id 1: the processor asks the registry for the schema and waits.
        producer.send(new ProducerRecord<>(settings.uploadsTopic(), new byte[] {0, 0, 0, 0, 1, 2})).get();
      }
      assertTrue(lookup.await(60, TimeUnit.SECONDS), "the stream thread is waiting on the registry");

      long t0 = System.nanoTime();
      boolean stopped = service.stop();
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertFalse(stopped, "the thread was still stuck");
      assertTrue(ms >= closeTimeout.toMillis() - 100 && ms < closeTimeout.toMillis() + 5_000,
          "stop returned after " + ms + " ms for a close timeout of " + closeTimeout);
      assertEquals(KafkaStreams.State.PENDING_SHUTDOWN, service.state());

      // Let the lookup fail so the thread ends before the broker goes away.
      silentRegistry.close();
      for (Socket s : accepted) {
        s.close();
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (service.state() != KafkaStreams.State.NOT_RUNNING && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertEquals(KafkaStreams.State.NOT_RUNNING, service.state());
    }
  }
}
