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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.Schema;
import org.apache.kafka.common.config.ConfigException;

/**
 * Client for the subset of the Confluent Schema Registry REST API that our serdes need.
 *
 * <p>Thread-safe. Several URLs may be given: a request goes to the last URL that worked and moves on
 * to the next only when a URL cannot be reached (an HTTP error is an answer, not an outage, exactly
 * as in Confluent's client). Registered ids and fetched schemas are cached without bound: schemas
 * are immutable once registered and a service only ever sees a handful.
 */
public final class SchemaRegistryClient {
  public static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final String ACCEPT =
      CONTENT_TYPE + ", application/vnd.schemaregistry+json; qs=0.9, application/json; qs=0.5";
  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  private record Endpoint(String base, String authorization) {}

  private final List<Endpoint> endpoints;
  private final AtomicInteger current = new AtomicInteger();
  private final HttpClient http;
  private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();

  /** Credentials, if any, come from the user info of each URL ({@code http://user:pass@host}). */
  public SchemaRegistryClient(String urls) {
    this(urls, null);
  }

  /**
   * @param urls comma-separated registry base URLs
   * @param userInfo {@code user:password} sent to every URL, or null to use each URL's user info
   */
  public SchemaRegistryClient(String urls, String userInfo) {
    if (urls == null || urls.isBlank()) {
      throw new IllegalArgumentException("No schema registry URL given");
    }
    List<Endpoint> list = new ArrayList<>();
    for (String url : urls.split(",")) {
      if (!url.isBlank()) {
        list.add(endpoint(url.trim(), userInfo));
      }
    }
    this.endpoints = List.copyOf(list);
    // HTTP/1.1 only: the JDK client would otherwise try an h2c upgrade the registry does not speak.
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(CONNECT_TIMEOUT)
            .build();
  }

  /** Builds a client from serde configuration (see {@link AvroSerdeConfig} for the keys). */
  public static SchemaRegistryClient fromConfig(Map<String, ?> configs) {
    String urls = AvroSerdeConfig.string(configs, AvroSerdeConfig.SCHEMA_REGISTRY_URL);
    if (urls == null || urls.isBlank()) {
      throw new ConfigException("Missing required configuration \"" + AvroSerdeConfig.SCHEMA_REGISTRY_URL + "\"");
    }
    String source = AvroSerdeConfig.string(configs, AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE);
    source = source == null ? "URL" : source.trim().toUpperCase(Locale.ROOT);
    switch (source) {
      case "URL":
        return new SchemaRegistryClient(urls);
      case "USER_INFO":
        String userInfo = AvroSerdeConfig.string(configs, AvroSerdeConfig.BASIC_AUTH_USER_INFO);
        if (userInfo == null || !userInfo.contains(":")) {
          throw new ConfigException(AvroSerdeConfig.BASIC_AUTH_USER_INFO, "(hidden)",
              "Must be user:password when " + AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE + "=USER_INFO");
        }
        return new SchemaRegistryClient(urls, userInfo);
      default:
        throw new ConfigException(AvroSerdeConfig.BASIC_AUTH_CREDENTIALS_SOURCE, source,
            "Supported: URL, USER_INFO");
    }
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

  /** The schema with this global id. */
  public Schema getById(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    Schema schema = parse(send("GET", "/schemas/ids/" + id, null));
    Schema raced = schemasById.putIfAbsent(id, schema);
    return raced == null ? schema : raced;
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

  private JsonNode send(String method, String path, JsonNode body) {
    String payload;
    try {
      payload = body == null ? null : JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
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
    if (json != null && json.has("error_code")) {
      throw new SchemaRegistryException(status, json.path("error_code").asInt(status),
          method + " " + path + " failed: " + json.path("message").asText("HTTP " + status));
    }
    String body = response.body();
    throw new SchemaRegistryException(status, status, method + " " + path + " failed with HTTP " + status
        + (body.isBlank() ? "" : ": " + body.substring(0, Math.min(200, body.length()))));
  }

  private static Endpoint endpoint(String url, String userInfo) {
    URI uri;
    try {
      uri = new URI(url);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("Invalid schema registry URL: " + url, e);
    }
    if (!"http".equalsIgnoreCase(uri.getScheme()) && !"https".equalsIgnoreCase(uri.getScheme())
        || uri.getHost() == null) {
      throw new IllegalArgumentException("Schema registry URL must be http(s)://host[:port]: " + url);
    }
    String credentials = userInfo != null ? userInfo : uri.getUserInfo();
    String authorization = credentials == null ? null
        : "Basic " + Base64.getEncoder().encodeToString(credentials.getBytes(StandardCharsets.UTF_8));
    // Rebuild without user info: credentials travel in the header, never in the request line.
    String path = uri.getRawPath() == null ? "" : uri.getRawPath().replaceAll("/+$", "");
    String base = uri.getScheme() + "://" + uri.getRawAuthority().replaceFirst("^.*@", "") + path;
    return new Endpoint(base, authorization);
  }

  /** Subjects are path segments: percent-encode everything, spaces included, as %20 rather than +. */
  private static String encode(String segment) {
    return URLEncoder.encode(segment, StandardCharsets.UTF_8).replace("+", "%20");
  }
}
