package io.sepshield.registry;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
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
 * schema, which must already be registered. These are Confluent's semantics; a locked-down registry (no
 * auto-registration) works with either of the last two. A serializer built on a shared client and configured
 * without these keys takes them from the client's {@link SchemaRegistryClient.Settings#serializerDefaults()}, so
 * a service configures its registry once.
 *
 * <p>Failures are {@link SerializationException}s whose cause is the {@link SchemaRegistryException}: a retriable
 * one (registry down, 5xx, 401/403, 429) means "try again later", anything else is a configuration problem (schema
 * not registered, latest schema incompatible) that retrying will not fix.
 */
public class ConfluentAvroSerializer<T extends IndexedRecord> implements Serializer<T> {
  private SchemaRegistryClient client;
  private boolean isKey;
  private boolean autoRegister = true;
  private boolean useLatestVersion;
  private boolean latestCompatibilityStrict = true;
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
    if (client == null) {
      client = SchemaRegistryClient.fromConfig(configs);
    }
    Map<String, Object> defaults = client.settings().serializerDefaults();
    this.autoRegister = AvroSerdeConfig.bool(configs, AvroSerdeConfig.AUTO_REGISTER_SCHEMAS,
        AvroSerdeConfig.bool(defaults, AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, true));
    this.useLatestVersion = AvroSerdeConfig.bool(configs, AvroSerdeConfig.USE_LATEST_VERSION,
        AvroSerdeConfig.bool(defaults, AvroSerdeConfig.USE_LATEST_VERSION, false));
    this.latestCompatibilityStrict = AvroSerdeConfig.bool(configs, AvroSerdeConfig.LATEST_COMPATIBILITY_STRICT,
        AvroSerdeConfig.bool(defaults, AvroSerdeConfig.LATEST_COMPATIBILITY_STRICT, true));
  }

  /**
   * Resolves the schema id that {@link #serialize} will write for records of {@code schema} on {@code topic}, doing
   * the registration, lookup or compatibility check now: a service calls it at start so that a locked-down registry
   * without the schema fails the start with a clear message instead of the first record.
   */
  public int prepare(String topic, Schema schema) {
    try {
      return resolve(AvroSerdeConfig.subject(topic, isKey), schema).id();
    } catch (SchemaRegistryException e) {
      throw failure(AvroSerdeConfig.subject(topic, isKey), e);
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
      Target target = resolve(subject, schema);
      id = target.id();
      if (!target.schema().equals(schema)) {
        datum = convert(record, target.schema());
        schema = target.schema();
      }
    } catch (SchemaRegistryException e) {
      throw failure(subject, e);
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

  /** The id and schema to write with. */
  private record Target(int id, Schema schema) {}

  private Target resolve(String subject, Schema schema) {
    if (autoRegister) {
      return new Target(client.register(subject, schema), schema);
    }
    if (useLatestVersion) {
      RegisteredSchema latest = latestBySubject.get(subject);
      if (latest == null) {
        latest = client.latest(subject);
        if (latestCompatibilityStrict && !latest.schema().equals(schema)) {
          var result = SchemaCompatibility.checkReaderWriterCompatibility(latest.schema(), schema).getResult();
          if (result.getCompatibility() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
            throw new SchemaRegistryException(200, SchemaRegistryException.INCOMPATIBLE_SCHEMA, "the latest schema of "
                + subject + " (version " + latest.version() + ", id " + latest.id() + ") cannot read "
                + schema.getFullName() + " records: " + result.getIncompatibilities()
                + " (use.latest.version=true, latest.compatibility.strict=true)");
          }
        }
        latestBySubject.put(subject, latest);
      }
      return new Target(latest.id(), latest.schema());
    }
    try {
      return new Target(client.getId(subject, schema), schema);
    } catch (SchemaRegistryException e) {
      if (e.isRetriable() || e.status() != 404) {
        throw e;
      }
      throw new SchemaRegistryException(e.status(), e.errorCode(), "schema " + schema.getFullName()
          + " is not registered under subject " + subject + " and auto.register.schemas=false: register it (or set "
          + "use.latest.version=true to write with the latest registered version); registry said: " + e.getMessage(),
          e, false, null);
    }
  }

  private static SerializationException failure(String subject, SchemaRegistryException e) {
    return new SerializationException("Cannot get a schema id for subject " + subject + ": " + e.getMessage(), e);
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
