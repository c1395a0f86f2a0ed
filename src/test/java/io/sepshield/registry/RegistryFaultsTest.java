package io.sepshield.registry;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sepshield.registry.RegistryFront.Fault;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The registry answering with faults, through an in-process front that stands for an ingress: what is retried, what
 * is a verdict on the data, how unknown ids are cached and bounded. Each fault scenario is also written as a row of
 * {@code registry_faults} to target/reliability/registry-faults.json, and merged into the file named by the system
 * property {@code reliability.results} (docs/results/reliability.json) when it is set.
 */
class RegistryFaultsTest {
  private static final Schema SCHEMA = SchemaRegistryClientTest.V1;
  private static final RetryPolicy FAST = new RetryPolicy(3, Duration.ofMillis(5), Duration.ofMillis(50));
  private static final List<Map<String, Object>> ROWS = new ArrayList<>();

  private InMemorySchemaRegistry backend;
  private RegistryFront front;

  @BeforeEach
  void start() throws IOException {
    backend = new InMemorySchemaRegistry().start();
    front = new RegistryFront(backend);
  }

  @AfterEach
  void stop() {
    front.close();
    backend.close();
  }

  private SchemaRegistryClient client(RetryPolicy retry) {
    return new SchemaRegistryClient(front.url(), SchemaRegistryClient.Settings.DEFAULT.withRetry(retry));
  }

  /** An upload as a producer would write it: Confluent wire format, schema registered straight at the backend. */
  private byte[] record() {
    ConfluentAvroSerializer<GenericRecord> serializer =
        new ConfluentAvroSerializer<>(new SchemaRegistryClient(backend.url()));
    serializer.configure(Map.of(), false);
    GenericRecord r = new GenericData.Record(SCHEMA);
    r.put("a", "hello");
    return serializer.serialize("uploads", r);
  }

  private static ConfluentAvroDeserializer<GenericRecord> reader(SchemaRegistryClient client) {
    ConfluentAvroDeserializer<GenericRecord> d = new ConfluentAvroDeserializer<>(client, null);
    d.configure(Map.of(), false);
    return d;
  }

  private static Fault fault(int status) {
    return switch (status) {
      case 401 -> Fault.registry(401, SchemaRegistryException.UNAUTHORIZED, "Unauthorized");
      case 429 -> Fault.page(429).retryAfter("0");
      case 503 -> Fault.page(503).retryAfter("0");
      default -> status >= 500 ? Fault.registry(status, 50001, "Error in the backend data store")
          : Fault.page(status);
    };
  }

  private static void row(int status, String call, int retried, String outcome, boolean ok) {
    Map<String, Object> row = new java.util.LinkedHashMap<>();
    row.put("status", status);
    row.put("call", call);
    row.put("retried", retried);
    row.put("outcome", outcome);
    row.put("ok", ok);
    synchronized (ROWS) {
      ROWS.add(row);
    }
  }

  @ParameterizedTest(name = "HTTP {0} while reading an upload: retried, then decoded")
  @ValueSource(ints = {500, 502, 503, 504, 401, 403, 408, 429})
  void transientFaultsAreRetriedAndTheUploadIsRead(int status) {
    byte[] bytes = record();
    front.fail(2, fault(status));
    GenericRecord read = reader(client(FAST)).deserialize("uploads", bytes);
    int requests = front.requests("/schemas/ids/");
    boolean ok = "hello".equals(read.get("a").toString()) && requests == 3;
    row(status, "GET /schemas/ids (read upload)", requests - 1, "decoded after " + (requests - 1) + " retries",
        ok);
    assertEquals("hello", read.get("a").toString());
    assertEquals(3, requests, "two faults, then the answer");
  }

  @ParameterizedTest(name = "HTTP {0} that outlasts the retries: retriable, never bad data")
  @ValueSource(ints = {500, 502, 503, 504, 401, 403, 408, 429})
  void persistentFaultsStayRetriableAndSucceedOnceTheRegistryRecovers(int status) {
    byte[] bytes = record();
    front.fail(100, fault(status));
    ConfluentAvroDeserializer<GenericRecord> reader = reader(client(FAST));
    SerializationException e = assertThrows(SerializationException.class, () -> reader.deserialize("uploads", bytes));
    boolean retriable = SchemaRegistryException.retriableCause(e);
    int requests = front.requests("/schemas/ids/");
    front.recover();
    GenericRecord read = reader.deserialize("uploads", bytes); // what the stream does when it retries the record
    boolean ok = retriable && requests == 1 + FAST.maxRetries() && "hello".equals(read.get("a").toString());
    row(status, "GET /schemas/ids (outage)", requests - 1, "retriable after " + requests
        + " attempts (not dead-lettered); decoded once the registry recovered", ok);
    assertTrue(retriable, e.toString());
    assertTrue(e.getMessage().contains("gave up after 4 attempts"), e.getMessage());
    assertEquals(1 + FAST.maxRetries(), requests);
    assertEquals("hello", read.get("a").toString());
  }

