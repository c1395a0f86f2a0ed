package io.sepshield.registry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Writes Avro records (generated SpecificRecord classes or GenericRecord) in Confluent's wire
 * format, byte-compatible with Confluent's KafkaAvroSerializer. Subjects follow TopicNameStrategy.
 *
 * <p>Which schema id goes on the wire: with {@code auto.register.schemas} (default) the record's own
 * schema, registered on first use; otherwise with {@code use.latest.version} the subject's latest
 * schema, the record being converted to it by Avro schema resolution; otherwise the record's own
 * schema, which must already be registered.
 */
public class ConfluentAvroSerializer<T extends IndexedRecord> implements Serializer<T> {
  private SchemaRegistryClient client;
  private boolean isKey;
  private boolean autoRegister = true;
  private boolean useLatestVersion;
  private final Map<WriterKey, DatumWriter<Object>> writers = new ConcurrentHashMap<>();
  // Cached for the serializer's lifetime, as Confluent does by default (latest.cache.ttl.sec=-1).
  private final Map<String, RegisteredSchema> latestBySubject = new ConcurrentHashMap<>();

  private record WriterKey(Schema schema, Class<?> type) {}

  /** For Kafka's reflective instantiation; {@link #configure} creates the registry client. */
  public ConfluentAvroSerializer() {}

  /** Uses a shared client; {@code schema.registry.url} need not be configured. */
  public ConfluentAvroSerializer(SchemaRegistryClient client) {
    this.client = client;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    this.isKey = isKey;
    this.autoRegister = AvroSerdeConfig.bool(configs, AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, true);
    this.useLatestVersion = AvroSerdeConfig.bool(configs, AvroSerdeConfig.USE_LATEST_VERSION, false);
    if (client == null) {
      client = SchemaRegistryClient.fromConfig(configs);
    }
  }

  @Override
  public byte[] serialize(String topic, T record) {
    if (record == null) {
      return null; // tombstone
    }
    if (client == null) {
      throw new IllegalStateException("Serializer not configured: call configure() or pass a client");
    }
    String subject = AvroSerdeConfig.subject(topic, isKey);
    Schema schema = record.getSchema();
    Object datum = record;
    int id;
    try {
      if (autoRegister) {
        id = client.register(subject, schema);
      } else if (useLatestVersion) {
        RegisteredSchema latest = latestBySubject.get(subject);
        if (latest == null) {
          latest = client.latest(subject);
          latestBySubject.put(subject, latest);
        }
        id = latest.id();
        if (!latest.schema().equals(schema)) {
          datum = convert(record, latest.schema());
          schema = latest.schema();
        }
      } else {
        id = client.getId(subject, schema);
      }
    } catch (SchemaRegistryException e) {
      throw new SerializationException("Cannot get a schema id for subject " + subject + ": " + e.getMessage(), e);
    }
    try {
      ByteArrayOutputStream out = new ByteArrayOutputStream(256);
      WireFormat.writeHeader(out, id);
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(out, null);
      writer(schema, datum).write(datum, encoder);
      encoder.flush();
      return out.toByteArray();
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("Cannot serialize " + schema.getFullName() + " for topic " + topic, e);
    }
  }

  private DatumWriter<Object> writer(Schema schema, Object datum) {
    return writers.computeIfAbsent(new WriterKey(schema, datum.getClass()), key -> datum instanceof SpecificRecord
        // The generated class's own model carries its logical-type conversions (Instant etc.).
        ? new SpecificDatumWriter<>(schema, SpecificData.getForClass(key.type()))
        : new GenericDatumWriter<>(schema, GenericData.get()));
  }

  /** Re-expresses a record in the subject's latest schema; fails if that schema cannot read it. */
  private Object convert(T record, Schema target) {
    try {
      ByteArrayOutputStream buffer = new ByteArrayOutputStream();
      BinaryEncoder encoder = EncoderFactory.get().directBinaryEncoder(buffer, null);
      writer(record.getSchema(), record).write(record, encoder);
      encoder.flush();
      return new GenericDatumReader<>(record.getSchema(), target, GenericData.get())
          .read(null, DecoderFactory.get().binaryDecoder(buffer.toByteArray(), null));
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("Latest schema " + target.getFullName()
          + " cannot represent a record written with " + record.getSchema(), e);
    }
  }
}
