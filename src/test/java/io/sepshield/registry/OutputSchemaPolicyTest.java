package io.sepshield.registry;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * auto.register.schemas and use.latest.version for the service's output, set once on the shared client (as the
 * service does) and honoured by serializers that are configured without them, with Confluent's semantics.
 */
class OutputSchemaPolicyTest {
  private static final Schema OURS = SchemaRegistryClientTest.V1;

  private InMemorySchemaRegistry registry;
  private SchemaRegistryClient admin;

  @BeforeEach
  void start() throws IOException {
    registry = new InMemorySchemaRegistry().start();
    admin = new SchemaRegistryClient(registry.url());
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  private ConfluentAvroSerializer<GenericRecord> serializer(Map<String, Object> clientConfig) {
    Map<String, Object> config = new java.util.HashMap<>(clientConfig);
    config.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url());
    ConfluentAvroSerializer<GenericRecord> s = new ConfluentAvroSerializer<>(SchemaRegistryClient.fromConfig(config));
    s.configure(Map.of(), false); // what the processor does: nothing of its own
    return s;
  }

  private static GenericRecord record() {
    GenericRecord r = new GenericData.Record(OURS);
    r.put("a", "x");
    return r;
  }

  @Test
  void autoRegistrationIsTheDefault() {
    ConfluentAvroSerializer<GenericRecord> s = serializer(Map.of());
    int id = s.prepare("out", OURS);
    assertEquals(id, admin.latest("out-value").id(), "registered by the service");
  }

  @Test
  void withoutAutoRegistrationAnUnregisteredSchemaFailsClearlyAtStart() {
    ConfluentAvroSerializer<GenericRecord> s = serializer(Map.of(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, "false"));
    SerializationException e = assertThrows(SerializationException.class, () -> s.prepare("out", OURS));
    assertTrue(e.getMessage().contains("is not registered under subject out-value and auto.register.schemas=false"),
        e.getMessage());
    assertFalse(SchemaRegistryException.retriableCause(e), "a deployment error, not an outage");
    assertThrows(SchemaRegistryException.class, () -> admin.latest("out-value"), "nothing was registered");

    int id = admin.register("out-value", OURS); // the platform team registers it
    assertEquals(id, s.prepare("out", OURS));
    assertEquals(id, java.nio.ByteBuffer.wrap(s.serialize("out", record())).getInt(1));
  }

  @Test
  void useLatestVersionWritesWithTheLatestCompatibleSchema() {
    admin.register("out-value", OURS);
    int latest = admin.register("out-value", SchemaRegistryClientTest.V2_OPTIONAL_FIELD);
    ConfluentAvroSerializer<GenericRecord> s = serializer(Map.of(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, false,
        AvroSerdeConfig.USE_LATEST_VERSION, true));
    assertEquals(latest, s.prepare("out", OURS));
    byte[] bytes = s.serialize("out", record());
    GenericRecord read = new ConfluentAvroDeserializer<GenericRecord>(admin, null).deserialize("out", bytes);
    assertEquals(7, read.get("b"), "written with the latest schema, default filled in");
    assertEquals(2, admin.latest("out-value").version(), "nothing registered");
  }

  @Test
  void anIncompatibleLatestSchemaIsRefusedOnceWithTheReason() {
    admin.updateCompatibility("out-value", CompatibilityLevel.NONE);
    admin.register("out-value", SchemaRegistryClientTest.V2_REQUIRED_FIELD); // needs b, which we do not write
    ConfluentAvroSerializer<GenericRecord> s = serializer(Map.of(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, false,
        AvroSerdeConfig.USE_LATEST_VERSION, true));
    SerializationException e = assertThrows(SerializationException.class, () -> s.prepare("out", OURS));
    assertTrue(e.getMessage().contains("cannot read io.sepshield.test.Evo records"), e.getMessage());
    assertTrue(e.getMessage().contains("READER_FIELD_MISSING_DEFAULT_VALUE"), e.getMessage());
    assertFalse(SchemaRegistryException.retriableCause(e));
  }

  @Test
  void aSerializerSettingWinsOverTheClientDefault() {
    ConfluentAvroSerializer<GenericRecord> s = new ConfluentAvroSerializer<>(SchemaRegistryClient.fromConfig(Map.of(
        AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url(), AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, "false")));
    s.configure(Map.of(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, true), false);
    assertEquals(admin.getById(s.prepare("out", OURS)), OURS);
  }
}
