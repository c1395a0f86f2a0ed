package io.sepshield.registry;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads Confluent wire-format Avro: looks the writer schema up by the id in the header and resolves
 * it against the reader schema, so that records written with older (or newer) compatible schemas
 * are read fine.
 *
 * <p>The reader schema is, in order: the generated class given to the constructor; with {@code
 * specific.avro.reader=true}, the generated class named like the writer schema; otherwise the
 * writer schema itself, giving GenericRecords. Data that is not in the wire format or carries an
 * unknown schema id fails with a {@link SerializationException} whose message says so; when the
 * registry gave no definitive answer (unreachable, 5xx, 401/403, 408, 429: see {@link
 * SchemaRegistryException#isRetriable()}) the cause is a retriable {@link SchemaRegistryException}, so a handler
 * can tell outages from bad data with {@link SchemaRegistryException#retriableCause(Throwable)}.
 */
public class ConfluentAvroDeserializer<T extends IndexedRecord> implements Deserializer<T> {
  private SchemaRegistryClient client;
  private final Class<T> type;
  private boolean specificReader;
  private final Map<Integer, DatumReader<T>> readers = new ConcurrentHashMap<>();

  /** For Kafka's reflective instantiation; {@link #configure} creates the registry client. */
  public ConfluentAvroDeserializer() {
    this(null, null);
  }

  /** Always reads into {@code type}; the registry client comes from {@link #configure}. */
  public ConfluentAvroDeserializer(Class<T> type) {
    this(null, type);
  }

  /**
   * @param client shared client, or null to create one in {@link #configure}
   * @param type generated class to read into, or null to decide by {@code specific.avro.reader}
   */
  public ConfluentAvroDeserializer(SchemaRegistryClient client, Class<T> type) {
    this.client = client;
    this.type = type;
    this.specificReader = type != null;
  }

  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {
    if (type == null) {
      specificReader = AvroSerdeConfig.bool(configs, AvroSerdeConfig.SPECIFIC_AVRO_READER, false);
    }
    if (client == null) {
      client = SchemaRegistryClient.fromConfig(configs);
    }
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    if (data == null) {
      return null; // tombstone
    }
    if (client == null) {
      throw new IllegalStateException("Deserializer not configured: call configure() or pass a client");
    }
    int id = WireFormat.schemaId(data);
    DatumReader<T> reader = readers.get(id);
    if (reader == null) {
      // Not computeIfAbsent: that would hold a map lock during the registry call.
      reader = newReader(id);
      readers.put(id, reader);
    }
    try {
      // Lengths and counts checked first: Avro allocates a declared length before reading it.
      AvroBounds.check(((GenericDatumReader<T>) reader).getSchema(), data, WireFormat.HEADER_SIZE);
      return reader.read(null, DecoderFactory.get()
          .binaryDecoder(data, WireFormat.HEADER_SIZE, data.length - WireFormat.HEADER_SIZE, null));
    } catch (Exception e) {
      throw new SerializationException("Cannot read Avro data with schema id " + id + " from topic " + topic + ": "
          + e.getMessage(), e);
    }
  }

  private DatumReader<T> newReader(int id) {
    Schema writer;
    try {
      writer = client.getById(id);
    } catch (SchemaRegistryException e) {
      String what = e.isRetriable() ? "Cannot fetch schema id " + id + " now (retriable): " + e.getMessage()
          : e.errorCode() == SchemaRegistryException.SCHEMA_NOT_FOUND
              ? "Unknown schema id " + id + ": not in the schema registry (" + e.getMessage() + ")"
              : "Cannot use schema id " + id + ": " + e.getMessage();
      throw new SerializationException(what, e);
    }
    if (!specificReader) {
      return new GenericDatumReader<>(writer, writer, GenericData.get());
    }
    Class<?> target = type != null ? type : specificClass(writer);
    // The generated class's own model carries its logical-type conversions (Instant etc.).
    SpecificData model = SpecificData.getForClass(target);
    return new SpecificDatumReader<>(writer, model.getSchema(target), model);
  }

  private static Class<?> specificClass(Schema writer) {
    ClassLoader loader = Thread.currentThread().getContextClassLoader();
    Class<?> found = new SpecificData(loader != null ? loader : ConfluentAvroDeserializer.class.getClassLoader())
        .getClass(writer);
    if (found == null || !IndexedRecord.class.isAssignableFrom(found)) {
      throw new SerializationException("specific.avro.reader is set but no generated class "
          + writer.getFullName() + " is on the classpath");
    }
    return found;
  }
}
