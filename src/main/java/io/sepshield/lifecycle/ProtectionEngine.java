package io.sepshield.lifecycle;

import ai.djl.Device;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.LabeledImages;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.ProtectedBatch;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.Protector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A loaded bundle with its crafting settings: what the stream processor needs to protect a batch and to describe the
 * result (bundle id, profile, input shape).
 */
public final class ProtectionEngine implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ProtectionEngine.class.getName());

  private final String bundleId;
  private final String profile;
  private final Protector protector;
  private final AutoCloseable resources;
  private final List<String> classNames;
  private final int channels;
  private final int height;
  private final int width;
  private volatile ProgressWatchdog watchdog = new ProgressWatchdog();

  /**
   * @param resources closed with the engine (the loaded bundle or the ensemble)
   */
  public ProtectionEngine(String bundleId, String profile, CheckpointEnsemble ensemble, ProtectionSettings settings,
      AutoCloseable resources) {
    this.bundleId = bundleId;
    this.profile = profile;
    this.protector = new Protector(ensemble, settings);
    this.resources = resources;
    long[] shape = ensemble.inputShape();
    this.channels = (int) shape[0];
    this.height = (int) shape[1];
    this.width = (int) shape[2];
    List<String> names = new ArrayList<>();
    for (int k = 0; k < ensemble.numClasses(); k++) {
      names.add("class-" + k);
    }
    this.classNames = List.copyOf(names);
  }

  /** Loads a bundle (directory or a folder with LATEST) and derives the settings from the profile. */
  public static ProtectionEngine load(Path bundle, Device device, Method method, Profile profile, float eps255,
      long seed) {
    BundleLoader.LoadedBundle loaded = BundleLoader.load(bundle, device);
    try {
      ProtectionSettings settings = profile.settings(method, eps255 / 255f, loaded.ensemble().size(), seed);
      // Served settings come from the profile alone: an ε beyond its T·α is legal, but part of it goes unused.
      settings.shortReach().ifPresent(note -> LOG.log(System.Logger.Level.WARNING, "profile " + profile.cliName()
          + ": " + note));
      return new ProtectionEngine(loaded.manifest().bundleId(), profile.cliName(), loaded.ensemble(), settings,
          loaded);
    } catch (RuntimeException e) {
      loaded.close();
      throw e;
    }
  }

  /**
   * Crafts one blank image with one outer step (and at most one inner step), so that the first real batch does not
   * pay for native initialisation: every checkpoint runs forward and backward at the input shape once. Each gradient
   * holds the JVM-wide gradient lock only for itself, so this costs a batch crafting meanwhile on another engine at
   * most (ensemble size + 1) single-image gradient evaluations, far less than one batch.
   */
  public void warmUp() {
    LabeledImages blank = new LabeledImages(channels, height, width, new byte[channels * height * width],
        new int[] {0}, classNames, List.of("warm-up"));
    ProtectionSettings s = protector.settings();
    new Protector(protector.ensemble(), s.withSteps(1, Math.min(s.innerSteps(), 1))).protect(blank);
  }

  /** Reports every crafting call to {@code watchdog}, which the liveness probe reads. */
  public ProtectionEngine watchedBy(ProgressWatchdog watchdog) {
    this.watchdog = watchdog;
    return this;
  }

  public ProtectedBatch protect(LabeledImages batch) {
    try (ProgressWatchdog.Watch watch = watchdog.watch("crafting " + batch.size() + " images with bundle "
        + bundleId)) {
      return protector.protect(batch);
    }
  }

  public String bundleId() {
    return bundleId;
  }

  public String profile() {
    return profile;
  }

  public ProtectionSettings settings() {
    return protector.settings();
  }

  /** Placeholder names "class-k": the stream carries class indices only. */
  public List<String> classNames() {
    return classNames;
  }

  public int numClasses() {
    return classNames.size();
  }

  public int channels() {
    return channels;
  }

  public int height() {
    return height;
  }

  public int width() {
    return width;
  }

  @Override
  public void close() throws Exception {
    resources.close();
  }
}
