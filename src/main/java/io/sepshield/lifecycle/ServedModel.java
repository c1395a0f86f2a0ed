package io.sepshield.lifecycle;

import ai.djl.Device;
import io.sepshield.registry.SchemaRegistryClient;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The model side of the running service as a CDI bean: the {@link BundleHolder} (engines on the device), the
 * follower of the bundle-updates topic that hot-swaps them, and the {@link ProgressWatchdog} every crafting call
 * reports to. Its {@link PreDestroy} frees the engines' native memory.
 *
 * <p>A {@code @Singleton}: Quarkus destroys singletons after the {@code @ApplicationScoped} beans, so the stream that
 * crafts with these engines ({@code io.sepshield.service.ProtectionServer}) has stopped before they are freed.
 */
@Singleton
public class ServedModel implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ServedModel.class.getName());

  /** How to load a bundle onto the device: the crafting settings every engine gets. */
  public record EngineSpec(Device device, Method method, Profile profile, float eps255, long seed) {}

  /** Where bundle updates are published. */
  public record UpdatesTopic(String bootstrapServers, Map<String, String> clientProperties, String topic,
      SchemaRegistryClient registry) {}

  private final ProgressWatchdog watchdog = new ProgressWatchdog();
  private volatile BundleHolder bundles;
  private volatile BundleUpdates updates;
  private volatile boolean retainEngines;
  private boolean closed;

  /**
   * Loads and warms up the newest acceptable bundle (the newest published update, else the configured one) and
   * follows the updates topic from there. Synchronous: the stream may start once this returns.
   */
  public synchronized BundleHolder start(Path configured, EngineSpec spec, UpdatesTopic topic, Duration catchUp) {
    if (closed || bundles != null) {
      throw new IllegalStateException(closed ? "the model is closed" : "the model is already started");
    }
    BundleHolder holder = BundleHolder.forBundle(configured, dir -> ProtectionEngine.load(dir, spec.device(),
        spec.method(), spec.profile(), spec.eps255(), spec.seed()).watchedBy(watchdog));
    bundles = holder;
    updates = new BundleUpdates(topic.bootstrapServers(), topic.clientProperties(), topic.topic(), topic.registry());
    holder.start(updates.catchUp(holder, catchUp));
    updates.follow(holder);
    return holder;
  }

  /** The holder, or null before {@link #start}. */
  public BundleHolder bundles() {
    return bundles;
  }

  /** A bundle is loaded and warmed up (stays true through refused updates). */
  public boolean loaded() {
    BundleHolder b = bundles;
    return b != null && b.hasEngine();
  }

  /** The bundle-updates follower is running, so a published bundle would be swapped in. */
  public boolean followingUpdates() {
    BundleUpdates u = updates;
    // Alive and still completing polls: a follower stuck in a poll for minutes receives no updates either.
    return u != null && u.following() && u.followerHealthy();
  }

  public ProgressWatchdog watchdog() {
    return watchdog;
  }

  /**
   * Keeps the engines on the device at {@link #close}: a stream thread that did not stop within its close timeout may
   * still be crafting with one, and freeing its native memory under it would crash the JVM. The process is exiting;
   * the operating system reclaims the memory.
   */
  public void retainEngines() {
    retainEngines = true;
  }

  /** Stops following the updates topic (before its broker goes away); the engines stay. Idempotent. */
  public synchronized void stopFollowing() {
    BundleUpdates u = updates;
    updates = null;
    if (u != null) {
      try {
        u.close();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Stops following updates and frees every engine (unless {@link #retainEngines} was called). Idempotent. */
  @PreDestroy
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    stopFollowing();
    try {
      if (bundles != null) {
        if (retainEngines) {
          LOG.log(System.Logger.Level.WARNING, "bundle engines left to the process exit: a stream thread may still "
              + "be crafting with one");
        } else {
          bundles.close();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
