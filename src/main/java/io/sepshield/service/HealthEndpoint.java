package io.sepshield.service;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.BooleanSupplier;

/**
 * MicroProfile-Health-shaped JSON on {@code /q/health}, {@code /q/health/ready} and {@code /q/health/live}: 200 with
 * status UP, 503 with status DOWN.
 *
 * <p>A JDK HTTP server rather than quarkus-smallrye-health: the Quarkus HTTP server would start with every command
 * (train, protect, demo) and make concurrent batch runs fight over port 8080; only {@code serve} needs an endpoint.
 */
public final class HealthEndpoint implements AutoCloseable {
  private final HttpServer server;

  /**
   * @param ready the service can take traffic (bundle loaded and warmed up, stream running)
   * @param live the process is not wedged (the stream has not died)
   */
  public HealthEndpoint(String host, int port, BooleanSupplier ready, BooleanSupplier live) throws IOException {
    server = HttpServer.create(new InetSocketAddress(host, port), 0);
    server.createContext("/q/health/ready", e -> answer(e, "readiness", ready.getAsBoolean()));
    server.createContext("/q/health/live", e -> answer(e, "liveness", live.getAsBoolean()));
    server.createContext("/q/health", e -> answer(e, "readiness", ready.getAsBoolean() && live.getAsBoolean()));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void answer(HttpExchange exchange, String check, boolean up) throws IOException {
    try (exchange) {
      String status = up ? "UP" : "DOWN";
      byte[] body = ("{\"status\":\"" + status + "\",\"checks\":[{\"name\":\"sep-shield-" + check
          + "\",\"status\":\"" + status + "\"}]}").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(up ? 200 : 503, body.length);
      exchange.getResponseBody().write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
