package io.sepshield.stream;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.avro.UploadedImage;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.service.StreamMetrics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;

/**
 * The protection topology on Kafka's test driver with its topics: uploads in as raw bytes (so a test can send what
 * no serializer would write), protected images and failure events read through the registry, dead letters as the
 * raw bytes the processor copied. Closing it closes the driver.
 */
final class TopologyUnderTest implements AutoCloseable {
  /** The slowest-batch budget of {@link ProtectionTopology#streamsConfig} unless a test is about that budget. */
  static final Duration SLOWEST_BATCH = Duration.ofSeconds(10);

  final TopologyTestDriver driver;
  final TestInputTopic<byte[], byte[]> uploads;
  final TestOutputTopic<String, ProtectedImage> protectedImages;
  final TestOutputTopic<byte[], byte[]> deadLetters;
  final TestOutputTopic<String, ProtectionFailure> failures;
  private final ConfluentAvroSerializer<UploadedImage> serializer;

  private TopologyUnderTest(TopologyTestDriver driver, StreamSettings settings, SchemaRegistryClient registry) {
    this.driver = driver;
    uploads = driver.createInputTopic(settings.uploadsTopic(), new ByteArraySerializer(), new ByteArraySerializer());
    protectedImages = driver.createOutputTopic(settings.protectedTopic(), new StringDeserializer(),
        new ConfluentAvroDeserializer<>(registry, ProtectedImage.class));
    deadLetters = driver.createOutputTopic(settings.deadLetterTopic(), new ByteArrayDeserializer(),
        new ByteArrayDeserializer());
    failures = driver.createOutputTopic(ProtectionTopology.FAILURES_TOPIC, new StringDeserializer(),
        new ConfluentAvroDeserializer<>(registry, ProtectionFailure.class));
    serializer = new ConfluentAvroSerializer<>(registry);
    serializer.configure(Map.of(), false);
  }

  /** The topology {@code serve} builds, its processor and the topics on {@code registry}. */
  static TopologyUnderTest start(String applicationId, Path stateDir, StreamSettings settings, BundleHolder bundles,
      SchemaRegistryClient registry, StreamMetrics metrics) {
    return start(applicationId, stateDir, settings, SLOWEST_BATCH,
        ProtectionTopology.build(settings, bundles, registry, metrics), registry);
  }

  /**
   * Any build of the topology for {@code settings}: {@code registry} serves the topics only, so the processor's own
   * registry may be another (an unreachable one, say).
   */
  static TopologyUnderTest start(String applicationId, Path stateDir, StreamSettings settings, Duration slowestBatch,
      Topology topology, SchemaRegistryClient registry) {
    Properties props = ProtectionTopology.streamsConfig(applicationId, "unused:9092", settings, slowestBatch);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    return new TopologyUnderTest(new TopologyTestDriver(topology, props), settings, registry);
  }

  /** {@code upload} as a producer writes it to the uploads topic (Confluent Avro). */
  byte[] serialize(UploadedImage upload) {
    return serializer.serialize(ProtectionTopology.UPLOADS_TOPIC, upload);
  }

  @Override
  public void close() {
    driver.close();
  }
}
