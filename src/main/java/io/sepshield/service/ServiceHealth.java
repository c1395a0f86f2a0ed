package io.sepshield.service;

import io.sepshield.lifecycle.BundleHolder;
import io.sepshield.stream.ProtectionService;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Inject;
import java.util.List;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

/**
 * The probes Kubernetes asks, served by SmallRye Health on {@code /q/health/started}, {@code /q/health/ready} and
 * {@code /q/health/live} (all three on {@code /q/health}), in the standard JSON with each check's data.
 */
@ApplicationScoped
public class ServiceHealth {
  @Inject
  ProtectionServer server;

  /** Startup: the bundle is loaded onto the device and warmed up (one image crafted). */
  @Produces
  @Startup
  HealthCheck bundleLoaded() {
    return () -> withBundle(HealthCheckResponse.named("sep-shield-bundle").status(server.started())).build();
  }

  /** Readiness: the stream is RUNNING and the bundle-updates follower runs; DOWN while rebalancing or stopping. */
  @Produces
  @Readiness
  HealthCheck streamRunning() {
    return () -> {
      ProtectionService s = server.service();
      return withBundle(HealthCheckResponse.named("sep-shield-stream").status(server.ready())
          .withData("stream", s == null ? "not started" : s.state().toString())
          .withData("bundle-updates", server.followingUpdates() ? "following" : "not followed"))
          .build();
    };
  }

  /**
   * Liveness: the process makes progress. DOWN when a crafting call or a stream thread has not come back within the
   * progress timeout (a wedged device call leaves the Kafka Streams state RUNNING, so only a watchdog sees it), or
   * when the stream died; a restart is then the remedy.
   */
  @Produces
  @Liveness
  HealthCheck progressing() {
    return () -> {
      List<String> stuck = server.stuck();
      HealthCheckResponseBuilder b = HealthCheckResponse.named("sep-shield-progress").status(stuck.isEmpty())
          .withData("progress-timeout", server.progressTimeout().toString());
      for (int i = 0; i < stuck.size(); i++) {
        b.withData("stuck-" + i, stuck.get(i));
      }
      return b.build();
    };
  }

  private HealthCheckResponseBuilder withBundle(HealthCheckResponseBuilder b) {
    BundleHolder bundles = server.bundles();
    String id = bundles == null ? null : bundles.currentBundleId();
    return id == null ? b : b.withData("bundle", id);
  }
}
