package io.sepshield.service;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The operations endpoint of {@code serve}: MicroProfile-Health-shaped JSON on {@code /q/health/started},
 * {@code /q/health/ready}, {@code /q/health/live} and {@code /q/health} (all three; 200 with status UP, 503 with
 * status DOWN), and Prometheus text on {@code /q/metrics}.
 *
 * <p>A JDK HTTP server rather than quarkus-smallrye-health and quarkus-micrometer-registry-prometheus: both need the
 * Quarkus HTTP server, which would start with every command (train, protect, demo) and make concurrent batch runs
 * fight over port 8080; only {@code serve} needs an endpoint. Micrometer itself is used as a plain library.
 */
public final class OpsEndpoint implements AutoCloseable {
  /** Prometheus text exposition format 0.0.4, what {@code PrometheusMeterRegistry.scrape()} writes. */
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  /** The probes, each asked on every request. */
  public interface Probes {
    /** Startup finished once: bundle loaded and warmed up, stream reached RUNNING. Stays UP afterwards. */
    boolean started();

    /** The service can take traffic now (bundle warmed up, stream RUNNING). */
    boolean ready();

    /** The process is not wedged (the stream has not died). */
    boolean live();
  }

  private static final System.Logger LOG = System.getLogger(OpsEndpoint.class.getName());

  private final HttpServer server;

  /** @param metrics the Prometheus text to serve on {@code /q/metrics}, produced per request */
  public OpsEndpoint(String host, int port, Probes probes, Supplier<String> metrics) throws IOException {
    server = HttpServer.create(new InetSocketAddress(host, port), 0);
    server.createContext("/q/health/started", e -> health(e, "startup", probes.started()));
    server.createContext("/q/health/ready", e -> health(e, "readiness", probes.ready()));
    server.createContext("/q/health/live", e -> health(e, "liveness", probes.live()));
    server.createContext("/q/health", e -> health(e, "health", probes.started() && probes.ready() && probes.live()));
    server.createContext("/q/metrics", e -> metrics(e, metrics));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void health(HttpExchange exchange, String check, boolean up) throws IOException {
    String status = up ? "UP" : "DOWN";
    answer(exchange, up ? 200 : 503, "application/json", "{\"status\":\"" + status + "\",\"checks\":[{\"name\":"
        + "\"sep-shield-" + check + "\",\"status\":\"" + status + "\"}]}");
  }

  private static void metrics(HttpExchange exchange, Supplier<String> metrics) throws IOException {
    String text;
    try {
      text = metrics.get();
    } catch (RuntimeException e) {
      // A failing meter must not take the scrape connection down without a word.
      LOG.log(System.Logger.Level.WARNING, "metrics scrape failed", e);
      answer(exchange, 500, "text/plain; charset=utf-8", "scrape failed: " + e);
      return;
    }
    answer(exchange, 200, PROMETHEUS_TEXT, text);
  }

  private static void answer(HttpExchange exchange, int code, String contentType, String body) throws IOException {
    try (exchange) {
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", contentType);
      exchange.sendResponseHeaders(code, bytes.length);
      exchange.getResponseBody().write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
