package io.sepshield.bundle;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.DeserializationFeature;
import io.sepshield.model.Architectures;
import io.sepshield.model.DjlRuntime;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.ModelParams;
import io.sepshield.sep.Checkpoint;
import io.sepshield.sep.CheckpointEnsemble;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads a bundle, verifying it before anything reaches the device: the manifest's format, the SHA-256 of every
 * file, that every referenced file is covered by a checksum, and that parameters and centers fit the declared
 * architecture, class count and input shape, and that the centers are finite. A bundle that fails any check is
 * refused with a {@link BundleException}; a {@link BundleNotReadyException} when its files may still be arriving.
 */
public final class BundleLoader {
  /** Largest channel count or side a manifest may declare: far above any real model, low enough to allocate. */
  static final int MAX_INPUT_SIDE = 8192;

  private BundleLoader() {}

  /** A verified bundle on a device. Closing it frees the checkpoints' native memory. */
  public record LoadedBundle(Path directory, BundleManifest manifest, CheckpointEnsemble ensemble)
      implements AutoCloseable {
    @Override
    public void close() {
      ensemble.close();
    }
  }

  /**
   * Resolves a bundle directory: the directory itself when it holds a manifest, else the bundle named by its
   * {@code LATEST} file (a bundle root written by {@link BundleWriter}).
   */
  public static Path resolve(Path path) {
    if (Files.isRegularFile(path.resolve(BundleManifest.FILE_NAME))) {
      return path;
    }
    Path latest = path.resolve(BundleWriter.LATEST);
    if (Files.isRegularFile(latest)) {
      try {
        String id = Files.readString(latest).trim();
        Path dir = path.resolve(id).normalize();
        if (!dir.startsWith(path.normalize()) || !Files.isRegularFile(dir.resolve(BundleManifest.FILE_NAME))) {
          throw new BundleException(latest + " names '" + id + "', which is not a bundle in " + path);
        }
        return dir;
      } catch (IOException e) {
        throw new BundleException("cannot read " + latest, e);
      }
    }
    throw new BundleException("no bundle at " + path + ": neither " + BundleManifest.FILE_NAME + " nor "
        + BundleWriter.LATEST + " found");
  }

  /** Reads and checks the manifest and every checksum, without touching the device. */
  public static BundleManifest verify(Path bundleDir) {
    BundleManifest manifest = readManifest(bundleDir);
    checkConsistency(manifest);
    for (Map.Entry<String, String> e : manifest.sha256().entrySet()) {
      Path file = inside(bundleDir, e.getKey());
      // Missing or different files may still be on their way (a shared volume that lags): "not ready", not "bad".
      if (!Files.isRegularFile(file)) {
        throw new BundleNotReadyException("bundle " + manifest.bundleId() + " is missing " + e.getKey());
      }
      try {
        String actual = Sha256.of(file);
        if (!actual.equalsIgnoreCase(e.getValue())) {
          throw new BundleNotReadyException("checksum mismatch for " + e.getKey() + " in bundle "
              + manifest.bundleId() + ": manifest says " + e.getValue() + ", file has " + actual);
        }
      } catch (IOException ex) {
        throw new BundleNotReadyException("cannot read " + file + ": " + ex.getMessage(), ex);
      }
    }
    return manifest;
  }

