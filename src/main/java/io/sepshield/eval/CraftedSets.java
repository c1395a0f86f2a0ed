package io.sepshield.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.annotation.JsonNaming;
import io.sepshield.bundle.Sha256;
import io.sepshield.data.LabeledImages;
import io.sepshield.jobs.ProtectedOutput;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Crafted sets kept in an evaluation's output folder for reuse: crafting is the expensive part of an evaluation, so
 * a later run with exactly the same crafting inputs takes the set from disk instead of crafting it again. Each set
 * is the IDX files of {@link ProtectedOutput} plus {@value #SIDECAR}, which records the inputs, a fingerprint of the
 * set and what the original crafting cost.
 */
final class CraftedSets {
  static final String SIDECAR = "crafting.json";
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private CraftedSets() {}

  /**
   * Everything that decides a crafted set. The crafting batch size is one of them: the random checkpoint picks of
   * SEP-FA-VR and the noise restart per batch.
   *
   * @param trainSha256 {@link #fingerprint} of the clean training set, so that changed data under the same
   *     description is noticed
   */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Inputs(String bundle, String method, String settings, String dataset, int trainImages, String trainSha256,
      long seed, int craftBatchSize) {}

  /** The sidecar: the inputs, the set's own fingerprint and the original crafting's cost. */
  @JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
  record Sidecar(Inputs inputs, String protectedSha256, long gradientEvaluationsPerImage, double craftingSeconds,
      double imagesPerSecond, String command) {}

  /** SHA-256 over shape, class names, pixels and labels. */
  static String fingerprint(LabeledImages images) {
    ByteBuffer labels = ByteBuffer.allocate(4 * images.size());
    labels.asIntBuffer().put(images.labels());
    String shape = images.channels() + "x" + images.height() + "x" + images.width() + " " + images.classNames();
    return Sha256.of(shape.getBytes(java.nio.charset.StandardCharsets.UTF_8), images.rawPixels(), labels.array());
  }

  /**
   * The set in {@code dir} when its sidecar names exactly {@code inputs} and the files still hold what was crafted;
   * otherwise empty, with the reason logged (the caller crafts again). Never throws for a missing, unreadable or
   * tampered set.
   *
   * @param clean the clean training set; a reused set gets its ids and class names
   */
  static Optional<Reused> find(Path dir, Inputs inputs, LabeledImages clean, PrintStream log) {
    Path file = dir.resolve(SIDECAR);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    String name = dir.getFileName().toString();
    try {
      Sidecar sidecar = JSON.readValue(file.toFile(), Sidecar.class);
      List<String> differences = differences(sidecar.inputs(), inputs);
      if (!differences.isEmpty()) {
        log.printf("%s was crafted from other inputs (%s): crafting again%n", name, String.join("; ", differences));
        return Optional.empty();
      }
      LabeledImages stored = ProtectedOutput.readIdx(dir, "protected");
      if (!fingerprint(stored).equals(sidecar.protectedSha256())) {
        log.printf("%s: the files no longer match their sidecar: crafting again%n", name);
        return Optional.empty();
      }
      return Optional.of(new Reused(clean.withPixels(stored.rawPixels()), sidecar));
    } catch (IOException | RuntimeException e) {
      log.printf("%s cannot be reused (%s): crafting again%n", name, e.getMessage());
      return Optional.empty();
    }
  }

  /** A set found on disk, with the sidecar it was crafted under. */
  record Reused(LabeledImages images, Sidecar sidecar) {}

  /**
   * Writes the set and then its sidecar; the old sidecar goes first, so that an interrupted write is never taken
   * for a finished set.
   */
  static void save(Path dir, LabeledImages images, Inputs inputs, long gradientEvaluationsPerImage, double seconds,
      double imagesPerSecond, String command) throws IOException {
    Files.deleteIfExists(dir.resolve(SIDECAR));
    ProtectedOutput.write(images, dir, "idx");
    Sidecar sidecar = new Sidecar(inputs, fingerprint(images), gradientEvaluationsPerImage, seconds,
        imagesPerSecond, command);
    Path tmp = dir.resolve(SIDECAR + ".tmp");
    JSON.writeValue(tmp.toFile(), sidecar);
    Files.move(tmp, dir.resolve(SIDECAR), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static List<String> differences(Inputs was, Inputs now) {
    List<String> d = new ArrayList<>();
    if (was == null) {
      d.add("no inputs recorded");
      return d;
    }
    compare(d, "bundle", was.bundle(), now.bundle());
    compare(d, "method", was.method(), now.method());
    compare(d, "settings", withTargetMap(was.settings()), now.settings());
    compare(d, "training set", was.dataset(), now.dataset());
    compare(d, "training images", was.trainImages(), now.trainImages());
    compare(d, "training data checksum", was.trainSha256(), now.trainSha256());
    compare(d, "seed", was.seed(), now.seed());
    compare(d, "crafting batch size", was.craftBatchSize(), now.craftBatchSize());
    return d;
  }

  /**
   * Settings strings written before the target map was part of them: those sets were all crafted with the only map
   * evaluate used then, g(y) = (y + K/2) mod K, so they still match a run with that map.
   */
  static String withTargetMap(String settings) {
    if (settings == null || settings.contains(" targets=") || !settings.contains(" seed=")) {
      return settings;
    }
    return settings.replace(" seed=", " targets=half seed=");
  }

  private static void compare(List<String> out, String what, Object was, Object now) {
    if (!java.util.Objects.equals(was, now)) {
      out.add(what + " " + was + " vs " + now);
    }
  }
}
