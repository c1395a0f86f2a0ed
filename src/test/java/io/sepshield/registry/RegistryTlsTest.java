package io.sepshield.registry;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.testing.TestCertificates;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The registry client over real TLS: an in-process HTTPS front with certificates made by the JDK's keytool at test
 * time. Trust via JKS, PKCS12 and PEM; host name verification on and off; client certificates (mutual TLS).
 */
class RegistryTlsTest {
  private static final String PASS = "changeit";

  @TempDir
  static Path dir;
  static InMemorySchemaRegistry backend;
  static RegistryFront localhost; // certificate for localhost / 127.0.0.1
  static RegistryFront elsewhere; // certificate for other.example only
  static RegistryFront mutual; // wants a client certificate
  static int id;

  static void keyPair(String name, String cn, String san) throws Exception {
    TestCertificates.keyPair(dir, name, cn, san, PASS);
  }

  static void trustStore(String file, String type, String... certs) throws Exception {
    KeyStore ts = KeyStore.getInstance(type);
    ts.load(null, null);
    for (String cert : certs) {
      try (InputStream in = Files.newInputStream(dir.resolve(cert + ".pem"))) {
        ts.setCertificateEntry(cert, CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
    }
    try (var out = Files.newOutputStream(dir.resolve(file))) {
      ts.store(out, PASS.toCharArray());
    }
  }

  static SSLContext serverContext(String keyPair, String trustedClient) throws Exception {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(dir.resolve(keyPair + ".p12"))) {
      ks.load(in, PASS.toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, PASS.toCharArray());
    TrustManagerFactory tmf = null;
    if (trustedClient != null) {
      KeyStore ts = KeyStore.getInstance("PKCS12");
      try (InputStream in = Files.newInputStream(dir.resolve(trustedClient))) {
        ts.load(in, PASS.toCharArray());
      }
      tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(ts);
    }
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
    return context;
  }

  @BeforeAll
  static void certificatesAndServers() throws Exception {
    keyPair("server", "localhost", "dns:localhost,ip:127.0.0.1");
    keyPair("other", "other.example", "dns:other.example");
    keyPair("client", "sep-shield", "dns:sep-shield");
    trustStore("trust.jks", "JKS", "server", "other");
    trustStore("trust.p12", "PKCS12", "server");
    trustStore("clients.p12", "PKCS12", "client");
    backend = new InMemorySchemaRegistry().start();
    id = new SchemaRegistryClient(backend.url()).register("s-value", SchemaRegistryClientTest.V1);
    localhost = new RegistryFront(backend, serverContext("server", null), false);
    elsewhere = new RegistryFront(backend, serverContext("other", null), false);
    mutual = new RegistryFront(backend, serverContext("server", "clients.p12"), true);
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {localhost, elsewhere, mutual, backend}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception ignored) {
        // best effort
      }
    }
  }

  private static SchemaRegistryClient client(String url, Map<String, Object> tls) {
    Map<String, Object> config = new HashMap<>(tls);
    config.put(AvroSerdeConfig.SCHEMA_REGISTRY_URL, url);
    config.put(AvroSerdeConfig.MAX_RETRIES, 0);
    return SchemaRegistryClient.fromConfig(config);
  }

  private static Map<String, Object> trust(String file, String type) {
    Map<String, Object> m = new HashMap<>();
    m.put("schema.registry.ssl.truststore.location", dir.resolve(file).toString());
    m.put("schema.registry.ssl.truststore.type", type);
    if (!type.equals("PEM")) {
      m.put("schema.registry.ssl.truststore.password", PASS);
    }
    return m;
  }

  @Test
  void trustStoresInEveryFormatWork() {
    assertEquals(SchemaRegistryClientTest.V1, client(localhost.url("localhost"), trust("trust.jks", "JKS")).getById(id));
    assertEquals(SchemaRegistryClientTest.V1, client(localhost.url(), trust("trust.p12", "PKCS12")).getById(id));
    assertEquals(SchemaRegistryClientTest.V1, client(localhost.url(), trust("server.pem", "PEM")).getById(id),
        "a PEM CA file");
  }

  @Test
  void anUntrustedServerIsRefusedAndThatIsNotBadData() {
    SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
        () -> client(localhost.url(), Map.of()).getById(id), "the JVM's default CAs do not know it");
    assertTrue(e.isRetriable(), "a TLS failure is ours to fix, never the data's");
    assertThrows(SchemaRegistryException.class,
        () -> client(localhost.url(), Map.of("schema.registry.ssl.truststore.location",
            dir.resolve("other.pem").toString(), "schema.registry.ssl.truststore.type", "PEM")).getById(id),
        "trusting another certificate");
  }

  @Test
  void hostNamesAreVerifiedUnlessTurnedOff() {
    SchemaRegistryException e = assertThrows(SchemaRegistryException.class,
        () -> client(elsewhere.url(), trust("trust.jks", "JKS")).getById(id), "certificate is for other.example");
    assertTrue(e.isUnreachable());
    Map<String, Object> off = new HashMap<>(trust("trust.jks", "JKS"));
    off.put("schema.registry.ssl.endpoint.identification.algorithm", "");
    assertEquals(SchemaRegistryClientTest.V1, client(elsewhere.url(), off).getById(id));
    // Turning the name check off keeps the chain check: an untrusted certificate is still refused.
    Map<String, Object> untrusted = new HashMap<>(trust("server.pem", "PEM"));
    untrusted.put("schema.registry.ssl.endpoint.identification.algorithm", "");
    assertThrows(SchemaRegistryException.class, () -> client(elsewhere.url(), untrusted).getById(id));
  }

  @Test
  void clientCertificatesForMutualTls() {
    assertThrows(SchemaRegistryException.class, () -> client(mutual.url(), trust("trust.jks", "JKS")).getById(id),
        "no client certificate");
    Map<String, Object> withKey = new HashMap<>(trust("trust.jks", "JKS"));
    withKey.put("schema.registry.ssl.keystore.location", dir.resolve("client.p12").toString());
    withKey.put("schema.registry.ssl.keystore.type", "PKCS12");
    withKey.put("schema.registry.ssl.keystore.password", PASS);
    withKey.put("schema.registry.ssl.key.password", PASS);
    assertEquals(SchemaRegistryClientTest.V1, client(mutual.url(), withKey).getById(id));
    withKey.put("schema.registry.ssl.endpoint.identification.algorithm", "");
    assertEquals(SchemaRegistryClientTest.V1, client(mutual.url(), withKey).getById(id), "same without name check");
  }

  @Test
  void badSettingsFailClearlyWithoutPrintingPasswords() {
    Map<String, Object> wrong = new HashMap<>(trust("trust.jks", "JKS"));
    wrong.put("schema.registry.ssl.truststore.password", "s3cret-wrong");
    ConfigException e = assertThrows(ConfigException.class, () -> client(localhost.url(), wrong));
    assertTrue(e.getMessage().contains("TLS for the schema registry"), e.getMessage());
    assertFalse(e.getMessage().contains("s3cret-wrong"), e.getMessage());
    Map<String, Object> missing = trust("nowhere.jks", "JKS");
    assertTrue(assertThrows(ConfigException.class, () -> client(localhost.url(), missing)).getMessage()
        .contains("nowhere.jks"));
    SchemaRegistryClient ok = client(localhost.url(), trust("trust.jks", "JKS"));
    assertFalse(ok.settings().toString().contains(PASS), ok.settings().toString());
  }
}
