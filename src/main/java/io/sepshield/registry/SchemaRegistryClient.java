package io.sepshield.registry;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;

/**
 * Client for the subset of the Confluent Schema Registry REST API that our serdes need.
 *
 * <p>Thread-safe. Several URLs may be given: a request goes to the last URL that worked and moves on
 * to the next only when a URL cannot be reached (an HTTP error is an answer, not an outage, exactly
 * as in Confluent's client). Registered ids and fetched schemas are cached without bound: schemas
 * are immutable once registered and a service only ever sees a handful.
 *
 * <p>Faults: a retriable failure (see {@link SchemaRegistryException#isRetriable()}) is retried in place with
 * bounded exponential backoff and jitter, honouring Retry-After ({@link RetryPolicy}), and then thrown, still
 * retriable, for the caller to retry later. Ids come from untrusted data, so lookups of unknown ids are bounded: an
 * id the registry does not know is remembered for a while ({@link MissingIdCache}), concurrent lookups of one id
 * share one request, and lookups are limited in concurrency and rate ({@link LookupLimiter}).
 */
public final class SchemaRegistryClient {
  public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final String ACCEPT =
      CONTENT_TYPE + ", application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final System.Logger LOG = System.getLogger(SchemaRegistryClient.class.getName());

  private record Endpoint(String base, String authorization) {}

  /**
   * How the client talks to the registry.
   *
   * @param userInfo {@code user:password} sent to every URL, or null to use each URL's user info
   * @param sslContext TLS for https URLs, or null for the JVM's default
   * @param retry backoff for retriable failures
   * @param missingIdTtl how long an unknown schema id is not asked again; zero: always ask
   * @param missingCacheSize how many unknown ids are remembered
   * @param maxConcurrentLookups lookups of uncached ids at once
   * @param lookupsPerSecond lookups of uncached ids per second, on average
   * @param serializerDefaults {@code auto.register.schemas}, {@code use.latest.version}, {@code
   *     latest.compatibility.strict} for serializers sharing this client that are configured without them
   */
  public record Settings(String userInfo, SSLContext sslContext, RetryPolicy retry, Duration missingIdTtl,
      int missingCacheSize, int maxConcurrentLookups, double lookupsPerSecond, Map<String, Object> serializerDefaults) {
    public static final Settings DEFAULT = new Settings(null, null, RetryPolicy.DEFAULT, Duration.ofSeconds(60),
        10_000, 4, 50, Map.of());

    public Settings {
      serializerDefaults = Map.copyOf(serializerDefaults);
    }

    public Settings withUserInfo(String info) {
      return new Settings(info, sslContext, retry, missingIdTtl, missingCacheSize, maxConcurrentLookups,
          lookupsPerSecond, serializerDefaults);
    }

    public Settings withRetry(RetryPolicy policy) {
      return new Settings(userInfo, sslContext, policy, missingIdTtl, missingCacheSize, maxConcurrentLookups,
          lookupsPerSecond, serializerDefaults);
    }

    @Override
    public String toString() { // never the credentials
      return "Settings[userInfo=" + (userInfo == null ? "none" : "(hidden)") + ", tls=" + (sslContext != null)
          + ", retry=" + retry + ", missingIdTtl=" + missingIdTtl + ", missingCacheSize=" + missingCacheSize
          + ", maxConcurrentLookups=" + maxConcurrentLookups + ", lookupsPerSecond=" + lookupsPerSecond
          + ", serializerDefaults=" + serializerDefaults + "]";
    }
  }

  private final List<Endpoint> endpoints;
  private final AtomicInteger current = new AtomicInteger();
  private final HttpClient http;
  private final Settings settings;
  private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
  private final Map<Integer, CompletableFuture<Schema>> lookupsInFlight = new ConcurrentHashMap<>();
  private final MissingIdCache missingIds;
  private final LookupLimiter lookups;

  /** Credentials, if any, come from the user info of each URL ({@code http://user:pass@host}). */
  public SchemaRegistryClient(String urls) {
    this(urls, Settings.DEFAULT);
  }

  /**
   * @param urls comma-separated registry base URLs
   * @param userInfo {@code user:password} sent to every URL, or null to use each URL's user info
   */
  public SchemaRegistryClient(String urls, String userInfo) {
    this(urls, Settings.DEFAULT.withUserInfo(userInfo));
  }