  @Test
  void anUnknownIdIsBadDataAndAskedOnlyOncePerTtl() {
    byte[] bytes = record();
    byte[] unknown = bytes.clone();
    ByteBuffer.wrap(unknown).putInt(1, 987_654);
    ConfluentAvroDeserializer<GenericRecord> reader = reader(client(FAST));
    for (int i = 0; i < 5; i++) {
      SerializationException e = assertThrows(SerializationException.class,
          () -> reader.deserialize("uploads", unknown));
      assertFalse(SchemaRegistryException.retriableCause(e), "a verdict: dead-letter it");
      assertTrue(e.getMessage().contains("Unknown schema id 987654"), e.getMessage());
    }
    int requests = front.requests("/schemas/ids/987654");
    row(404, "GET /schemas/ids (unknown id, 5 records)", 0, "dead-letter (unknown schema id); " + requests
        + " HTTP request for 5 records (negative cache)", requests == 1);
    assertEquals(1, requests, "the other four came from the negative cache");
  }

  @Test
  void theNegativeCacheExpiresAndIsBounded() {
    MissingIdCache cache = new MissingIdCache(Duration.ofSeconds(60), 3);
    long t = 1_000;
    cache.markMissing(1, t);
    assertTrue(cache.isMissing(1, t + Duration.ofSeconds(59).toNanos()));
    assertFalse(cache.isMissing(1, t + Duration.ofSeconds(60).toNanos()), "asked again after the TTL");
    for (int id = 10; id < 20; id++) {
      cache.markMissing(id, t);
    }
    assertEquals(3, cache.size());
    assertTrue(cache.isMissing(19, t) && !cache.isMissing(10, t), "the oldest went first");
    MissingIdCache off = new MissingIdCache(Duration.ZERO, 3);
    off.markMissing(5, t);
    assertFalse(off.isMissing(5, t), "TTL 0 turns the cache off, as in Confluent's client");
  }

