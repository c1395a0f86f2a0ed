package io.sepshield.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Our REST client against our in-memory registry, plus the raw HTTP contract of the server. */
class SchemaRegistryClientTest {
  static final Schema V1 = record("{\"name\": \"a\", \"type\": \"string\"}");
  static final Schema V2_OPTIONAL_FIELD =
      record("{\"name\": \"a\", \"type\": \"string\"}, {\"name\": \"b\", \"type\": \"int\", \"default\": 7}");
  static final Schema V2_REQUIRED_FIELD =
      record("{\"name\": \"a\", \"type\": \"string\"}, {\"name\": \"b\", \"type\": \"int\"}");

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

  /** A record io.sepshield.test.Evo with the given fields. */
  static Schema record(String fields) {
    return new Schema.Parser().parse(
        "{\"type\": \"record\", \"name\": \"Evo\", \"namespace\": \"io.sepshield.test\", \"fields\": [" + fields + "]}");
  }

  @Test
  void registrationIsIdempotentAndIdsAreGlobal() {
    int id = client.register("s1-value", V1);
    // A fresh client has no cache, so this really asks the server.
    SchemaRegistryClient other = new SchemaRegistryClient(registry.url());
    // Formatting differs, content does not.
    Schema reformatted = new Schema.Parser().parse(V1.toString().replace(",", " ,\n  "));
    assertEquals(id, other.register("s1-value", reformatted));
    assertEquals(List.of(1), List.of(other.latest("s1-value").version()));
    assertEquals(id, other.register("s2-value", V1), "same schema, other subject: same id");
    int id2 = other.register("s1-value", V2_OPTIONAL_FIELD);
    assertNotEquals(id, id2);

    RegisteredSchema latest = other.latest("s1-value");
    assertEquals(new RegisteredSchema("s1-value", 2, id2, V2_OPTIONAL_FIELD), latest);
    assertEquals(V1, other.getById(id));
    assertEquals(new RegisteredSchema("s1-value", 1, id, V1), other.lookup("s1-value", V1));
    assertEquals(id2, other.getId("s1-value", V2_OPTIONAL_FIELD));
  }

  @Test
  void errorsCarryConfluentErrorCodes() {
    SchemaRegistryException noSubject = assertThrows(SchemaRegistryException.class, () -> client.latest("nope"));
    assertEquals(404, noSubject.status());
    assertEquals(SchemaRegistryException.SUBJECT_NOT_FOUND, noSubject.errorCode());
    assertTrue(noSubject.getMessage().contains("Subject 'nope' not found"), noSubject.getMessage());

    client.register("s-value", V1);
    assertEquals(SchemaRegistryException.SCHEMA_NOT_FOUND,
        assertThrows(SchemaRegistryException.class, () -> client.lookup("s-value", V2_OPTIONAL_FIELD)).errorCode());
    assertEquals(SchemaRegistryException.SCHEMA_NOT_FOUND,
        assertThrows(SchemaRegistryException.class, () -> client.getById(999)).errorCode());
  }

  @Test
  void incompatibleSchemaIsRefusedUnlessCompatibilityIsRelaxed() {
    int id = client.register("s-value", V1);
    assertTrue(client.isCompatible("s-value", V2_OPTIONAL_FIELD));
    assertFalse(client.isCompatible("s-value", V2_REQUIRED_FIELD));

    SchemaRegistryException e =
        assertThrows(SchemaRegistryException.class, () -> client.register("s-value", V2_REQUIRED_FIELD));
    assertEquals(409, e.status());
    assertEquals(SchemaRegistryException.INCOMPATIBLE_SCHEMA, e.errorCode());
    assertTrue(e.getMessage().contains("READER_FIELD_MISSING_DEFAULT_VALUE"), e.getMessage());
    assertEquals(new RegisteredSchema("s-value", 1, id, V1), client.latest("s-value"), "nothing registered");

    assertEquals(CompatibilityLevel.NONE, client.updateCompatibility("s-value", CompatibilityLevel.NONE));
    client.register("s-value", V2_REQUIRED_FIELD);
    assertEquals(2, client.latest("s-value").version());
  }