  /** @param urls comma-separated registry base URLs */
  public SchemaRegistryClient(String urls, Settings settings) {
    if (urls == null || urls.isBlank()) {
      throw new IllegalArgumentException("No schema registry URL given");
    }
    List<Endpoint> list = new ArrayList<>();
    for (String url : urls.split(",")) {
      if (!url.isBlank()) {
        list.add(endpoint(url.trim(), settings.userInfo()));
      }
    }
    this.endpoints = List.copyOf(list);
    this.settings = settings;
    this.missingIds = new MissingIdCache(settings.missingIdTtl(), settings.missingCacheSize());
    this.lookups = new LookupLimiter(settings.maxConcurrentLookups(), settings.lookupsPerSecond());
    // HTTP/1.1 only: the JDK client would otherwise try an h2c upgrade the registry does not speak.
    HttpClient.Builder builder = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(CONNECT_TIMEOUT);
    if (settings.sslContext() != null) {
      builder.sslContext(settings.sslContext());
    }
    this.http = builder.build();
  }

  public Settings settings() {
    return settings;
  }

  /** Builds a client from serde configuration (see {@link AvroSerdeConfig} for the keys). */
  public static SchemaRegistryClient fromConfig(Map<String, ?> configs) {
    String urls = AvroSerdeConfig.string(configs, AvroSerdeConfig.SCHEMA_REGISTRY_URL);
    if (urls == null || urls.isBlank()) {
      throw new ConfigException("Missing required configuration \"" + AvroSerdeConfig.SCHEMA_REGISTRY_URL + "\"");
    }
    return new SchemaRegistryClient(urls, settingsFrom(configs));
  }

  /** Client settings from serde configuration: credentials, TLS, retries, the unknown-id cache and limits. */
  static Settings settingsFrom(Map<String, ?> configs) {
    String source = AvroSerdeConfig.string(configs, AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE);
    source = source == null ? "URL" : source.trim().toUpperCase(Locale.ROOT);
    String userInfo = switch (source) {
      case "URL" -> null;
      case "USER_INFO" -> {
        String info = AvroSerdeConfig.string(configs, AvroSerdeConfig.BASIC_AUTH_USER_INFO);
        if (info == null || !info.contains(":")) {
          throw new ConfigException(AvroSerdeConfig.BASIC_AUTH_USER_INFO, "(hidden)",
              "Must be user:password when " + AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE + "=USER_INFO");
        }
        yield info;
      }
      default -> throw new ConfigException(AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE, source,
          "Supported: URL, USER_INFO");
    };
    Settings d = Settings.DEFAULT;
    RetryPolicy retry = new RetryPolicy(
        AvroSerdeConfig.integer(configs, AvroSerdeConfig.MAX_RETRIES, d.retry().maxRetries()),
        Duration.ofMillis(AvroSerdeConfig.integer(configs, AvroSerdeConfig.RETRIES_WAIT_MS,
            (int) d.retry().firstWait().toMillis())),
        Duration.ofMillis(AvroSerdeConfig.integer(configs, AvroSerdeConfig.RETRIES_MAX_WAIT_MS,
            (int) d.retry().maxWait().toMillis())));
    Map<String, Object> serializerDefaults = new java.util.HashMap<>();
    for (String key : List.of(AvroSerdeConfig.AUTO_REGISTER_SCHEMAS, AvroSerdeConfig.USE_LATEST_VERSION,
        AvroSerdeConfig.LATEST_COMPATIBILITY_STRICT)) {
      if (configs.get(key) != null) {
        serializerDefaults.put(key, AvroSerdeConfig.bool(configs, key, false));
      }
    }
    return new Settings(userInfo, RegistryTls.sslContext(configs), retry,
        Duration.ofSeconds(AvroSerdeConfig.integer(configs, AvroSerdeConfig.MISSING_ID_CACHE_TTL_SEC,
            (int) d.missingIdTtl().toSeconds())),
        AvroSerdeConfig.integer(configs, AvroSerdeConfig.MISSING_CACHE_SIZE, d.missingCacheSize()),
        AvroSerdeConfig.integer(configs, AvroSerdeConfig.LOOKUPS_MAX_CONCURRENT, d.maxConcurrentLookups()),
        AvroSerdeConfig.integer(configs, AvroSerdeConfig.LOOKUPS_PER_SECOND, (int) d.lookupsPerSecond()),
        serializerDefaults);
  }

  /** Registers {@code schema} under {@code subject} (or finds it already there); returns its id. */
  public int register(String subject, Schema schema) {
    Map<Schema, Integer> ids = idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
    Integer cached = ids.get(schema);
    if (cached != null) {
      return cached;
    }
    JsonNode response = send("POST", "/subjects/" + encode(subject) + "/versions", schemaRequest(schema));
    int id = response.path("id").asInt();
    ids.put(schema, id);
    schemasById.putIfAbsent(id, schema);
    return id;
  }

