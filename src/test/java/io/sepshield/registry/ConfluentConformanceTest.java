package io.sepshield.registry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sepshield.avro.UploadedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.avro.AvroSchema;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.CachedSchemaRegistryClient;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.SchemaMetadata;
import org.apache.flink.avro.registry.confluent.shaded.io.confluent.kafka.schemaregistry.client.rest.exceptions.RestClientException;
import org.apache.flink.avro.shaded.org.apache.avro.Schema;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericData;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumReader;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericDatumWriter;
import org.apache.flink.avro.shaded.org.apache.avro.generic.GenericRecord;
import org.apache.flink.avro.shaded.org.apache.avro.io.BinaryEncoder;
import org.apache.flink.avro.shaded.org.apache.avro.io.DecoderFactory;
import org.apache.flink.avro.shaded.org.apache.avro.io.EncoderFactory;
import org.apache.flink.formats.avro.registry.confluent.ConfluentSchemaRegistryCoder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Conformance against genuine Confluent code: io.confluent:kafka-schema-registry-client 7.5.3 as
 * relocated inside org.apache.flink:flink-sql-avro-confluent-registry (with Avro relocated too, hence
 * the org.apache.flink.avro.shaded.org.apache.avro types here).
 *
 * <p>That jar does not contain io.confluent:kafka-avro-serializer, so there is no KafkaAvroSerializer
 * or KafkaAvroDeserializer to test against. For the wire format we use what the jar does have:
 * Flink's ConfluentSchemaRegistryCoder (the magic byte and schema id, resolved through the genuine
 * client) plus the bundled Avro's binary codec, i.e. what Flink uses to talk to Confluent topics.
 */
class ConfluentConformanceTest {
  private static final String SUBJECT = "uploads-value";

  private InMemorySchemaRegistry registry;
  private SchemaRegistryClient ours;

  @BeforeEach
  void start() throws IOException {
    registry = new InMemorySchemaRegistry().start();
    ours = new SchemaRegistryClient(registry.url());
  }

  @AfterEach
  void stop() {
    registry.close();
  }

  private CachedSchemaRegistryClient genuine() {
    return new CachedSchemaRegistryClient(registry.url(), 100);
  }

  private static AvroSchema genuineSchema(org.apache.avro.Schema schema) {
    return new AvroSchema(schema.toString());
  }

  @Test
  void genuineClientRegistersAndFetchesFromOurServer() throws Exception {
    org.apache.avro.Schema current = UploadedImage.getClassSchema();
    int id = genuine().register(SUBJECT, genuineSchema(current));
    assertEquals(id, ours.register(SUBJECT, current), "same schema, same id, whoever registers it");
    assertEquals(id, ours.register("other-value", current));

    // A new client each time so that nothing is answered from the genuine client's caches.
    assertEquals(current.toString(), genuine().getSchemaById(id).canonicalString());
    SchemaMetadata latest = genuine().getLatestSchemaMetadata(SUBJECT);
    assertEquals(List.of(id, 1, current.toString()), List.of(latest.getId(), latest.getVersion(), latest.getSchema()));
    assertEquals(id, genuine().getId(SUBJECT, genuineSchema(current)));
    assertEquals(1, genuine().getVersion(SUBJECT, genuineSchema(current)));
    assertEquals(List.of("other-value", SUBJECT), List.copyOf(genuine().getAllSubjects()));
    assertEquals(List.of(1), genuine().getAllVersions(SUBJECT));
  }

  @Test
  void genuineClientSeesOurCompatibilityRulesAndErrorCodes() throws Exception {
    org.apache.avro.Schema v1 = SchemaRegistryClientTest.V1;
    ours.register(SUBJECT, v1);
    CachedSchemaRegistryClient genuine = genuine();

    assertTrue(genuine.testCompatibility(SUBJECT, genuineSchema(SchemaRegistryClientTest.V2_OPTIONAL_FIELD)));
    assertFalse(genuine.testCompatibility(SUBJECT, genuineSchema(SchemaRegistryClientTest.V2_REQUIRED_FIELD)));
    RestClientException incompatible = assertThrows(RestClientException.class,
        () -> genuine.register(SUBJECT, genuineSchema(SchemaRegistryClientTest.V2_REQUIRED_FIELD)));
    assertEquals(List.of(409, 409), List.of(incompatible.getStatus(), incompatible.getErrorCode()));

    RestClientException missing =
        assertThrows(RestClientException.class, () -> genuine.getLatestSchemaMetadata("nope-value"));
    assertEquals(List.of(404, 40401), List.of(missing.getStatus(), missing.getErrorCode()));
    assertEquals(40403,
        assertThrows(RestClientException.class, () -> genuine.getSchemaById(9999)).getErrorCode());

    assertEquals("BACKWARD", genuine.getCompatibility(null));
    assertEquals("NONE", genuine.updateCompatibility(SUBJECT, "NONE"));
    assertEquals("NONE", genuine.getCompatibility(SUBJECT));
    int id2 = genuine.register(SUBJECT, genuineSchema(SchemaRegistryClientTest.V2_REQUIRED_FIELD));
    assertEquals(new RegisteredSchema(SUBJECT, 2, id2, SchemaRegistryClientTest.V2_REQUIRED_FIELD), ours.latest(SUBJECT));
  }