  @Test
  void levelsAreCheckedAsConfluentDefinesThem() {
    Schema withoutA = record("");
    client.register("full-value", V1);
    client.updateCompatibility("full-value", CompatibilityLevel.FULL);
    // Dropping a field without default: new readers are fine (BACKWARD), old readers are not (FORWARD).
    assertFalse(client.isCompatible("full-value", withoutA));
    client.updateCompatibility("full-value", CompatibilityLevel.BACKWARD);
    assertTrue(client.isCompatible("full-value", withoutA));

    // v3 is compatible with v2 but not with v1: only the transitive level notices.
    Schema aIsInt = record("{\"name\": \"a\", \"type\": \"int\", \"default\": 0}");
    client.register("t-value", V1);
    client.register("t-value", withoutA);
    client.updateCompatibility("t-value", CompatibilityLevel.BACKWARD_TRANSITIVE);
    assertFalse(client.isCompatible("t-value", aIsInt));
    client.updateCompatibility("t-value", CompatibilityLevel.BACKWARD);
    assertTrue(client.isCompatible("t-value", aIsInt));
  }

  @Test
  void subjectNamesArePathEncoded() {
    String subject = "odd name/with+chars-value";
    int id = client.register(subject, V1);
    assertEquals(new RegisteredSchema(subject, 1, id, V1), client.latest(subject));
  }

  @Test
  void serverAnswersTheRawRestContract() throws Exception {
    client.register("a-value", V1);
    client.register("a-value", V2_OPTIONAL_FIELD);
    client.register("b-value", V1);

    assertEquals(200, get("/subjects").statusCode());
    assertEquals("[\"a-value\",\"b-value\"]", get("/subjects").body());
    assertEquals("[1,2]", get("/subjects/a-value/versions").body());
    assertEquals("{\"compatibilityLevel\":\"BACKWARD\"}", get("/config").body());
    assertEquals("{\"schema\":" + quoted(V1.toString()) + "}", get("/schemas/ids/1").body());
    assertEquals("{\"subject\":\"a-value\",\"version\":1,\"id\":1,\"schema\":" + quoted(V1.toString()) + "}",
        get("/subjects/a-value/versions/1").body());
    assertEquals(SchemaRegistryClient.CONTENT_TYPE,
        get("/subjects").headers().firstValue("Content-Type").orElseThrow());

    HttpResponse<String> notConfigured = get("/config/a-value");
    assertEquals(404, notConfigured.statusCode());
    assertTrue(notConfigured.body().contains("\"error_code\":40408"), notConfigured.body());
    assertEquals("{\"compatibilityLevel\":\"BACKWARD\"}", get("/config/a-value?defaultToGlobal=true").body());
    assertTrue(get("/subjects/a-value/versions/3").body().contains("\"error_code\":40402"));
    assertTrue(get("/subjects/a-value/versions/x").body().contains("\"error_code\":42202"));
    assertEquals(404, get("/nothing/here").statusCode());

    HttpResponse<String> badSchema = send("POST", "/subjects/a-value/versions", "{\"schema\": \"{not avro\"}");
    assertEquals(422, badSchema.statusCode());
    assertTrue(badSchema.body().contains("\"error_code\":42201"), badSchema.body());
    HttpResponse<String> badLevel = send("PUT", "/config", "{\"compatibility\": \"SIDEWAYS\"}");
    assertTrue(badLevel.body().contains("\"error_code\":42203"), badLevel.body());
    assertEquals("{\"compatibility\":\"FULL\"}", send("PUT", "/config", "{\"compatibility\": \"FULL\"}").body());
    assertEquals("{\"compatibilityLevel\":\"FULL\"}", get("/config").body());
  }