  /** Verifies the bundle, then loads every checkpoint and its centers onto {@code device}. */
  public static LoadedBundle load(Path path, Device device) {
    Path dir = resolve(path);
    BundleManifest manifest = verify(dir);
    NDManager manager = DjlRuntime.engine().newBaseManager(device);
    try {
      long[] shape = manifest.inputShapeArray();
      List<Checkpoint> checkpoints = new ArrayList<>();
      for (BundleManifest.CheckpointEntry entry : manifest.checkpoints()) {
        FeatureClassifier model = Architectures.create(manifest.architecture(), (int) shape[0],
            manifest.numClasses(), manifest.meanArray(), manifest.stdArray());
        try {
          // ModelParams checks every parameter's full name and shape, not just DJL's leaf names.
          ModelParams.load(model, manager, Files.readAllBytes(inside(dir, entry.params())));
        } catch (ModelParams.IncompatibleParametersException e) {
          throw new BundleException("parameters of epoch " + entry.epoch() + " do not fit architecture "
              + manifest.architecture() + " with input shape " + manifest.inputShape() + " and "
              + manifest.numClasses() + " classes: " + e.getMessage(), e);
        }
        if (model.featureDim() != manifest.featureDim()) {
          throw new BundleException("architecture " + manifest.architecture() + " has featureDim "
              + model.featureDim() + ", manifest says " + manifest.featureDim());
        }
        Npy.Matrix c = Npy.read(Files.readAllBytes(inside(dir, entry.centers())));
        if (c.rows() != manifest.numClasses() || c.cols() != manifest.featureDim()) {
          throw new BundleException("centers of epoch " + entry.epoch() + " are " + c.rows() + "x" + c.cols()
              + ", expected " + manifest.numClasses() + "x" + manifest.featureDim());
        }
        checkFinite(c, manifest, entry.epoch());
        NDArray centers = manager.create(c.data(), new Shape(c.rows(), c.cols()));
        checkpoints.add(new Checkpoint(entry.epoch(), model, centers));
      }
      float[] classMeans = manifest.inputClassMeans() == null ? null : inputClassMeans(dir, manifest);
      return new LoadedBundle(dir, manifest, new CheckpointEnsemble(checkpoints, manager, shape, classMeans));
    } catch (IOException e) {
      manager.close();
      throw new BundleException("cannot read bundle " + dir + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      manager.close();
      throw e instanceof BundleException b ? b : new BundleException("cannot load bundle " + dir + ": " + e, e);
    }
  }

  /** K rows of C·H·W pixel means in [0, 1]: a pattern drawn from anything else would not be a class's mean. */
  private static float[] inputClassMeans(Path dir, BundleManifest manifest) throws IOException {
    Npy.Matrix m = Npy.read(Files.readAllBytes(inside(dir, manifest.inputClassMeans())));
    long[] shape = manifest.inputShapeArray();
    long pixels = shape[0] * shape[1] * shape[2];
    if (m.rows() != manifest.numClasses() || m.cols() != pixels) {
      throw new BundleException("input class means are " + m.rows() + "x" + m.cols() + ", expected "
          + manifest.numClasses() + "x" + pixels + " (classes x C*H*W of " + manifest.inputShape() + ")");
    }
    float[] data = m.data();
    for (int i = 0; i < data.length; i++) {
      if (!(data[i] >= 0f && data[i] <= 1f)) {
        throw new BundleException("input class means hold " + data[i] + " at class " + i / m.cols() + ", pixel "
            + i % m.cols() + ": pixel means lie in [0, 1]");
      }
    }
    return data;
  }

  /** A NaN or infinite center would turn every loss and gradient into NaN, and every image into noise. */
  private static void checkFinite(Npy.Matrix centers, BundleManifest manifest, int epoch) {
    float[] data = centers.data();
    for (int i = 0; i < data.length; i++) {
      if (!Float.isFinite(data[i])) {
        int row = i / centers.cols();
        throw new BundleException("centers of epoch " + epoch + " hold " + data[i] + " at class " + row + " ('"
            + manifest.classNames().get(row) + "'), feature " + (i % centers.cols()) + ": a bundle needs finite "
            + "centers");
      }
    }
  }

  private static BundleManifest readManifest(Path dir) {
    Path file = dir.resolve(BundleManifest.FILE_NAME);
    if (!Files.isRegularFile(file)) {
      throw new BundleNotReadyException("no " + BundleManifest.FILE_NAME + " in " + dir);
    }
    try {
      return BundleWriter.json().copy().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .readValue(file.toFile(), BundleManifest.class);
    } catch (IOException e) {
      throw new BundleException("unreadable manifest " + file + ": " + e.getMessage(), e);
    }
  }

  private static void checkConsistency(BundleManifest m) {
    if (m.formatVersion() != BundleManifest.FORMAT_VERSION) {
      throw new BundleException("bundle format " + m.formatVersion() + " is not supported (this build reads "
          + BundleManifest.FORMAT_VERSION + ")");
    }
    if (m.inputShape() == null || m.inputShape().size() != 3
        || m.inputShape().stream().anyMatch(d -> d == null || d < 1 || d > MAX_INPUT_SIDE)) {
      throw new BundleException("manifest input shape must be [C, H, W] with each in 1.." + MAX_INPUT_SIDE
          + ", got " + m.inputShape());
    }
    int channels = m.inputShape().get(0);
    if (m.mean().size() != channels || m.std().size() != channels) {
      throw new BundleException("normalisation needs " + channels + " values per statistic");
    }
    if (m.classNames() == null || m.classNames().size() < 2) {
      throw new BundleException("a bundle needs at least two classes");
    }
    if (m.checkpoints() == null || m.checkpoints().isEmpty()) {
      throw new BundleException("bundle " + m.bundleId() + " has no checkpoints");
    }
    for (BundleManifest.CheckpointEntry c : m.checkpoints()) {
      for (String file : List.of(c.params(), c.centers())) {
        if (!m.sha256().containsKey(file)) {
          throw new BundleException("file " + file + " of epoch " + c.epoch() + " has no checksum in the manifest");
        }
      }
    }
    if (m.inputClassMeans() != null && !m.sha256().containsKey(m.inputClassMeans())) {
      throw new BundleException("file " + m.inputClassMeans() + " (input class means) has no checksum in the manifest");
    }
  }

  private static Path inside(Path dir, String relative) {
    Path p = dir.resolve(relative).normalize();
    if (!p.startsWith(dir.normalize())) {
      throw new BundleException("manifest path escapes the bundle: " + relative);
    }
    return p;
  }
}