  @Test
  void genuineClientBasicAuthWorksWithOurServer() throws Exception {
    try (InMemorySchemaRegistry secured = new InMemorySchemaRegistry(0, "alice:secret").start()) {
      AvroSchema schema = genuineSchema(SchemaRegistryClientTest.V1);

      RestClientException anonymous = assertThrows(RestClientException.class,
          () -> new CachedSchemaRegistryClient(secured.url(), 10).register(SUBJECT, schema));
      assertEquals(401, anonymous.getStatus());

      int id = new CachedSchemaRegistryClient(secured.url(), 10, Map.of(
              "basic.auth.credentials.source", "USER_INFO",
              "basic.auth.user.info", "alice:secret"))
          .register(SUBJECT, schema);
      int viaUrl = new CachedSchemaRegistryClient(secured.url().replace("http://", "http://alice:secret@"), 10,
              Map.of("basic.auth.credentials.source", "URL"))
          .getLatestSchemaMetadata(SUBJECT).getId();
      assertEquals(id, viaUrl);
    }
  }

  @Test
  void bytesFromTheGenuineSideAreReadByOurDeserializer() throws IOException {
    UploadedImage image = AvroSerdeTest.uploadedImage();
    byte[] theirs = writeTheirWay(image);

    AvroSerde<UploadedImage> serde = new AvroSerde<>(ours, UploadedImage.class);
    assertEquals(image, serde.deserializer().deserialize("uploads", theirs));
    // Same schema id and byte-for-byte the same encoding.
    assertArrayEquals(theirs, serde.serializer().serialize("uploads", image));
  }

  @Test
  void bytesFromOurSerializerAreReadByTheGenuineSide() throws IOException {
    UploadedImage image = AvroSerdeTest.uploadedImage();
    byte[] bytes = new AvroSerde<>(ours, UploadedImage.class).serializer().serialize("uploads", image);

    ByteArrayInputStream in = new ByteArrayInputStream(bytes);
    Schema writer = new ConfluentSchemaRegistryCoder(SUBJECT, genuine()).readSchema(in);
    GenericRecord read = new GenericDatumReader<GenericRecord>(writer).read(null, DecoderFactory.get().binaryDecoder(in, null));

    assertEquals(UploadedImage.getClassSchema().toString(), writer.toString());
    assertEquals("img-1", read.get("id"));
    assertEquals("image/png", read.get("contentType"));
    assertEquals(image.getImage(), read.get("image"));
    assertEquals(3, read.get("label"));
    assertEquals("alice", read.get("uploader"));
    assertNull(read.get("source"));
    assertEquals(image.getMetadata(), read.get("metadata"));
    assertEquals(AvroSerdeTest.T0.toEpochMilli(), read.get("uploadedAt"));
  }

  /** Frames and encodes the record with Flink's coder, the genuine client and the bundled Avro. */
  private byte[] writeTheirWay(UploadedImage image) throws IOException {
    Schema schema = new Schema.Parser().parse(UploadedImage.getClassSchema().toString());
    GenericRecord record = new GenericData.Record(schema);
    record.put("id", image.getId());
    record.put("contentType", image.getContentType());
    record.put("image", ByteBuffer.wrap(image.getImage().array()));
    record.put("label", image.getLabel());
    record.put("uploader", image.getUploader());
    record.put("source", image.getSource());
    record.put("metadata", image.getMetadata());
    record.put("uploadedAt", image.getUploadedAt().toEpochMilli());

    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new ConfluentSchemaRegistryCoder(SUBJECT, genuine()).writeSchema(schema, out);
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new GenericDatumWriter<GenericRecord>(schema).write(record, encoder);
    encoder.flush();
    return out.toByteArray();
  }
}