  /**
   * The schema with this global id. An id the registry answered "not found" for is not asked again for {@link
   * Settings#missingIdTtl()}: the same answer comes from the cache.
   */
  public Schema getById(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    if (missingIds.isMissing(id, System.nanoTime())) {
      throw new SchemaRegistryException(404, SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema id " + id
          + " not found (the registry said so less than " + settings.missingIdTtl().toSeconds() + " s ago)");
    }
    CompletableFuture<Schema> mine = new CompletableFuture<>();
    CompletableFuture<Schema> running = lookupsInFlight.putIfAbsent(id, mine);
    if (running != null) { // another thread is asking for this id: share its answer
      try {
        return running.join();
      } catch (CompletionException e) {
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
    }
    try {
      Schema schema = lookUp(id);
      Schema raced = schemasById.putIfAbsent(id, schema);
      mine.complete(raced == null ? schema : raced);
      return raced == null ? schema : raced;
    } catch (RuntimeException e) {
      if (e instanceof SchemaRegistryException r && !r.isRetriable() && r.status() == 404) {
        missingIds.markMissing(id, System.nanoTime());
      }
      mine.completeExceptionally(e);
      throw e;
    } finally {
      lookupsInFlight.remove(id, mine);
    }
  }

  private Schema lookUp(int id) {
    try {
      lookups.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SchemaRegistryException(SchemaRegistryException.NO_RESPONSE, SchemaRegistryException.NO_RESPONSE,
          "Interrupted while waiting to look up schema id " + id, e);
    }
    try {
      return parse(send("GET", "/schemas/ids/" + id, null));
    } finally {
      lookups.release();
    }
  }

  /** Unknown ids currently remembered (for tests and diagnostics). */
  public int missingIdsCached() {
    return missingIds.size();
  }

  /** The newest version of {@code subject}; not cached, since it changes when anyone registers. */
  public RegisteredSchema latest(String subject) {
    return registered(send("GET", "/subjects/" + encode(subject) + "/versions/latest", null));
  }

  /** Finds {@code schema} among the versions of {@code subject} without registering it. */
  public RegisteredSchema lookup(String subject, Schema schema) {
    RegisteredSchema found =
        registered(send("POST", "/subjects/" + encode(subject), schemaRequest(schema)));
    idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).put(schema, found.id());
    schemasById.putIfAbsent(found.id(), found.schema());
    return found;
  }

  /** Id of an already registered schema, from the cache or via {@link #lookup}. */
  public int getId(String subject, Schema schema) {
    Integer cached = idsBySubject.getOrDefault(subject, Map.of()).get(schema);
    return cached != null ? cached : lookup(subject, schema).id();
  }

  /** Whether {@code schema} could be registered under {@code subject} now. */
  public boolean isCompatible(String subject, Schema schema) {
    return send("POST", "/compatibility/subjects/" + encode(subject) + "/versions/latest", schemaRequest(schema))
        .path("is_compatible")
        .asBoolean(false);
  }

  /** Sets the compatibility level of one subject (PUT /config/{subject}). */
  public CompatibilityLevel updateCompatibility(String subject, CompatibilityLevel level) {
    ObjectNode body = JSON.createObjectNode().put("compatibility", level.name());
    return CompatibilityLevel.valueOf(
        send("PUT", "/config/" + encode(subject), body).path("compatibility").asText());
  }

  private static ObjectNode schemaRequest(Schema schema) {
    return JSON.createObjectNode().put("schema", schema.toString()).put("schemaType", "AVRO");
  }

  private static RegisteredSchema registered(JsonNode node) {
    return new RegisteredSchema(
        node.path("subject").asText(), node.path("version").asInt(), node.path("id").asInt(), parse(node));
  }

  private static Schema parse(JsonNode node) {
    String type = node.path("schemaType").asText("AVRO");
    if (!type.equals("AVRO")) {
      throw new SchemaRegistryException(200, SchemaRegistryException.INVALID_SCHEMA,
          "Registry returned a " + type + " schema; only AVRO is supported");
    }
    // A fresh parser per schema: a parser remembers named types and would reject a second definition.
    return new Schema.Parser().parse(node.path("schema").asText());
  }