  @Test
  void basicAuthIsRequiredAndHonoured() throws IOException {
    try (InMemorySchemaRegistry secured = new InMemorySchemaRegistry(0, "alice:s3cr:et").start()) {
      String url = secured.url();

      SchemaRegistryClient.Settings once = SchemaRegistryClient.Settings.DEFAULT.withRetry(RetryPolicy.NONE);
      SchemaRegistryException anonymous = assertThrows(SchemaRegistryException.class,
          () -> new SchemaRegistryClient(url, once).register("s-value", V1));
      assertEquals(401, anonymous.status());
      assertEquals(SchemaRegistryException.UNAUTHORIZED, anonymous.errorCode());
      assertTrue(anonymous.isRetriable(), "credentials are ours to fix, never the data's fault");
      SchemaRegistryException wrong = assertThrows(SchemaRegistryException.class,
          () -> new SchemaRegistryClient(url, once.withUserInfo("alice:wrong")).register("s-value", V1));
      assertEquals(401, wrong.status());
      assertFalse(wrong.getMessage().contains("wrong"), "no password in messages: " + wrong.getMessage());

      int id = SchemaRegistryClient.fromConfig(Map.of(
              AvroSerdeConfig.SCHEMA_REGISTRY_URL, url,
              AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO",
              AvroSerdeConfig.BASIC_AUTH_USER_INFO, "alice:s3cr:et"))
          .register("s-value", V1);
      // Default credentials source URL: user info in the URL, percent-encoded where needed.
      String withUserInfo = url.replace("http://", "http://alice:s3cr%3Aet@");
      assertEquals(id, SchemaRegistryClient.fromConfig(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, withUserInfo))
          .latest("s-value").id());
    }
  }

  @Test
  void failsOverToTheNextUrlWhenOneIsUnreachable() throws IOException {
    String dead = "http://127.0.0.1:" + freePort();
    SchemaRegistryClient failover = new SchemaRegistryClient(dead + ", " + registry.url() + "/");
    int id = failover.register("s-value", V1);
    assertEquals(id, failover.latest("s-value").id());

    SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
        () -> new SchemaRegistryClient(dead, SchemaRegistryClient.Settings.DEFAULT.withRetry(RetryPolicy.NONE))
            .latest("s-value"));
    assertTrue(e.isUnreachable());
    assertTrue(e.isRetriable());
    assertTrue(e.getMessage().contains("No schema registry reachable"), e.getMessage());
  }

  @Test
  void configurationErrorsAreReported() {
    assertThrows(ConfigException.class, () -> SchemaRegistryClient.fromConfig(Map.of()));
    assertThrows(ConfigException.class, () -> SchemaRegistryClient.fromConfig(Map.of(
        AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url(),
        AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE, "USER_INFO")));
    assertThrows(ConfigException.class, () -> SchemaRegistryClient.fromConfig(Map.of(
        AvroSerdeConfig.SCHEMA_REGISTRY_URL, registry.url(),
        AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE, "SASL_INHERIT")));
    assertThrows(IllegalArgumentException.class, () -> new SchemaRegistryClient("ftp://host"));
    IllegalArgumentException withSecret = assertThrows(IllegalArgumentException.class,
        () -> new SchemaRegistryClient("ftp://svc:hunter2@host"));
    assertFalse(withSecret.getMessage().contains("hunter2"), withSecret.getMessage());
    // Kafka hands LIST-typed settings over as lists.
    SchemaRegistryClient fromList =
        SchemaRegistryClient.fromConfig(Map.of(AvroSerdeConfig.SCHEMA_REGISTRY_URL, List.of(registry.url())));
    assertEquals(client.register("s-value", V1), fromList.register("s-value", V1));
  }

  static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String quoted(String s) {
    return "\"" + s.replace("\"", "\\\"") + "\"";
  }

  private HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return send("GET", path, null);
  }

  private HttpResponse<String> send(String method, String path, String body) throws IOException, InterruptedException {
    HttpRequest request = HttpRequest.newBuilder(URI.create(registry.url() + path))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
        .build();
    return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
        .send(request, HttpResponse.BodyHandlers.ofString());
  }
}
