package io.sepshield.bundle;

import ai.djl.ndarray.NDArray;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sepshield.model.FeatureClassifier;
import io.sepshield.model.ModelParams;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Writes a bundle while its model trains: each checkpoint's parameters and centers go to disk as they are taken
 * (nothing is kept in memory), into a staging directory that becomes {@code <root>/<bundleId>} only when
 * {@link #finish} has written the manifest. {@code <root>/LATEST} then names the new bundle.
 *
 * <p>A process stopped before {@link #finish} or {@link #abandon} (SIGTERM: a retraining Job's pod evicted or
 * deleted) removes its staging directory on the way out, so the bundle volume does not collect half-written
 * bundles. A JVM shutdown hook, because the training loop is not told of the signal: it runs on until the JVM
 * halts. A SIGKILL still leaves the directory (named {@code .staging-*}, never read by a loader).
 */
public final class BundleWriter {
  static final String LATEST = "LATEST";
  static final String INPUT_CLASS_MEANS = "input-class-means.npy";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final Path root;
  private final Path staging;
  private final Instant createdAt = Instant.now();
  private final List<BundleManifest.CheckpointEntry> checkpoints = new ArrayList<>();
  private final Map<String, String> sha256 = new LinkedHashMap<>();
  private String inputClassMeans;
  private final Thread removeOnExit = new Thread(this::removeUnfinished, "bundle-staging-cleanup");
  private boolean done; // guarded by this: published or abandoned, the hook leaves the staging directory alone

  public BundleWriter(Path root) {
    this.root = root;
    try {
      Files.createDirectories(root);
      this.staging = Files.createTempDirectory(root, ".staging-");
      Files.createDirectories(staging.resolve("checkpoints"));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create bundle staging directory under " + root, e);
    }
    Runtime.getRuntime().addShutdownHook(removeOnExit);
  }

  /** Saves checkpoint f_k (its parameters now) and its centers c_k. */
  public void addCheckpoint(int epoch, FeatureClassifier model, NDArray centers, double testAccuracy,
      double trainAccuracy, double trainLoss) {
    String stem = String.format("checkpoints/epoch-%03d", epoch);
    try {
      long[] shape = centers.getShape().getShape();
      byte[] npy = Npy.write((int) shape[0], (int) shape[1], centers.toFloatArray());
      write(stem + ".params", ModelParams.toBytes(model));
      write(stem + ".centers.npy", npy);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write checkpoint of epoch " + epoch, e);
    }
    checkpoints.add(new BundleManifest.CheckpointEntry(epoch, stem + ".params", stem + ".centers.npy",
        testAccuracy, trainAccuracy, trainLoss));
  }

  /**
   * Saves the mean training image per class on the models' input grid ({@link
   * io.sepshield.data.LabeledImages#classMeans}), which a class pattern toward the target class is drawn from.
   */
  public void addInputClassMeans(int numClasses, float[] means) {
    if (numClasses < 1 || means.length % numClasses != 0) {
      throw new IllegalArgumentException(means.length + " class-mean values for " + numClasses + " classes");
    }
    try {
      write(INPUT_CLASS_MEANS, Npy.write(numClasses, means.length / numClasses, means));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the input class means", e);
    }
    inputClassMeans = INPUT_CLASS_MEANS;
  }

  /** Adds a non-model file (an accuracy plot, a log) to the bundle, covered by the checksums. */
  public void addFile(String relativePath, byte[] content) {
    try {
      write(relativePath, content);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + relativePath, e);
    }
  }

  // Synchronized with the shutdown hook: it waits for a file being written, and nothing is written after it ran.
  private synchronized void write(String relativePath, byte[] content) throws IOException {
    checkOpen();
    Path target = staging.resolve(relativePath).normalize();
    if (!target.startsWith(staging)) {
      throw new IllegalArgumentException("bundle file outside the bundle: " + relativePath);
    }
    Files.createDirectories(target.getParent());
    Files.write(target, content);
    sha256.put(relativePath, Sha256.of(content));
  }

  /**
   * Writes the manifest and publishes the bundle. Returns the bundle directory.
   *
   * @param model architecture name, shapes and normalisation of the checkpoints
   */
  public Path finish(String architecture, FeatureClassifier model, long[] inputShape, List<String> classNames,
      BundleManifest.Training training) {
    if (checkpoints.isEmpty()) {
      throw new IllegalStateException("a bundle needs at least one checkpoint");
    }
    String newest = sha256.get(checkpoints.get(checkpoints.size() - 1).params());
    String bundleId = architecture + "-" + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
        .withZone(ZoneOffset.UTC).format(createdAt) + "-" + newest.substring(0, 8);
    List<Integer> shape = new ArrayList<>();
    for (long s : inputShape) {
      shape.add((int) s);
    }
    BundleManifest manifest = new BundleManifest(BundleManifest.FORMAT_VERSION, bundleId, createdAt.toString(),
        architecture, shape, boxed(model.mean()), boxed(model.std()), classNames, model.featureDim(), training,
        List.copyOf(checkpoints), Map.copyOf(sha256), inputClassMeans);
    synchronized (this) { // the shutdown hook either runs before (and nothing is published) or finds it done
      checkOpen();
      publish(manifest);
      done = true;
    }
    forgetHook();
    return root.resolve(bundleId);
  }

  private void publish(BundleManifest manifest) {
    String bundleId = manifest.bundleId();
    try {
      Files.write(staging.resolve(BundleManifest.FILE_NAME), JSON.writeValueAsBytes(manifest));
      Path target = root.resolve(bundleId);
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
      Path latestTmp = root.resolve(LATEST + ".tmp");
      Files.writeString(latestTmp, bundleId + "\n");
      Files.move(latestTmp, root.resolve(LATEST), StandardCopyOption.ATOMIC_MOVE,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot publish bundle " + bundleId, e);
    }
  }

  /** Removes the staging directory of an unfinished bundle. */
  public void abandon() {
    synchronized (this) {
      done = true;
      deleteStaging();
    }
    forgetHook();
  }

  /** The shutdown hook: a process stopped mid-training leaves no half-written bundle behind. */
  private void removeUnfinished() {
    synchronized (this) {
      if (done || !Files.exists(staging)) {
        return;
      }
      done = true;
      // Nothing is written once done is set; a retry covers a file system that is slow to let go of a file.
      for (int attempt = 1; ; attempt++) {
        try {
          deleteStaging();
          System.err.println("stopped before the bundle was finished: removed its staging directory " + staging);
          return;
        } catch (UncheckedIOException e) {
          if (attempt == 3) {
            System.err.println("stopped before the bundle was finished; could not remove " + staging + ": "
                + e.getCause());
            return;
          }
        }
      }
    }
  }

  private void deleteStaging() {
    if (!Files.exists(staging)) {
      return;
    }
    try (Stream<Path> files = Files.walk(staging)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot remove " + staging, e);
    }
  }

  private void checkOpen() {
    if (done) {
      throw new IllegalStateException("bundle staging " + staging + " was already published or abandoned");
    }
  }

  private void forgetHook() {
    try {
      Runtime.getRuntime().removeShutdownHook(removeOnExit);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running or about to: it finds the writer done and leaves the directory alone
    }
  }

  static ObjectMapper json() {
    return JSON;
  }

  private static List<Float> boxed(float[] values) {
    List<Float> out = new ArrayList<>(values.length);
    for (float v : values) {
      out.add(v);
    }
    return out;
  }
}