  @Test
  void junkWithRandomIdsCostsAtMostOneRequestPerIdAndLookupsAreBounded() throws Exception {
    SchemaRegistryClient client = new SchemaRegistryClient(front.url(), new SchemaRegistryClient.Settings(null, null,
        FAST, Duration.ofSeconds(60), 10_000, 2, 1_000, Map.of()));
    ConfluentAvroDeserializer<GenericRecord> reader = reader(client);
    front.delay(20);
    Random random = new Random(7);
    List<byte[]> junk = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      byte[] b = new byte[12];
      random.nextBytes(b);
      b[0] = 0; // magic byte
      ByteBuffer.wrap(b).putInt(1, 1_000 + i % 10); // 10 distinct ids, each 4 times
      junk.add(b);
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (byte[] b : junk) {
        results.add(pool.submit((Callable<Boolean>) () -> {
          try {
            reader.deserialize("uploads", b);
            return false;
          } catch (SerializationException e) {
            return !SchemaRegistryException.retriableCause(e);
          }
        }));
      }
      for (Future<Boolean> f : results) {
        assertTrue(f.get(), "junk is bad data");
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(10, front.requests("/schemas/ids/"), "one request per distinct id (shared in flight, then cached)");
    assertTrue(front.maxInFlight() <= 2, "at most 2 lookups at once, saw " + front.maxInFlight());
    assertEquals(10, client.missingIdsCached());
  }

  @Test
  void lookupsAreRateLimited() throws InterruptedException {
    LookupLimiter limiter = new LookupLimiter(4, 20);
    long t0 = System.nanoTime();
    for (int i = 0; i < 30; i++) {
      limiter.acquire();
      limiter.release();
    }
    // 20 come from the full bucket, the other 10 at 20 per second: at least ~0.5 s. A lower bound, not a speed target.
    assertTrue(System.nanoTime() - t0 >= Duration.ofMillis(400).toNanos());
  }

  @Test
  void retryAfterIsHonouredAndCapped() {
    RetryPolicy policy = new RetryPolicy(3, Duration.ofMillis(100), Duration.ofSeconds(2));
    assertEquals(Duration.ofSeconds(1), policy.backoff(0, Duration.ofSeconds(1)));
    assertEquals(Duration.ofSeconds(2), policy.backoff(0, Duration.ofSeconds(30)), "capped");
    for (int retry = 0; retry < 10; retry++) {
      long ms = policy.backoff(retry, null).toMillis();
      long full = Math.min(100L << retry, 2000);
      assertTrue(ms >= full / 2 && ms <= full, retry + ": " + ms);
    }
    // Through the client: a 429 asking for 1 s is waited for even though the own backoff would be 5 ms.
    byte[] bytes = record();
    front.fail(1, Fault.page(429).retryAfter("1"));
    long t0 = System.nanoTime();
    reader(client(new RetryPolicy(3, Duration.ofMillis(5), Duration.ofSeconds(2)))).deserialize("uploads", bytes);
    long waited = (System.nanoTime() - t0) / 1_000_000;
    row(429, "GET /schemas/ids (Retry-After: 1)", 1, "waited " + (waited >= 900 ? "≥ 1 s" : waited + " ms")
        + " as asked, then decoded", waited >= 900);
    assertTrue(waited >= 900, "waited " + waited + " ms");
  }

  @Test
  void definitiveAnswersAreNotRetried() {
    front.fail(1, Fault.registry(422, SchemaRegistryException.INVALID_SCHEMA, "Invalid schema"));
    ConfluentAvroSerializer<GenericRecord> writer = new ConfluentAvroSerializer<>(client(FAST));
    writer.configure(Map.of(), false);
    GenericRecord r = new GenericData.Record(SCHEMA);
    r.put("a", "x");
    SerializationException e = assertThrows(SerializationException.class, () -> writer.serialize("out", r));
    int requests = front.requests("/subjects/");
    boolean ok = !SchemaRegistryException.retriableCause(e) && requests == 1;
    row(422, "POST /subjects/{s}/versions (register output)", requests - 1,
        "not retried: a configuration error that stops the stream", ok);
    assertFalse(SchemaRegistryException.retriableCause(e));
    assertEquals(1, requests);

    // An ingress's HTML 404 is not the registry's verdict; the registry's own 404 is.
    assertTrue(new SchemaRegistryException(404, 404, "page", null, SchemaRegistryException.retriableStatus(404,
        false), null).isRetriable());
    assertFalse(SchemaRegistryException.retriableStatus(404, true));
    front.fail(100, Fault.page(404));
    byte[] bytes = record();
    SerializationException page = assertThrows(SerializationException.class,
        () -> reader(client(FAST)).deserialize("uploads", bytes));
    row(404, "GET /schemas/ids (HTML 404 from an ingress)", front.requests("/schemas/ids/") - 1,
        "retriable: not the registry's own answer, so not dead-lettered", SchemaRegistryException.retriableCause(page));
    assertTrue(SchemaRegistryException.retriableCause(page));
  }

  @ParameterizedTest(name = "HTTP {0} while registering the output schema: retried, then written")
  @ValueSource(ints = {500, 503, 401, 403, 408, 429})
  void registeringTheOutputSchemaSurvivesTransientFaults(int status) {
    ConfluentAvroSerializer<GenericRecord> writer = new ConfluentAvroSerializer<>(client(FAST));
    writer.configure(Map.of(), false);
    GenericRecord r = new GenericData.Record(SCHEMA);
    r.put("a", "x");
    front.fail(100, fault(status));
    SerializationException e = assertThrows(SerializationException.class, () -> writer.serialize("out", r));
    front.recover();
    byte[] written = writer.serialize("out", r); // the stream thread is replaced and the batch redone
    int attempts = front.requests("/subjects/") - 1; // the last one succeeded
    boolean ok = SchemaRegistryException.retriableCause(e) && written.length > 5 && attempts == 1 + FAST.maxRetries();
    row(status, "POST /subjects/{s}/versions (register output)", attempts - 1,
        "retriable error, nothing written; written once the registry recovered", ok);
    assertTrue(SchemaRegistryException.retriableCause(e));
  }

  @AfterAll
  static void writeResults() throws IOException {
    ObjectMapper json = new ObjectMapper();
    ROWS.sort(java.util.Comparator.comparing((Map<String, Object> r) -> r.get("call").toString())
        .thenComparing(r -> (Integer) r.get("status")));
    ArrayNode rows = json.valueToTree(ROWS);
    Path local = Path.of("target", "reliability", "registry-faults.json");
    Files.createDirectories(local.getParent());
    json.writerWithDefaultPrettyPrinter().writeValue(local.toFile(), rows);
    String target = System.getProperty("reliability.results");
    if (target != null && !target.isBlank()) {
      Path file = Path.of(target);
      ObjectNode doc = Files.isRegularFile(file) ? (ObjectNode) json.readTree(file.toFile()) : json.createObjectNode();
      doc.set("registry_faults", rows);
      doc.put("registry_faults_command", "mvn -B -ntp -o test -Dtest=RegistryFaultsTest -Dreliability.results="
          + target);
      Files.createDirectories(file.toAbsolutePath().getParent());
      json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), doc);
    }
  }
}
