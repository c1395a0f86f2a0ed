package io.sepshield.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/**
 * A schema registry held in memory and served over HTTP on 127.0.0.1, speaking the subset of the
 * Confluent REST API that clients use at run time. For the embedded demo and for tests; state is
 * lost on {@link #close()}.
 *
 * <p>Like Confluent's server: ids are global and the same schema gets the same id in every
 * subject; registering a schema the subject already has returns its id without a new version; new
 * versions are checked against the subject's compatibility level (default BACKWARD) and refused with
 * HTTP 409 / error code 409. Schemas are compared by their parsed form, so formatting does not matter.
 *
 * <pre>
 * GET  /subjects                                  GET  /schemas/ids/{id}
 * GET  /subjects/{s}/versions                     POST /compatibility/subjects/{s}/versions/{v|latest}
 * POST /subjects/{s}/versions  (register)         GET|PUT /config
 * GET  /subjects/{s}/versions/{v|latest}          GET|PUT /config/{s}
 * POST /subjects/{s}           (lookup)
 * </pre>
 */
public final class InMemorySchemaRegistry implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(InMemorySchemaRegistry.class.getName());
  private static final ObjectMapper JSON = new ObjectMapper();

  private final int requestedPort;
  private final byte[] expectedAuthorization;
  private HttpServer server;
  private ExecutorService executor;

  // All state is guarded by "this"; requests are short and few, so one lock keeps it simple.
  private final List<Schema> schemasById = new ArrayList<>(); // id = index + 1
  private final Map<String, Integer> idByCanonical = new HashMap<>();
  private final Map<String, List<Integer>> versionsBySubject = new TreeMap<>(); // version = index + 1
  private final Map<String, CompatibilityLevel> subjectLevels = new HashMap<>();
  private CompatibilityLevel globalLevel = CompatibilityLevel.BACKWARD;

  /** Ephemeral port, no authentication. */
  public InMemorySchemaRegistry() {
    this(0, null);
  }

  /**
   * @param port TCP port on 127.0.0.1, 0 for an ephemeral one
   * @param basicAuthUserInfo {@code user:password} every request must present, or null for none
   */
  public InMemorySchemaRegistry(int port, String basicAuthUserInfo) {
    this.requestedPort = port;
    this.expectedAuthorization = basicAuthUserInfo == null ? null
        : ("Basic " + Base64.getEncoder().encodeToString(basicAuthUserInfo.getBytes(StandardCharsets.UTF_8)))
            .getBytes(StandardCharsets.US_ASCII);
  }

  public synchronized InMemorySchemaRegistry start() throws IOException {
    if (server != null) {
      throw new IllegalStateException("Already started");
    }
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", requestedPort), 0);
    executor = Executors.newFixedThreadPool(4, r -> {
      Thread t = new Thread(r, "in-memory-schema-registry");
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
    return this;
  }

  /** Base URL, e.g. {@code http://127.0.0.1:41234}. */
  public synchronized String url() {
    if (server == null) {
      throw new IllegalStateException("Not started");
    }
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  @Override
  public synchronized void close() {
    if (server != null) {
      server.stop(0);
      executor.shutdownNow();
      server = null;
    }
  }

  /** An error answer: HTTP status is the first three digits of the Confluent error code. */
  private static final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int errorCode;

    ApiError(int errorCode, String message) {
      super(message, null, false, false);
      this.errorCode = errorCode;
    }

    int status() {
      return errorCode < 1000 ? errorCode : errorCode / 100;
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    int status = 200;
    JsonNode body;
    try (exchange) {
      try {
        if (!authorized(exchange)) {
          exchange.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"SchemaRegistry\"");
          throw new ApiError(SchemaRegistryException.UNAUTHORIZED, "Unauthorized");
        }
        body = route(exchange);
      } catch (ApiError e) {
        status = e.status();
        body = JSON.createObjectNode().put("error_code", e.errorCode).put("message", e.getMessage());
      } catch (RuntimeException e) {
        LOG.log(System.Logger.Level.ERROR, "Schema registry request failed", e);
        status = 500;
        body = JSON.createObjectNode().put("error_code", 50001).put("message", String.valueOf(e));
      }
      byte[] bytes = JSON.writeValueAsBytes(body);
      exchange.getResponseHeaders().add("Content-Type", SchemaRegistryClient.CONTENT_TYPE);
      exchange.sendResponseHeaders(status, bytes.length);
      exchange.getResponseBody().write(bytes);
    }
  }

  private boolean authorized(HttpExchange exchange) {
    if (expectedAuthorization == null) {
      return true;
    }
    String given = exchange.getRequestHeaders().getFirst("Authorization");
    // Constant-time comparison: do not leak how much of the password matched.
    return given != null && MessageDigest.isEqual(expectedAuthorization, given.getBytes(StandardCharsets.US_ASCII));
  }

  private JsonNode route(HttpExchange exchange) throws IOException {
    String method = exchange.getRequestMethod().toUpperCase(Locale.ROOT);
    List<String> p = segments(exchange.getRequestURI().getRawPath());
    Map<String, String> query = query(exchange.getRequestURI().getRawQuery());
    String root = p.isEmpty() ? "" : p.get(0);
    switch (root + "/" + p.size()) {
      case "subjects/1":
        expect(method, "GET");
        return JSON.valueToTree(subjects());
      case "subjects/2":
        expect(method, "POST");
        return lookup(p.get(1), readSchema(exchange));
      case "subjects/3":
        requireSegment(p, 2, "versions");
        if (method.equals("POST")) {
          return JSON.createObjectNode().put("id", register(p.get(1), readSchema(exchange)));
        }
        expect(method, "GET");
        return JSON.valueToTree(versions(p.get(1)));
      case "subjects/4":
        requireSegment(p, 2, "versions");
        expect(method, "GET");
        return version(p.get(1), p.get(3));
      case "schemas/3":
        requireSegment(p, 1, "ids");
        expect(method, "GET");
        return JSON.createObjectNode().put("schema", schemaById(p.get(2)).toString());
      case "compatibility/5":
        requireSegment(p, 1, "subjects");
        requireSegment(p, 3, "versions");
        expect(method, "POST");
        return compatibility(p.get(2), p.get(4), readSchema(exchange), "true".equals(query.get("verbose")));
      case "config/1":
      case "config/2":
        String subject = p.size() == 2 ? p.get(1) : null;
        if (method.equals("PUT")) {
          return JSON.createObjectNode().put("compatibility", setLevel(subject, readLevel(exchange)).name());
        }
        expect(method, "GET");
        return JSON.createObjectNode()
            .put("compatibilityLevel", level(subject, "true".equals(query.get("defaultToGlobal"))).name());
      default:
        throw new ApiError(404, "HTTP 404 Not Found");
    }
  }

  private synchronized List<String> subjects() {
    return new ArrayList<>(versionsBySubject.keySet());
  }

  private synchronized List<Integer> versions(String subject) {
    List<Integer> numbers = new ArrayList<>();
    for (int v = 1; v <= subjectVersions(subject).size(); v++) {
      numbers.add(v);
    }
    return numbers;
  }

  private synchronized ObjectNode version(String subject, String version) {
    List<Integer> ids = subjectVersions(subject);
    int v = versionNumber(version, ids);
    return versionNode(subject, v, ids.get(v - 1));
  }

  private synchronized int register(String subject, Schema schema) {
    List<Integer> ids = versionsBySubject.getOrDefault(subject, List.of());
    Integer existingId = idByCanonical.get(schema.toString());
    if (existingId != null && ids.contains(existingId)) {
      return existingId; // idempotent: no new version for a schema the subject already has
    }
    List<String> problems = incompatibilities(subject, schema, ids, ids.size());
    if (!problems.isEmpty()) {
      throw new ApiError(SchemaRegistryException.INCOMPATIBLE_SCHEMA,
          "Schema being registered is incompatible with an earlier schema for subject \"" + subject
              + "\", details: " + problems);
    }
    int id = existingId != null ? existingId : newId(schema);
    versionsBySubject.computeIfAbsent(subject, s -> new ArrayList<>()).add(id);
    return id;
  }

  private int newId(Schema schema) {
    schemasById.add(schema);
    int id = schemasById.size();
    idByCanonical.put(schema.toString(), id);
    return id;
  }

  private synchronized ObjectNode lookup(String subject, Schema schema) {
    List<Integer> ids = subjectVersions(subject);
    int v = ids.indexOf(idByCanonical.get(schema.toString())) + 1;
    if (v == 0) {
      throw new ApiError(SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema not found");
    }
    return versionNode(subject, v, ids.get(v - 1));
  }

  private synchronized Schema schemaById(String idText) {
    int id = parseInt(idText, SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema " + idText + " not found");
    if (id < 1 || id > schemasById.size()) {
      throw new ApiError(SchemaRegistryException.SCHEMA_NOT_FOUND, "Schema " + id + " not found");
    }
    return schemasById.get(id - 1);
  }

  private synchronized ObjectNode compatibility(String subject, String version, Schema schema, boolean verbose) {
    List<Integer> ids = versionsBySubject.getOrDefault(subject, List.of());
    List<String> problems;
    if (version.equals("latest")) {
      problems = incompatibilities(subject, schema, ids, ids.size()); // nothing registered: compatible
    } else {
      int v = versionNumber(version, subjectVersions(subject));
      problems = level(subject, true).incompatibilities(schema, schemasById.get(ids.get(v - 1) - 1));
    }
    ObjectNode result = JSON.createObjectNode().put("is_compatible", problems.isEmpty());
    if (verbose) {
      result.set("messages", JSON.valueToTree(problems));
    }
    return result;
  }

  /** Problems with adding {@code schema} after the first {@code count} versions of the subject. */
  private List<String> incompatibilities(String subject, Schema schema, List<Integer> ids, int count) {
    CompatibilityLevel level = level(subject, true);
    List<String> problems = new ArrayList<>();
    int from = level.transitive() ? 0 : Math.max(0, count - 1);
    for (int i = from; i < count; i++) {
      problems.addAll(level.incompatibilities(schema, schemasById.get(ids.get(i) - 1)));
    }
    return problems;
  }

  private synchronized CompatibilityLevel level(String subject, boolean defaultToGlobal) {
    if (subject == null) {
      return globalLevel;
    }
    CompatibilityLevel level = subjectLevels.get(subject);
    if (level == null && !defaultToGlobal) {
      throw new ApiError(SchemaRegistryException.SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED,
          "Subject '" + subject + "' does not have subject-level compatibility configured");
    }
    return level != null ? level : globalLevel;
  }

  private synchronized CompatibilityLevel setLevel(String subject, CompatibilityLevel level) {
    if (subject == null) {
      globalLevel = level;
    } else {
      subjectLevels.put(subject, level);
    }
    return level;
  }

  private List<Integer> subjectVersions(String subject) {
    List<Integer> ids = versionsBySubject.get(subject);
    if (ids == null) {
      throw new ApiError(SchemaRegistryException.SUBJECT_NOT_FOUND, "Subject '" + subject + "' not found.");
    }
    return ids;
  }

  private static int versionNumber(String version, List<Integer> ids) {
    if (version.equals("latest")) {
      return ids.size();
    }
    int v = parseInt(version, SchemaRegistryException.INVALID_VERSION,
        "The specified version '" + version + "' is not a valid version id");
    if (v < 1) {
      throw new ApiError(SchemaRegistryException.INVALID_VERSION,
          "The specified version '" + version + "' is not a valid version id");
    }
    if (v > ids.size()) {
      throw new ApiError(SchemaRegistryException.VERSION_NOT_FOUND, "Version " + v + " not found.");
    }
    return v;
  }

  private ObjectNode versionNode(String subject, int version, int id) {
    return JSON.createObjectNode()
        .put("subject", subject)
        .put("version", version)
        .put("id", id)
        .put("schema", schemasById.get(id - 1).toString());
  }

  private static Schema readSchema(HttpExchange exchange) throws IOException {
    JsonNode request = readJson(exchange);
    String type = request.path("schemaType").asText("AVRO");
    if (!type.equals("AVRO")) {
      throw new ApiError(SchemaRegistryException.INVALID_SCHEMA, "Unsupported schema type " + type);
    }
    if (!request.path("references").isMissingNode() && !request.path("references").isEmpty()) {
      throw new ApiError(SchemaRegistryException.INVALID_SCHEMA, "Schema references are not supported");
    }
    if (!request.path("schema").isTextual()) {
      throw new ApiError(SchemaRegistryException.INVALID_SCHEMA, "Missing \"schema\"");
    }
    try {
      return new Schema.Parser().parse(request.path("schema").asText());
    } catch (SchemaParseException | IllegalArgumentException e) {
      throw new ApiError(SchemaRegistryException.INVALID_SCHEMA, "Invalid schema: " + e.getMessage());
    }
  }

  private static CompatibilityLevel readLevel(HttpExchange exchange) throws IOException {
    String level = readJson(exchange).path("compatibility").asText("");
    try {
      return CompatibilityLevel.valueOf(level.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ApiError(SchemaRegistryException.INVALID_COMPATIBILITY_LEVEL,
          "Invalid compatibility level. Valid values are " + Arrays.toString(CompatibilityLevel.values()));
    }
  }

  private static JsonNode readJson(HttpExchange exchange) throws IOException {
    try (InputStream in = exchange.getRequestBody()) {
      JsonNode node = JSON.readTree(in);
      if (node == null || !node.isObject()) {
        throw new ApiError(400, "Request body must be a JSON object");
      }
      return node;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new ApiError(400, "Malformed JSON: " + e.getOriginalMessage());
    }
  }

  private static void expect(String method, String allowed) {
    if (!method.equals(allowed)) {
      throw new ApiError(405, "HTTP 405 Method Not Allowed");
    }
  }

  private static void requireSegment(List<String> path, int index, String expected) {
    if (!path.get(index).equals(expected)) {
      throw new ApiError(404, "HTTP 404 Not Found");
    }
  }

  private static int parseInt(String text, int errorCode, String message) {
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      throw new ApiError(errorCode, message);
    }
  }

  private static List<String> segments(String rawPath) {
    List<String> out = new ArrayList<>();
    for (String s : rawPath.split("/")) {
      if (!s.isEmpty()) {
        out.add(decode(s));
      }
    }
    return out;
  }

  private static Map<String, String> query(String rawQuery) {
    Map<String, String> out = new HashMap<>();
    if (rawQuery != null) {
      for (String pair : rawQuery.split("&")) {
        int eq = pair.indexOf('=');
        if (eq > 0) {
          out.put(decode(pair.substring(0, eq)), decode(pair.substring(eq + 1)));
        }
      }
    }
    return out;
  }

  /** Percent-decoding only: URLDecoder alone would also turn a literal '+' into a space. */
  private static String decode(String s) {
    return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
