package io.sepshield.service;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.registry.SchemaRegistryClient;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Registry settings as the service reads them, and that no secret survives into what gets printed. */
class SecretsTest {
  static final String JAAS = "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"svc\" "
      + "password=\"kafka-s3cret\";";

  static StreamConfig config(Map<String, String> properties) {
    SmallRyeConfig config = new SmallRyeConfigBuilder().addDefaultInterceptors().withMapping(StreamConfig.class)
        .withConverter(java.time.Duration.class, 200, new io.quarkus.runtime.configuration.DurationConverter())
        .withSources(new PropertiesConfigSource(properties, "test", 500)).build();
    return config.getConfigMapping(StreamConfig.class);
  }

  @Test
  void registrySettingsBecomeConfluentKeys() {
    StreamConfig c = config(Map.of(
        "sep-shield.stream.schema-registry-url", "https://registry:8081",
        "sep-shield.stream.schema-registry-basic-auth-user-info", "svc:registry-s3cret",
        "sep-shield.stream.schema-registry-auto-register-schemas", "false",
        "sep-shield.stream.schema-registry-use-latest-version", "true",
        "sep-shield.stream.schema-registry-ssl-truststore-location", "/etc/ca.pem",
        "sep-shield.stream.schema-registry-ssl-truststore-type", "PEM",
        "sep-shield.stream.schema-registry-ssl-keystore-password", "ks-s3cret",
        "sep-shield.stream.schema-registry-ssl-hostname-verification", "false",
        "sep-shield.stream.schema-registry-client.\"max.retries\"", "7"));
    Map<String, Object> r = c.schemaRegistryConfig();
    assertEquals("https://registry:8081", r.get("schema.registry.url"));
    assertEquals("USER_INFO", r.get("basic.auth.credentials.source"));
    assertEquals(false, r.get("auto.register.schemas"));
    assertEquals(true, r.get("use.latest.version"));
    assertEquals("/etc/ca.pem", r.get("schema.registry.ssl.truststore.location"));
    assertEquals("", r.get("schema.registry.ssl.endpoint.identification.algorithm"));
    assertEquals("7", r.get("max.retries"));

    String printed = Secrets.toString(r);
    for (String secret : new String[] {"registry-s3cret", "ks-s3cret"}) {
      assertFalse(printed.contains(secret), printed);
    }
    assertTrue(printed.contains("basic.auth.user.info=[hidden]"), printed);
    assertTrue(printed.contains("schema.registry.url=https://registry:8081"), printed);
  }

  @Test
  void defaultsAutoRegisterWithoutTls() {
    Map<String, Object> r = config(Map.of()).schemaRegistryConfig();
    assertEquals(true, r.get("auto.register.schemas"));
    assertEquals(false, r.get("use.latest.version"));
    assertTrue(r.keySet().stream().noneMatch(k -> k.contains("ssl")), r.toString());
    assertFalse(r.containsKey("basic.auth.user.info"));
  }

  @Test
  void kafkaAndRegistrySecretsAreHidden() {
    Map<String, Object> redacted = Secrets.redact(Map.of(
        "sasl.jaas.config", JAAS,
        "ssl.truststore.password", "t",
        "ssl.key.password", "k",
        "basic.auth.user.info", "svc:pw",
        "schema.registry.url", "https://svc:url-s3cret@registry:8081,https://other:8081",
        "bootstrap.servers", "broker-0:9093",
        "sasl.oauthbearer.token.endpoint.url", "https://idp/token",
        "security.protocol", "SASL_SSL"));
    String printed = redacted.toString();
    for (String secret : new String[] {"kafka-s3cret", "url-s3cret", "svc:pw", "=t,", "=k,"}) {
      assertFalse(printed.contains(secret), secret + " in " + printed);
    }
    assertEquals("https://[hidden]@registry:8081,https://other:8081", redacted.get("schema.registry.url"));
    assertEquals("broker-0:9093", redacted.get("bootstrap.servers"));
    assertEquals("SASL_SSL", redacted.get("security.protocol"));
    assertTrue(Secrets.isSecret("sep-shield.stream.schema-registry-basic-auth-user-info"));
    assertTrue(Secrets.isSecret("schemaRegistrySslKeyPassword"));
    assertFalse(Secrets.isSecret("max.poll.records"));
  }

  @Test
  void theRegistryClientNeverPrintsItsCredentials() {
    SchemaRegistryClient client = SchemaRegistryClient.fromConfig(config(Map.of(
        "sep-shield.stream.schema-registry-url", "http://127.0.0.1:1",
        "sep-shield.stream.schema-registry-basic-auth-user-info", "svc:registry-s3cret",
        "sep-shield.stream.schema-registry-client.\"max.retries\"", "0")).schemaRegistryConfig());
    assertFalse(client.settings().toString().contains("registry-s3cret"), client.settings().toString());
    RuntimeException e = assertThrows(RuntimeException.class, () -> client.getById(1));
    assertFalse(e.getMessage().contains("registry-s3cret"), e.getMessage());
    assertEquals(Map.of("auto.register.schemas", true, "use.latest.version", false),
        client.settings().serializerDefaults());
  }
}
