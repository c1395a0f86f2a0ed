package io.sepshield.service;

import static org.junit.jupiter.api.Assertions.*;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class HealthEndpointTest {
  @Test
  void readinessIsDownUntilReadyAndLivenessIsSeparate() throws Exception {
    AtomicBoolean ready = new AtomicBoolean(false);
    AtomicBoolean live = new AtomicBoolean(true);
    try (HealthEndpoint health = new HealthEndpoint("127.0.0.1", 0, ready::get, live::get)) {
      assertEquals(503, get(health, "/q/health/ready").statusCode());
      assertTrue(get(health, "/q/health/ready").body().contains("\"status\":\"DOWN\""));
      assertEquals(200, get(health, "/q/health/live").statusCode());
      assertEquals(503, get(health, "/q/health").statusCode());
      ready.set(true);
      assertEquals(200, get(health, "/q/health/ready").statusCode());
      assertTrue(get(health, "/q/health").body().contains("\"status\":\"UP\""));
      live.set(false);
      assertEquals(503, get(health, "/q/health/live").statusCode());
      assertEquals(503, get(health, "/q/health").statusCode());
    }
  }

  private static HttpResponse<String> get(HealthEndpoint health, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + health.port()
        + path)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
