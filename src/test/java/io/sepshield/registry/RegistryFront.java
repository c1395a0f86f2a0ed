package io.sepshield.registry;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsParameters;
import com.sun.net.httpserver.HttpsServer;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;

/**
 * What stands in front of a registry in production (an ingress, a proxy, TLS termination), as an in-process HTTP(S)
 * server: it forwards every request to an {@link InMemorySchemaRegistry} unless a fault is queued, in which case it
 * answers that fault instead. Counts requests per path and the most that were in flight at once.
 */
final class RegistryFront implements AutoCloseable {
  /** An answer that is not the registry's: status, body, content type, optional Retry-After. */
  record Fault(int status, String body, String contentType, String retryAfter) {
    /** An error as Confluent's registry words it (JSON with error_code). */
    static Fault registry(int status, int errorCode, String message) {
      return new Fault(status, "{\"error_code\":" + errorCode + ",\"message\":\"" + message + "\"}",
          SchemaRegistryClient.CONTENT_TYPE, null);
    }

    /** An HTML error page, as an ingress or load balancer sends. */
    static Fault page(int status) {
      return new Fault(status, "<html><body><h1>" + status + "</h1>nginx</body></html>", "text/html", null);
    }

    Fault retryAfter(String value) {
      return new Fault(status, body, contentType, value);
    }
  }

  private final InMemorySchemaRegistry backend;
  private final HttpServer server;
  private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "registry-front");
    t.setDaemon(true);
    return t;
  });
  private final HttpClient forward = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
  private final Deque<Fault> faults = new ArrayDeque<>();
  private final Map<String, AtomicInteger> requests = new ConcurrentHashMap<>();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private volatile long delayMillis;

  /** Plain HTTP on 127.0.0.1. */
  RegistryFront(InMemorySchemaRegistry backend) throws IOException {
    this(backend, null, false);
  }

  /** HTTPS with {@code tls}; {@code needClientAuth} asks for a client certificate. */
  RegistryFront(InMemorySchemaRegistry backend, SSLContext tls, boolean needClientAuth) throws IOException {
    this.backend = backend;
    if (tls == null) {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    } else {
      HttpsServer https = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      https.setHttpsConfigurator(new HttpsConfigurator(tls) {
        @Override
        public void configure(HttpsParameters params) {
          var p = tls.getDefaultSSLParameters();
          p.setNeedClientAuth(needClientAuth);
          params.setSSLParameters(p);
        }
      });
      server = https;
    }
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  /** {@code http(s)://<host>:port} */
  String url(String host) {
    return (server instanceof HttpsServer ? "https" : "http") + "://" + host + ":" + server.getAddress().getPort();
  }

  String url() {
    return url("127.0.0.1");
  }

  /** Queues {@code count} answers of {@code fault}, served before anything is forwarded again. */
  synchronized RegistryFront fail(int count, Fault fault) {
    for (int i = 0; i < count; i++) {
      faults.add(fault);
    }
    return this;
  }

  /** The registry recovers: no more queued faults. */
  synchronized void recover() {
    faults.clear();
  }

  /** Every request waits this long before it is answered (to see concurrency). */
  void delay(long millis) {
    delayMillis = millis;
  }

  int requests(String pathPrefix) {
    return requests.entrySet().stream().filter(e -> e.getKey().startsWith(pathPrefix))
        .mapToInt(e -> e.getValue().get()).sum();
  }

  int maxInFlight() {
    return maxInFlight.get();
  }

  private synchronized Fault nextFault() {
    return faults.poll();
  }

  private void handle(HttpExchange exchange) throws IOException {
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    try (exchange) {
      String path = exchange.getRequestURI().getRawPath();
      requests.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
      if (delayMillis > 0) {
        Thread.sleep(delayMillis);
      }
      byte[] request;
      try (InputStream in = exchange.getRequestBody()) {
        request = in.readAllBytes();
      }
      Fault fault = nextFault();
      if (fault != null) {
        if (fault.retryAfter() != null) {
          exchange.getResponseHeaders().add("Retry-After", fault.retryAfter());
        }
        respond(exchange, fault.status(), fault.contentType(), fault.body().getBytes(StandardCharsets.UTF_8));
        return;
      }
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(backend.url() + exchange.getRequestURI()))
          .method(exchange.getRequestMethod(), request.length == 0 ? HttpRequest.BodyPublishers.noBody()
              : HttpRequest.BodyPublishers.ofByteArray(request));
      String contentType = exchange.getRequestHeaders().getFirst("Content-Type");
      if (contentType != null) {
        b.header("Content-Type", contentType);
      }
      HttpResponse<byte[]> answer = forward.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
      respond(exchange, answer.statusCode(), answer.headers().firstValue("Content-Type").orElse("application/json"),
          answer.body());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      inFlight.decrementAndGet();
    }
  }

  private static void respond(HttpExchange exchange, int status, String contentType, byte[] body)
      throws IOException {
    exchange.getResponseHeaders().add("Content-Type", contentType);
    exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
    if (body.length > 0) {
      exchange.getResponseBody().write(body);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
