package io.sepshield.service;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sepshield.stream.BundleHolder;
import io.sepshield.stream.StreamMetrics;
import java.util.function.Supplier;

/**
 * {@code serve}'s Prometheus registry: JVM and process meters, the stream's meters ({@link StreamMetrics}) and, once
 * the stream exists, the Kafka clients' metrics.
 */
final class ServiceMetrics implements AutoCloseable {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final StreamMetrics stream = new StreamMetrics(registry);
  private final JvmGcMetrics gc = new JvmGcMetrics();

  /** @param bundles the bundle holder (null until the service has one), read on every scrape */
  ServiceMetrics(Supplier<BundleHolder> bundles) {
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    stream.followBundle(() -> bundles.get() == null ? null : bundles.get().currentBundleId());
    FunctionCounter.builder("sep.shield.bundle.swaps", bundles, b -> b.get() == null ? 0 : b.get().swaps())
        .description("Bundles hot-swapped in after a bundle-update event").register(registry);
    FunctionCounter.builder("sep.shield.bundle.refusals", bundles, b -> b.get() == null ? 0 : b.get().refusals())
        .description("Bundle-update events refused (bad checksum, wrong hash, unreadable event...); the old bundle "
            + "kept serving").register(registry);
  }

  StreamMetrics stream() {
    return stream;
  }

  /** Prometheus text of every meter, gauges re-read first. */
  String scrape() {
    stream.refresh();
    return registry.scrape();
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
