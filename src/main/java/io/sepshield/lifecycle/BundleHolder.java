package io.sepshield.lifecycle;

import io.sepshield.bundle.BundleException;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.bundle.BundleManifest;
import io.sepshield.bundle.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

/**
 * The bundle the stream protects with, and its replacement while the service runs (hot swap).
 *
 * <p>An update is verified, loaded and warmed up on a worker thread while the stream keeps protecting with the
 * current engine: the manifest's SHA-256 against the event, every file against the manifest, the bundle id, the
 * architecture and the class list; then the checkpoints go onto the device and one image is crafted. Only then does
 * the new engine become current. Each processor holds a {@link Lease} on the engine it crafts with and moves to the
 * current one at a batch boundary (its buffer empty), so no batch mixes engines and no buffered image is crafted by
 * an engine of another input shape. An engine is closed, freeing its native memory, once it is no longer current
 * and its last lease is returned. A refused update is logged and counted, and the current engine keeps serving.
 *
 * <p>The class list is fixed by the configured bundle: uploads carry labels as indices into it, so a bundle with
 * other classes would silently change what a label means. Changing classes is a redeployment.
 */
public final class BundleHolder implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(BundleHolder.class.getName());

  private final Function<Path, ProtectionEngine> loader;
  private final Path configured;
  private final List<String> classNames;
  private final AtomicLong swaps = new AtomicLong();
  private final AtomicLong refusals = new AtomicLong();
  private volatile String lastRefusal;
  // At most one update waits for the worker; a newer one replaces it (loading a superseded bundle is wasted work).
  private final AtomicReference<BundleUpdate> queued = new AtomicReference<>();
  private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "sep-shield-bundle-loader");
    t.setDaemon(true);
    return t;
  });

  private final Object lock = new Object();
  private volatile Resident current; // written under lock
  private final Set<Resident> open = new HashSet<>(); // every engine not yet closed; guarded by lock
  private boolean closed; // guarded by lock

  /** An engine on the device and how many processors still craft with it. */
  private static final class Resident {
    final ProtectionEngine engine;
    int leases;
    boolean retired;

    Resident(ProtectionEngine engine) {
      this.engine = engine;
    }
  }

  /** The right to craft with one engine; it stays open until the lease is closed. */
  public final class Lease implements AutoCloseable {
    private final Resident resident;
    private boolean released;

    private Lease(Resident resident) {
      this.resident = resident;
    }

    public ProtectionEngine engine() {
      return resident.engine;
    }

    /** False once a newer engine has been installed: time to move at the next batch boundary. */
    public boolean isCurrent() {
      return resident == current;
    }

    @Override
    public void close() {
      if (!released) {
        released = true;
        release(resident);
      }
    }
  }

  private BundleHolder(Function<Path, ProtectionEngine> loader, Path configured, List<String> classNames) {
    this.loader = loader;
    this.configured = configured;
    this.classNames = classNames;
  }

  /**
   * A holder for the configured bundle (a bundle directory or a root whose LATEST names one), which fixes the class
   * list. Nothing is loaded yet: {@link #start} does that.
   *
   * @param loader loads a verified bundle directory onto the device
   */
  public static BundleHolder forBundle(Path configured, Function<Path, ProtectionEngine> loader) {
    Path dir = BundleLoader.resolve(configured);
    return new BundleHolder(loader, dir, BundleLoader.verify(dir).classNames());
  }

  /** A holder of one given engine that refuses every update (tests and tools that protect with a fixed engine). */
  public static BundleHolder serving(ProtectionEngine engine) {
    BundleHolder holder = new BundleHolder(dir -> {
      throw new BundleException("this service was started with a fixed engine and takes no bundle updates");
    }, null, engine.classNames());
    holder.install(engine);
    return holder;
  }

  /**
   * Loads the newest acceptable bundle, synchronously: the published updates newest first, then the configured
   * bundle. An instance that restarts after an update therefore serves the update, not the stale configuration.
   *
   * @param published updates read from the topic, oldest first
   * @throws BundleException when not even the configured bundle can be loaded
   */
  public void start(List<BundleUpdate> published) {
    List<BundleUpdate> candidates = new ArrayList<>(published);
    Collections.reverse(candidates);
    candidates.add(BundleUpdate.of(configured));
    for (BundleUpdate update : candidates) {
      if (apply(update)) {
        return;
      }
    }
    throw new BundleException("no bundle could be loaded; last refusal: " + lastRefusal);
  }

  /** Swaps to the update's bundle in the background; returns at once. */
  public void offer(BundleUpdate update) {
    if (queued.getAndSet(update) == null) {
      worker.execute(() -> {
        try {
          apply(queued.getAndSet(null));
        } catch (RuntimeException | Error e) {
          LOG.log(System.Logger.Level.ERROR, "bundle update failed unexpectedly", e);
        }
      });
    }
  }

  /**
   * Verifies, loads and warms up the update's bundle and makes it current, on the calling thread.
   *
   * @return true when it is now current (or already was), false when it was refused
   */
  public boolean apply(BundleUpdate update) {
    if (update.bundleId().equals(currentBundleId())) {
      LOG.log(System.Logger.Level.INFO, "bundle {0} is already being served", update.bundleId());
      return true;
    }
    long t0 = System.nanoTime();
    ProtectionEngine engine;
    try {
      // Verify before loading: a bad bundle never reaches the device.
      verify(update);
      engine = loader.apply(update.directory());
    } catch (RuntimeException e) {
      refuse(update.bundleId() + " at " + update.directory(), e.getMessage());
      return false;
    }
    try {
      if (!engine.bundleId().equals(update.bundleId())) { // the directory changed between verify and load
        throw new BundleException("loaded bundle is " + engine.bundleId() + ", the event says " + update.bundleId());
      }
      engine.warmUp();
    } catch (RuntimeException e) {
      closeQuietly(engine);
      refuse(update.bundleId() + " at " + update.directory(), e.getMessage());
      return false;
    }
    boolean first = current == null;
    install(engine);
    if (!first) {
      swaps.incrementAndGet();
    }
    LOG.log(System.Logger.Level.INFO, "bundle {0} loaded and warmed up in {1} ms{2}", update.bundleId(),
        (System.nanoTime() - t0) / 1_000_000, first ? "" : "; it serves from the next batch");
    return true;
  }

  private void verify(BundleUpdate update) {
    Path manifestFile = update.directory().resolve(BundleManifest.FILE_NAME);
    if (!Files.isRegularFile(manifestFile)) {
      throw new BundleException("no " + BundleManifest.FILE_NAME + " in " + update.directory());
    }
    String actual;
    try {
      actual = Sha256.of(manifestFile);
    } catch (IOException e) {
      throw new BundleException("cannot read " + manifestFile + ": " + e.getMessage(), e);
    }
    if (!actual.equalsIgnoreCase(update.sha256())) {
      throw new BundleException("manifest SHA-256 is " + actual + ", the event says " + update.sha256());
    }
    BundleManifest manifest = BundleLoader.verify(update.directory());
    if (!manifest.bundleId().equals(update.bundleId())) {
      throw new BundleException("manifest names bundle " + manifest.bundleId() + ", the event " + update.bundleId());
    }
    if (update.architecture() != null && !update.architecture().equals(manifest.architecture())) {
      throw new BundleException("architecture is " + manifest.architecture() + ", the event says "
          + update.architecture());
    }
    if (!manifest.classNames().equals(classNames)) {
      throw new BundleException("classes " + manifest.classNames() + " differ from the served " + classNames
          + " (upload labels index into them; changing classes needs a redeployment)");
    }
  }

  /** Counts and logs an update that will not be served: a refused bundle or an unreadable event. */
  public void refuse(String what, String reason) {
    refusals.incrementAndGet();
    lastRefusal = what + ": " + reason;
    String serving = currentBundleId();
    LOG.log(System.Logger.Level.WARNING, "bundle update refused ({0}): {1}",
        serving == null ? "nothing loaded yet" : serving + " keeps serving", lastRefusal);
  }

  /** Makes {@code engine} current; the previous one is closed as soon as no lease holds it. */
  public void install(ProtectionEngine engine) {
    Resident retire = null;
    synchronized (lock) {
      if (closed) {
        closeQuietly(engine);
        throw new IllegalStateException("bundle holder is closed");
      }
      Resident previous = current;
      current = new Resident(engine);
      open.add(current);
      if (previous != null) {
        previous.retired = true;
        if (previous.leases == 0) {
          open.remove(previous);
          retire = previous;
        }
      }
    }
    if (retire != null) {
      closeQuietly(retire.engine);
    }
  }

  /** A lease on the current engine; the caller closes it when it moves on or stops. */
  public Lease acquire() {
    synchronized (lock) {
      if (current == null || closed) {
        throw new IllegalStateException("no bundle is loaded");
      }
      current.leases++;
      return new Lease(current);
    }
  }

  private void release(Resident resident) {
    synchronized (lock) {
      resident.leases--;
      if (!resident.retired || resident.leases > 0 || !open.remove(resident)) {
        return;
      }
    }
    closeQuietly(resident.engine);
  }

  /** True once an engine is loaded and warmed up; stays true through refused updates. */
  public boolean hasEngine() {
    return current != null;
  }

  /** The bundle new batches are crafted with (null before {@link #start}). */
  public String currentBundleId() {
    Resident r = current;
    return r == null ? null : r.engine.bundleId();
  }

  /** Bundles swapped in while running (the one loaded at start not counted). */
  public long swaps() {
    return swaps.get();
  }

  /** Updates refused: bad bundles and unreadable events. */
  public long refusals() {
    return refusals.get();
  }

  /** What was refused last and why, or null. */
  public String lastRefusal() {
    return lastRefusal;
  }

  /** Stops loading and closes every engine, leased or not: call it after the stream has stopped. */
  @Override
  public void close() throws InterruptedException {
    worker.shutdownNow();
    worker.awaitTermination(30, TimeUnit.SECONDS);
    List<Resident> toClose;
    synchronized (lock) {
      closed = true;
      toClose = List.copyOf(open);
      open.clear();
      current = null;
    }
    toClose.forEach(r -> closeQuietly(r.engine));
  }

  private static void closeQuietly(ProtectionEngine engine) {
    try {
      engine.close();
    } catch (Exception e) {
      LOG.log(System.Logger.Level.WARNING, "closing bundle " + engine.bundleId() + " failed", e);
    }
  }
}
