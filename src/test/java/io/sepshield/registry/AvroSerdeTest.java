package io.sepshield.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sepshield.avro.BundleUpdated;
import io.sepshield.avro.ProtectedImage;
import io.sepshield.avro.ProtectionFailure;
import io.sepshield.avro.UploadedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AvroSerdeTest {
  static final Instant T0 = Instant.ofEpochMilli(1_764_000_000_123L);

  private InMemorySchemaRegistry registry;
  private SchemaRegistryClient client;

  @BeforeEach
  void start() throws IOException {
    registry = new InMemorySchemaRegistry().start();
    client = new SchemaRegistryClient(registry.url());
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  static UploadedImage uploadedImage() {
    return UploadedImage.newBuilder()
        .setId("img-1")
        .setContentType("image/png")
        .setImage(ByteBuffer.wrap(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, -1}))
        .setLabel(3)
        .setUploader("alice")
        .setSource(null)
        .setMetadata(Map.of("camera", "x100", "licence", "CC-BY"))
        .setUploadedAt(T0)
        .build();
  }

  static List<SpecificRecord> oneOfEach() {
    return List.of(
        uploadedImage(),
        ProtectedImage.newBuilder()
            .setId("img-1").setPng(ByteBuffer.wrap(new byte[] {1, 2, 3})).setWidth(32).setHeight(32).setChannels(3)
            .setEpsilon255(8f).setMethod("SEP-FA-VR").setProfile("default").setBundleId("cifar10-resnet18-x5")
            .setTargetClass(7).setLabel(3).setLabelPredicted(true).setMaxAbsDelta255(8).setProcessingMillis(1234L)
            .setProtectedAt(T0)
            .build(),
        ProtectionFailure.newBuilder()
            .setId(null).setReason("DESERIALIZATION_ERROR").setCause("Unknown magic byte 1")
            .setTopic("uploads").setPartition(2).setOffset(42L).setFailedAt(T0)
            .build(),
        BundleUpdated.newBuilder()
            .setBundleId("b-2").setUri("file:///models/b-2.zip").setSha256("ab".repeat(32)).setArchitecture(null)
            .setCreatedAt(T0)
            .build());
  }

  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void everyGeneratedRecordRoundTrips() {
    for (SpecificRecord record : oneOfEach()) {
      AvroSerde serde = new AvroSerde<>(client, (Class) record.getClass());
      serde.configure(Map.of(), false);
      String topic = record.getSchema().getName().toLowerCase();

      byte[] bytes = serde.serializer().serialize(topic, record);

      int id = client.getId(topic + "-value", record.getSchema());
      assertArrayEquals(new byte[] {0, 0, 0, 0, (byte) id}, Arrays.copyOf(bytes, 5), "magic byte, big-endian id");
      Object back = serde.deserializer().deserialize(topic, bytes);
      assertEquals(record.getClass(), back.getClass());
      assertEquals(record, back);
    }
  }

  @Test
  void keysUseTheKeySubject() {
    AvroSerde<BundleUpdated> serde = new AvroSerde<>(client, BundleUpdated.class);
    serde.configure(Map.of(), true);
    BundleUpdated record = (BundleUpdated) oneOfEach().get(3);
    assertEquals(record, serde.deserializer().deserialize("bundles", serde.serializer().serialize("bundles", record)));
    assertEquals(1, client.latest("bundles-key").version());
  }

  @Test
  void readerKindFollowsSpecificAvroReader() {
    ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>();
    serializer.configure(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url()), false);
    byte[] bytes = serializer.serialize("uploads", uploadedImage());

    ConfluentAvroDeserializer<IndexedRecord> generic = new ConfluentAvroDeserializer<>();
    generic.configure(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url()), false);
    GenericRecord record = assertInstanceOf(GenericData.Record.class, generic.deserialize("uploads", bytes));
    assertEquals("img-1", record.get("id").toString());
    assertEquals(T0.toEpochMilli(), record.get("uploadedAt"), "generic records keep timestamps as long");

    ConfluentAvroDeserializer<IndexedRecord> specific = new ConfluentAvroDeserializer<>();
    specific.configure(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url(),
        AvroSerdeConfig.SPECIFIC_AVRO_READER, "true"), false);
    assertEquals(uploadedImage(), specific.deserialize("uploads", bytes));
  }

  @Test
  void readsDataWrittenWithOlderAndNewerSchemas() throws IOException {
    Schema current = UploadedImage.getClassSchema();
    Schema older = withoutFields(current, "source", "metadata");
    Schema newer = withField(current, "{\"name\": \"checksum\", \"type\": \"string\", \"default\": \"\"}");
    AvroSerde<UploadedImage> images = new AvroSerde<>(client, UploadedImage.class);
    images.configure(Map.of(), false);
    ConfluentAvroSerializer<GenericRecord> generic = new ConfluentAvroSerializer<>(client);
    generic.configure(Map.of(), false);

    GenericRecord old = new GenericData.Record(older);
    old.put("id", "old");
    old.put("contentType", "image/jpeg");
    old.put("image", ByteBuffer.wrap(new byte[] {9}));
    old.put("uploadedAt", T0.toEpochMilli());
    UploadedImage fromOld = images.deserializer().deserialize("uploads", generic.serialize("uploads", old));
    assertEquals("old", fromOld.getId());
    assertNull(fromOld.getSource());
    assertEquals(Map.of(), fromOld.getMetadata(), "default {} of the field added since");
    assertEquals(T0, fromOld.getUploadedAt());

    GenericRecord asCurrent = new ConfluentAvroDeserializer<GenericRecord>(client, null)
        .deserialize("uploads", images.serializer().serialize("uploads", uploadedImage()));
    GenericRecord next = new GenericData.Record(newer);
    current.getFields().forEach(f -> next.put(f.name(), asCurrent.get(f.name())));
    next.put("checksum", "c0ffee");
    assertEquals(uploadedImage(), images.deserializer().deserialize("uploads", generic.serialize("uploads", next)));
    assertEquals(3, client.latest("uploads-value").version());
  }

  @Test
  void rejectsDataThatIsNotConfluentAvro() {
    ConfluentAvroDeserializer<UploadedImage> deserializer = new ConfluentAvroDeserializer<>(client, UploadedImage.class);
    assertNull(deserializer.deserialize("uploads", null));

    String badMagic = assertThrows(SerializationException.class,
        () -> deserializer.deserialize("uploads", new byte[] {1, 0, 0, 0, 1, 2})).getMessage();
    assertTrue(badMagic.contains("Unknown magic byte 1"), badMagic);
    String tooShort = assertThrows(SerializationException.class,
        () -> deserializer.deserialize("uploads", new byte[] {0, 0, 1})).getMessage();
    assertTrue(tooShort.contains("shorter than the 5-byte header"), tooShort);
    String unknownId = assertThrows(SerializationException.class,
        () -> deserializer.deserialize("uploads", new byte[] {0, 0, 6, 0x79, 0x2a, 2})).getMessage();
    assertTrue(unknownId.contains("Unknown schema id 424234"), unknownId);

    // Valid framing, wrong record type: Avro resolution refuses it.
    AvroSerde<BundleUpdated> bundles = new AvroSerde<>(client, BundleUpdated.class);
    byte[] bundle = bundles.serializer().serialize("uploads-bad", (BundleUpdated) oneOfEach().get(3));
    SerializationException wrongType =
        assertThrows(SerializationException.class, () -> deserializer.deserialize("uploads", bundle));
    assertTrue(wrongType.getMessage().contains("Cannot read Avro data with schema id"), wrongType.getMessage());
    // Truncated body.
    assertThrows(SerializationException.class,
        () -> deserializer.deserialize("uploads", Arrays.copyOf(bundle, bundle.length - 3)));
  }

  @Test
  void registryOutageIsDistinguishableFromBadData() throws IOException {
    var deserializer = new ConfluentAvroDeserializer<>(
        new SchemaRegistryClient("http://127.0.0.1:" + SchemaRegistryClientTest.freePort(),
            SchemaRegistryClient.Settings.DEFAULT.withRetry(RetryPolicy.NONE)), UploadedImage.class);
    SerializationException e =
        assertThrows(SerializationException.class, () -> deserializer.deserialize("t", new byte[] {0, 0, 0, 0, 1}));
    assertTrue(assertInstanceOf(SchemaRegistryException.class, e.getCause()).isUnreachable());
  }

  @Test
  void withoutAutoRegistrationTheSchemaMustExist() {
    ConfluentAvroSerializer<UploadedImage> serializer = new ConfluentAvroSerializer<>(client);
    serializer.configure(Map.of(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, false), false);

    SerializationException e =
        assertThrows(SerializationException.class, () -> serializer.serialize("uploads", uploadedImage()));
    assertEquals(SchemaRegistryException.SUBJECT_NOT_FOUND,
        assertInstanceOf(SchemaRegistryException.class, e.getCause()).errorCode());

    int id = client.register("uploads-value", UploadedImage.getClassSchema());
    assertEquals(id, serializer.serialize("uploads", uploadedImage())[4]);
  }

  @Test
  void useLatestVersionWritesWithTheLatestSchema() {
    client.register("evo-value", SchemaRegistryClientTest.V1);
    int latestId = client.register("evo-value", SchemaRegistryClientTest.V2_OPTIONAL_FIELD);
    ConfluentAvroSerializer<GenericRecord> serializer = new ConfluentAvroSerializer<>(client);
    serializer.configure(Map.of(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, "false",
        AvroSerdeConfig.USE_LATEST_VERSION, "true"), false);
    GenericRecord v1 = new GenericData.Record(SchemaRegistryClientTest.V1);
    v1.put("a", "x");

    byte[] bytes = serializer.serialize("evo", v1);

    assertEquals(latestId, bytes[4]);
    GenericRecord read = new ConfluentAvroDeserializer<GenericRecord>(client, null).deserialize("evo", bytes);
    assertEquals(SchemaRegistryClientTest.V2_OPTIONAL_FIELD, read.getSchema());
    assertEquals(7, read.get("b"));
    assertEquals(2, client.latest("evo-value").version(), "nothing registered");
  }

  @Test
  void incompatibleAutoRegistrationFailsSerialization() {
    client.register("evo-value", SchemaRegistryClientTest.V1);
    ConfluentAvroSerializer<GenericRecord> serializer = new ConfluentAvroSerializer<>(client);
    serializer.configure(Map.of(), false);
    GenericRecord record = new GenericData.Record(SchemaRegistryClientTest.V2_REQUIRED_FIELD);
    record.put("a", "x");
    record.put("b", 1);

    SerializationException e = assertThrows(SerializationException.class, () -> serializer.serialize("evo", record));
    assertEquals(409, assertInstanceOf(SchemaRegistryException.class, e.getCause()).errorCode());
  }

  @Test
  void configuredFromKafkaPropertiesWithBasicAuth() throws IOException {
    try (InMemorySchemaRegistry secured = new InMemorySchemaRegistry(0, "svc:pw").start()) {
      Map<String, Object> props = Map.of(
          AvroSerdeConfig.SCHEMA_REGISTRY_URL, secured.url(),
          AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO",
          AvroSerdeConfig.BASIC_AUTH_USER_INFO, "svc:pw");
      AvroSerde<UploadedImage> serde = new AvroSerde<>(UploadedImage.class);
      serde.configure(props, false);
      assertEquals(uploadedImage(),
          serde.deserializer().deserialize("uploads", serde.serializer().serialize("uploads", uploadedImage())));

      AvroSerde<UploadedImage> anonymous = new AvroSerde<>(UploadedImage.class);
      anonymous.configure(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, secured.url()), false);
      SerializationException e = assertThrows(SerializationException.class,
          () -> anonymous.serializer().serialize("uploads", uploadedImage()));
      assertEquals(401, assertInstanceOf(SchemaRegistryException.class, e.getCause()).status());
    }
  }

  private static Schema withoutFields(Schema schema, String... names) throws IOException {
    ObjectNode json = (ObjectNode) new ObjectMapper().readTree(schema.toString());
    ArrayNode fields = (ArrayNode) json.get("fields");
    for (int i = fields.size() - 1; i >= 0; i--) {
      if (List.of(names).contains(fields.get(i).get("name").asText())) {
        fields.remove(i);
      }
    }
    return new Schema.Parser().parse(json.toString());
  }

  private static Schema withField(Schema schema, String field) throws IOException {
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode json = (ObjectNode) mapper.readTree(schema.toString());
    ((ArrayNode) json.get("fields")).add(mapper.readTree(field));
    return new Schema.Parser().parse(json.toString());
  }
}
