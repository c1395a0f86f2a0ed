package io.sepshield.lifecycle;

import io.sepshield.bundle.BundleException;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.bundle.BundleManifest;
import io.sepshield.bundle.BundleNotReadyException;
import io.sepshield.bundle.Sha256;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
 * <p>Faults: an offered update whose files are not all there yet ({@link BundleNotReadyException}: a shared volume
 * lagging the event) is retried with exponential backoff for a bounded time before it is refused, so instances do
 * not stay split across bundles; a newer offer supersedes it. A bundle id republished with another manifest SHA-256
 * is refused loudly (ERROR, {@link #conflicts()}): ids name immutable bundles, and two instances must never serve
 * different bundles under one id. The same id and SHA again is a no-op.
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
  private final AtomicLong conflicts = new AtomicLong();
  private volatile String lastRefusal;
  // Manifest SHA-256 of every bundle id served so far: an id names one immutable bundle.
  private final Map<String, String> shaById = new ConcurrentHashMap<>();
  private volatile Duration retryWindow = Duration.ofMinutes(5);
  private volatile Duration firstRetry = Duration.ofSeconds(1);
  private static final Duration MAX_RETRY = Duration.ofSeconds(30);

  /** An offered update and its retries so far. */
  private record Pending(BundleUpdate update, int retries, long firstTriedAt, long offer) {}

  private final AtomicLong offers = new AtomicLong();

  // At most one update waits for the worker; a newer one replaces it (loading a superseded bundle is wasted work).
  private final AtomicReference<Pending> queued = new AtomicReference<>();
  private final ScheduledExecutorService worker = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "sep-shield-bundle-loader");
    t.setDaemon(true);
    return t;
  });

  private enum Outcome { SERVED, REFUSED, NOT_READY }

  private record Attempt(Outcome outcome, String reason) {}

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
    BundleUpdate configuredUpdate = BundleUpdate.of(configured);
    candidates.add(configuredUpdate);
    BundleUpdate awaited = null; // the newest published bundle whose files are not all there yet
    for (BundleUpdate update : candidates) {
      Attempt a = attempt(update);
      if (a.outcome() == Outcome.SERVED) {
        if (awaited != null) {
          offer(awaited); // serve an older bundle meanwhile, and keep trying the newest in the background
        }
        return;
      }
      if (a.outcome() == Outcome.NOT_READY && awaited == null && update != configuredUpdate) {
        awaited = update;
        LOG.log(System.Logger.Level.WARNING, "bundle {0} is not ready ({1}); starting with an older one and "
            + "retrying it", update.bundleId(), a.reason());
      } else {
        refuse(describe(update), a.reason());
      }
    }
    throw new BundleException("no bundle could be loaded; last refusal: " + lastRefusal);
  }

  /**
   * How long an offered update whose files are not all there is retried, and the first pause (doubled each time,
   * at most 30 s). Default: 5 minutes from 1 s.
   */
  public BundleHolder retryNotReadyUpdates(Duration window, Duration first) {
    this.retryWindow = window;
    this.firstRetry = first;
    return this;
  }

  /** Swaps to the update's bundle in the background; returns at once. */
  public void offer(BundleUpdate update) {
    Pending pending = new Pending(update, 0, System.nanoTime(), offers.incrementAndGet());
    if (queued.getAndSet(pending) == null) {
      worker.execute(this::drain);
    }
  }

  /** Applies the newest queued update; one that is not ready yet is queued again after a pause, unless superseded. */
  private void drain() {
    Pending p = queued.getAndSet(null);
    if (p == null) {
      return;
    }
    try {
      Attempt a = attempt(p.update());
      switch (a.outcome()) {
        case SERVED -> { }
        case REFUSED -> refuse(describe(p.update()), a.reason());
        case NOT_READY -> {
          long elapsed = System.nanoTime() - p.firstTriedAt();
          long pause = Math.min(MAX_RETRY.toMillis(), firstRetry.toMillis() << Math.min(p.retries(), 20));
          if (elapsed + Duration.ofMillis(pause).toNanos() > retryWindow.toNanos()) {
            refuse(describe(p.update()), a.reason() + " (still not ready after " + (p.retries() + 1)
                + " attempts over " + Duration.ofNanos(elapsed).toSeconds() + " s)");
          } else {
            LOG.log(System.Logger.Level.WARNING, "bundle {0} not ready ({1}); retry {2} in {3} ms",
                p.update().bundleId(), a.reason(), p.retries() + 1, pause);
            Pending again = new Pending(p.update(), p.retries() + 1, p.firstTriedAt(), p.offer());
            worker.schedule(() -> {
              // A newer offer, queued or already applied, supersedes the retry.
              if (offers.get() == again.offer() && queued.compareAndSet(null, again)) {
                drain();
              }
            }, pause, java.util.concurrent.TimeUnit.MILLISECONDS);
          }
        }
      }
    } catch (RuntimeException | Error e) {
      LOG.log(System.Logger.Level.ERROR, "bundle update failed unexpectedly", e);
    }
  }

  /**
   * Verifies, loads and warms up the update's bundle and makes it current, on the calling thread; one attempt.
   *
   * @return true when it is now current (or already was), false when it was refused
   */
  public boolean apply(BundleUpdate update) {
    Attempt a = attempt(update);
    if (a.outcome() != Outcome.SERVED) {
      refuse(describe(update), a.reason());
    }
    return a.outcome() == Outcome.SERVED;
  }

  private static String describe(BundleUpdate update) {
    return update.bundleId() + " at " + update.directory();
  }

  /** One try at serving the update; counts nothing but conflicts. */
  private Attempt attempt(BundleUpdate update) {
    String known = shaById.get(update.bundleId());
    if (known != null && !known.equalsIgnoreCase(update.sha256())) {
      conflicts.incrementAndGet();
      String reason = "bundle id " + update.bundleId() + " was already served with manifest SHA-256 " + known
          + "; republished with " + update.sha256() + ". Bundle ids must name one immutable bundle: publish the "
          + "new one under a new id";
      LOG.log(System.Logger.Level.ERROR, "bundle update conflict: {0}", reason);
      return new Attempt(Outcome.REFUSED, reason);
    }
    if (update.bundleId().equals(currentBundleId())) {
      LOG.log(System.Logger.Level.INFO, "bundle {0} is already being served", update.bundleId());
      return new Attempt(Outcome.SERVED, null);
    }
    long t0 = System.nanoTime();
    ProtectionEngine engine;
    try {
      // Verify before loading: a bad bundle never reaches the device.
      verify(update);
      engine = loader.apply(update.directory());
    } catch (BundleNotReadyException e) {
      return new Attempt(Outcome.NOT_READY, e.getMessage());
    } catch (RuntimeException e) {
      return new Attempt(Outcome.REFUSED, e.getMessage());
    }
    try {
      if (!engine.bundleId().equals(update.bundleId())) { // the directory changed between verify and load
        throw new BundleException("loaded bundle is " + engine.bundleId() + ", the event says " + update.bundleId());
      }
      engine.warmUp();
    } catch (RuntimeException e) {
      closeQuietly(engine);
      return new Attempt(Outcome.REFUSED, e.getMessage());
    }
    boolean first = current == null;
    install(engine);
    shaById.put(update.bundleId(), update.sha256());
    if (!first) {
      swaps.incrementAndGet();
    }
    LOG.log(System.Logger.Level.INFO, "bundle {0} loaded and warmed up in {1} ms{2}", update.bundleId(),
        (System.nanoTime() - t0) / 1_000_000, first ? "" : "; it serves from the next batch");
    return new Attempt(Outcome.SERVED, null);
  }

  private void verify(BundleUpdate update) {
    Path manifestFile = update.directory().resolve(BundleManifest.FILE_NAME);
    if (!Files.isRegularFile(manifestFile)) {
      throw new BundleNotReadyException("no " + BundleManifest.FILE_NAME + " in " + update.directory());
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

  /** Updates refused because their bundle id was already served with another manifest SHA-256 (also refusals). */
  public long conflicts() {
    return conflicts.get();
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
