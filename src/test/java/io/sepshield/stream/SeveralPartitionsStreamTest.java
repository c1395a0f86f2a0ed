package io.sepshield.stream;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.demo.EmbeddedKafka;
import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.registry.ConfluentAvroDeserializer;
import io.sepshield.registry.ConfluentAvroSerializer;
import io.sepshield.registry.InMemorySchemaRegistry;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.EpsilonBall;
import io.sepshield.service.StreamMetrics;
import io.sepshield.storage.ClaimCheck;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.processor.internals.DefaultKafkaClientSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One instance, one stream thread, four partitions each with a backlog (as after a rebalance that handed it a lost
 * pod's partitions): the tasks take turns, one batch per loop, and every upload is protected exactly once.
 */
class SeveralPartitionsStreamTest {
  static final int PARTITIONS = 4;
  static final int PER_PARTITION = 6;

  @TempDir
  Path dir;

  /** One engine call: the main consumer's polls so far and the batch's ids. */
  record Call(long polls, List<String> ids) {
    int partition() {
      return Integer.parseInt(ids.get(0).substring(1, ids.get(0).indexOf('-')));
    }
  }

  @Test
  void tasksInterleaveOneBatchPerLoopAndEveryUploadIsProtectedOnce() throws Exception {
    LabeledImages data = StreamFixtures.data();
    StreamSettings settings = StreamSettings.defaults(2, Duration.ofHours(1));
    AtomicLong polls = new AtomicLong();
    List<Call> calls = new CopyOnWriteArrayList<>();
    try (EmbeddedKafka kafka = EmbeddedKafka.start();
        InMemorySchemaRegistry registryServer = new InMemorySchemaRegistry().start();
        ProtectionEngine engine = StreamFixtures.tinyEngine(data);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            kafka.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
      kafka.createTopics(settings.uploadsTopic() + ":" + PARTITIONS, settings.protectedTopic(),
          settings.deadLetterTopic(), ProtectionTopology.FAILURES_TOPIC);
      SchemaRegistryClient registry = new SchemaRegistryClient(registryServer.url());
      ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(registry);
      serializer.configure(Map.of(), false);
      Map<String, Integer> imageOf = new HashMap<>();
      Map<ProducerRecord<byte[], byte[]>, Future<?>> sent = new LinkedHashMap<>();
      for (int i = 0; i < PER_PARTITION; i++) { // the backlog waits before the instance starts
        for (int p = 0; p < PARTITIONS; p++) {
          String id = "p" + p + "-" + i;
          int image = (p * PER_PARTITION + i) % data.size();
          imageOf.put(id, image);
          ProducerRecord<byte[], byte[]> upload = new ProducerRecord<>(settings.uploadsTopic(), p,
              id.getBytes(StandardCharsets.UTF_8),
              serializer.serialize(settings.uploadsTopic(), StreamFixtures.pngUpload(data, image, id)));
          sent.put(upload, producer.send(upload));
        }
      }
      producer.flush();
      // Sends right after the topic's creation can fail under load (the in-process broker answered
      // OUT_OF_ORDER_SEQUENCE_NUMBER once): send those again, one by one, so the backlog is complete.
      for (var e : sent.entrySet()) {
        try {
          e.getValue().get();
        } catch (ExecutionException failed) {
          producer.send(e.getKey()).get();
        }
      }

      Properties config = ProtectionTopology.streamsConfig("sep-shield-partitions", kafka.bootstrapServers(),
          settings, settings.slowestBatch());
      config.put(StreamsConfig.STATE_DIR_CONFIG, dir.toString());
      // Polls that bring many records across partitions at once: several tasks fill their batch in one loop.
      config.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 500);
      StreamMetrics metrics = new StreamMetrics();
      ProtectionProcessor.EngineCall recorded = (e, batch) -> {
        calls.add(new Call(polls.get(), batch.ids()));
        return e.protect(batch);
      };
      // Counts the main consumer's polls independently of Kafka's metric that LoopTurns reads.
      DefaultKafkaClientSupplier counting = new DefaultKafkaClientSupplier() {
        @Override
        public Consumer<byte[], byte[]> getConsumer(Map<String, Object> c) {
          return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer()) {
            @Override
            public ConsumerRecords<byte[], byte[]> poll(Duration timeout) {
              polls.incrementAndGet();
              return super.poll(timeout);
            }
          };
        }
      };
      try (KafkaStreams streams = new KafkaStreams(ProtectionTopology.build(settings, BundleHolder.serving(engine),
          registry, metrics, new ClaimCheck(ClaimCheck.Settings.none()), recorded), config, counting);
          KafkaConsumer<String, ProtectedImage> reader = new KafkaConsumer<>(Map.of(
              ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(), ConsumerConfig.GROUP_ID_CONFIG,
              "partitions-reader", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
              ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new StringDeserializer(),
              new ConfluentAvroDeserializer<>(registry, ProtectedImage.class))) {
        streams.start();
        reader.subscribe(List.of(settings.protectedTopic()));
        Map<String, ProtectedImage> out = new HashMap<>();
        List<String> duplicates = new ArrayList<>();
        int total = PARTITIONS * PER_PARTITION;
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (out.size() < total && System.nanoTime() < deadline) {
          reader.poll(Duration.ofMillis(500)).forEach(r -> {
            if (out.put(r.key(), r.value()) != null) {
              duplicates.add(r.key());
            }
          });
        }
        reader.poll(Duration.ofSeconds(2)).forEach(r -> duplicates.add(r.key())); // would catch a late duplicate
        assertEquals(imageOf.keySet(), out.keySet(), "every upload protected");
        assertEquals(List.of(), duplicates, "once");
        for (ProtectedImage p : out.values()) {
          byte[] delivered = PngCodec.decode(toArray(p.getPng()), 1).pixels();
          int delta = EpsilonBall.maxAbsDelta(data.image(imageOf.get(p.getId())), delivered);
          assertTrue(delta > 0 && delta <= StreamFixtures.EPS255, p.getId() + ": " + delta);
        }

        assertEquals(total / 2, calls.size(), "full batches of 2: " + calls);
        for (int i = 1; i < calls.size(); i++) {
          assertTrue(calls.get(i).polls() > calls.get(i - 1).polls(), "a poll between any two batches: " + calls);
        }
        // Turns. A task can only craft what its polls brought, and the first polls may bring some partitions' data
        // before others', so early batches may come from one partition. Once every partition has crafted (all have
        // data waiting), the tasks take turns: a partition crafts twice in a row only when no other has work left.
        List<Integer> order = calls.stream().map(Call::partition).toList();
        int allStarted = 0;
        for (int p = 0; p < PARTITIONS; p++) {
          assertTrue(order.contains(p), "partition " + p + " crafted: " + order);
          allStarted = Math.max(allStarted, order.indexOf(p));
        }
        int batchesPerPartition = PER_PARTITION / 2;
        for (int i = allStarted + 1; i < order.size(); i++) {
          if (order.get(i).equals(order.get(i - 1))) {
            List<Integer> done = order.subList(0, i);
            for (int p = 0; p < PARTITIONS; p++) {
              int crafted = java.util.Collections.frequency(done, p);
              assertTrue(p == order.get(i) || crafted == batchesPerPartition,
                  "partition " + order.get(i) + " crafted twice in a row while partition " + p + " waited: " + order);
            }
          }
        }
        assertEquals(0, metrics.overflowCount());
      }
    }
  }

  private static byte[] toArray(java.nio.ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
