package io.sepshield.service;

import static org.junit.jupiter.api.Assertions.*;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class OpsEndpointTest {
  final AtomicBoolean started = new AtomicBoolean(false);
  final AtomicBoolean ready = new AtomicBoolean(false);
  final AtomicBoolean live = new AtomicBoolean(true);
  final OpsEndpoint.Probes probes = new OpsEndpoint.Probes() {
    @Override
    public boolean started() {
      return started.get();
    }

    @Override
    public boolean ready() {
      return ready.get();
    }

    @Override
    public boolean live() {
      return live.get();
    }
  };

  @Test
  void probesAnswerSeparatelyAndHealthNeedsAllThree() throws Exception {
    try (OpsEndpoint ops = new OpsEndpoint("127.0.0.1", 0, probes, () -> "")) {
      assertEquals(503, get(ops, "/q/health/started").statusCode());
      assertEquals(503, get(ops, "/q/health/ready").statusCode());
      assertTrue(get(ops, "/q/health/ready").body().contains("\"status\":\"DOWN\""));
      assertEquals(200, get(ops, "/q/health/live").statusCode());
      assertEquals(503, get(ops, "/q/health").statusCode());
      started.set(true);
      assertEquals(200, get(ops, "/q/health/started").statusCode());
      assertTrue(get(ops, "/q/health/started").body().contains("sep-shield-startup"));
      assertEquals(503, get(ops, "/q/health").statusCode(), "started but not ready");
      ready.set(true);
      assertEquals(200, get(ops, "/q/health/ready").statusCode());
      assertTrue(get(ops, "/q/health").body().contains("\"status\":\"UP\""));
      live.set(false);
      assertEquals(503, get(ops, "/q/health/live").statusCode());
      assertEquals(503, get(ops, "/q/health").statusCode());
    }
  }

  @Test
  void metricsAreServedFreshOnEveryScrapeAndAFailingScrapeIs500() throws Exception {
    AtomicReference<String> text = new AtomicReference<>("a_total 1.0\n");
    Supplier<String> metrics = () -> {
      String t = text.get();
      if (t == null) {
        throw new IllegalStateException("meter broke");
      }
      return t;
    };
    try (OpsEndpoint ops = new OpsEndpoint("127.0.0.1", 0, probes, metrics)) {
      HttpResponse<String> first = get(ops, "/q/metrics");
      assertEquals(200, first.statusCode());
      assertEquals("a_total 1.0\n", first.body());
      assertTrue(first.headers().firstValue("Content-Type").orElseThrow().startsWith("text/plain; version=0.0.4"));
      text.set("a_total 2.0\n");
      assertEquals("a_total 2.0\n", get(ops, "/q/metrics").body());
      text.set(null);
      HttpResponse<String> broken = get(ops, "/q/metrics");
      assertEquals(500, broken.statusCode());
      assertTrue(broken.body().contains("meter broke"), broken.body());
    }
  }

  private static HttpResponse<String> get(OpsEndpoint ops, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ops.port()
        + path)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
