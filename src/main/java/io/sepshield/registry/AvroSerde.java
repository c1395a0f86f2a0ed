package io.sepshield.registry;

import java.util.Map;
import org.apache.avro.generic.IndexedRecord;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Kafka Streams serde pairing {@link ConfluentAvroSerializer} and {@link ConfluentAvroDeserializer}.
 * Typical use: {@code new AvroSerde<>(client, UploadedImage.class)} then {@code configure(props, false)}.
 */
public class AvroSerde<T extends IndexedRecord> implements Serde<T> {
  private final ConfluentAvroSerializer<T> serializer;
  private final ConfluentAvroDeserializer<T> deserializer;

  /** Generic (or, with specific.avro.reader, specific) records; client built from the configuration. */
  public AvroSerde() {
    this(null, null);
  }

  /** Records of one generated class; client built from the configuration. */
  public AvroSerde(Class<T> type) {
    this(null, type);
  }

  /**
   * @param client shared client, or null to build one from the configuration
   * @param type generated class to read into, or null for generic records / specific.avro.reader
   */
  public AvroSerde(SchemaRegistryClient client, Class<T> type) {
    this.serializer = client == null ? new ConfluentAvroSerializer<>() : new ConfluentAvroSerializer<>(client);
    this.deserializer = new ConfluentAvroDeserializer<>(client, type);
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    serializer.configure(configs, isKey);
    deserializer.configure(configs, isKey);
  }

  @Override
  public Serializer<T> serializer() {
    return serializer;
  }

  @Override
  public Deserializer<T> deserializer() {
    return deserializer;
  }

  @Override
  public void close() {
    serializer.close();
    deserializer.close();
  }
}