  /** One request, retried while the failure is retriable and the {@link RetryPolicy} allows. */
  private JsonNode send(String method, String path, JsonNode body) {
    String payload;
    try {
      payload = body == null ? null : JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
    RetryPolicy retry = settings.retry();
    for (int attempt = 0; ; attempt++) {
      try {
        return sendOnce(method, path, payload);
      } catch (SchemaRegistryException e) {
        if (!e.isRetriable() || attempt >= retry.maxRetries() || Thread.currentThread().isInterrupted()) {
          if (attempt == 0 || !e.isRetriable()) {
            throw e;
          }
          throw new SchemaRegistryException(e.status(), e.errorCode(), e.getMessage() + " (gave up after "
              + (attempt + 1) + " attempts)", e.getCause(), true, e.retryAfter().orElse(null));
        }
        Duration pause = retry.backoff(attempt, e.retryAfter().orElse(null));
        LOG.log(System.Logger.Level.WARNING, "schema registry: {0}; retry {1} of {2} in {3} ms", e.getMessage(),
            attempt + 1, retry.maxRetries(), pause.toMillis());
        try {
          Thread.sleep(pause.toMillis());
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  private JsonNode sendOnce(String method, String path, String payload) {
    IOException lastFailure = null;
    int start = current.get();
    for (int attempt = 0; attempt < endpoints.size(); attempt++) {
      int index = (start + attempt) % endpoints.size();
      Endpoint endpoint = endpoints.get(index);
      HttpRequest.Builder request =
          HttpRequest.newBuilder(URI.create(endpoint.base() + path))
              .timeout(REQUEST_TIMEOUT)
              .header("Accept", ACCEPT)
              .method(method, payload == null
                  ? HttpRequest.BodyPublishers.noBody()
                  : HttpRequest.BodyPublishers.ofString(payload));
      if (payload != null) {
        request.header("Content-Type", CONTENT_TYPE);
      }
      if (endpoint.authorization() != null) {
        request.header("Authorization", endpoint.authorization());
      }
      HttpResponse<String> response;
      try {
        response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        lastFailure = e;
        current.compareAndSet(index, (index + 1) % endpoints.size());
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new SchemaRegistryException(SchemaRegistryException.NO_RESPONSE, SchemaRegistryException.NO_RESPONSE,
            "Interrupted while calling the schema registry", e);
      }
      return readResponse(method, path, response);
    }
    throw new SchemaRegistryException(SchemaRegistryException.NO_RESPONSE, SchemaRegistryException.NO_RESPONSE,
        "No schema registry reachable at " + endpoints.stream().map(Endpoint::base).toList()
            + " (" + method + " " + path + ")", lastFailure);
  }

  private static JsonNode readResponse(String method, String path, HttpResponse<String> response) {
    int status = response.statusCode();
    JsonNode json;
    try {
      json = response.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(response.body());
    } catch (JsonProcessingException e) {
      json = null;
    }
    if (status / 100 == 2 && json != null) {
      return json;
    }
    Duration retryAfter = retryAfter(response).orElse(null);
    if (json != null && json.has("error_code")) {
      throw new SchemaRegistryException(status, json.path("error_code").asInt(status),
          method + " " + path + " failed: " + json.path("message").asText("HTTP " + status), null,
          SchemaRegistryException.retriableStatus(status, true), retryAfter);
    }
    // Not the registry's own error body: a proxy, an ingress or a half-started registry answered.
    String body = response.body();
    throw new SchemaRegistryException(status, status, method + " " + path + " failed with HTTP " + status
        + (body.isBlank() ? "" : ": " + body.substring(0, Math.min(200, body.length()))), null,
        status / 100 == 2 || SchemaRegistryException.retriableStatus(status, false), retryAfter);
  }

  /** Retry-After in seconds or as an HTTP date; only 429 and 503 are taken to mean it. */
  private static Optional<Duration> retryAfter(HttpResponse<String> response) {
    if (response.statusCode() != 429 && response.statusCode() != 503) {
      return Optional.empty();
    }
    return response.headers().firstValue("Retry-After").flatMap(value -> {
      String v = value.trim();
      try {
        return Optional.of(Duration.ofSeconds(Math.max(0, Long.parseLong(v))));
      } catch (NumberFormatException notSeconds) {
        try {
          java.time.ZonedDateTime at = java.time.ZonedDateTime.parse(v,
              java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME);
          Duration d = Duration.between(java.time.Instant.now(), at.toInstant());
          return Optional.of(d.isNegative() ? Duration.ZERO : d);
        } catch (java.time.format.DateTimeParseException unreadable) {
          return Optional.empty();
        }
      }
    });
  }

  private static Endpoint endpoint(String url, String userInfo) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("Invalid schema registry URL: " + withoutUserInfo(url), e);
    }
    if (!"http".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(uri.getScheme())
        || uri.getHost() == null) {
      throw new IllegalArgumentException("Schema registry URL must be http(s)://host[:port]: "
          + withoutUserInfo(url));
    }
    String credentials = userInfo != null ? userInfo : uri.getUserInfo();
    String authorization = credentials == null ? null
        : "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
    // Rebuild without user info: credentials travel in the header, never in the request line.
    String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceAll("/+$", "");
    String base = uri.getScheme() + "://" + uri.getRawAuthority().replaceFirst("^.*@", "") + path;
    return new Endpoint(base, authorization);
  }

  /** The URL for messages: credentials in it ({@code user:pass@}) replaced, never printed. */
  static String withoutUserInfo(String url) {
    return url.replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)[^/@]*@", "$1(hidden)@");
  }

  /** Subjects are path segments: percent-encode everything, spaces included, as %20 rather than +. */
  private static String encode(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
