package io.sepshield.stream;

import io.sepshield.avro.UploadedImage;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import io.sepshield.data.SyntheticImages;
import io.sepshield.lifecycle.ProtectionEngine;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.testing.TinyModels;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.streams.TopologyTestDriver;

/** A tiny engine and uploads built from the tiny texture data set (12×12 gray, 4 classes). */
final class StreamFixtures {
  static final int EPS255 = 8;

  private StreamFixtures() {}

  static LabeledImages data() {
    return TinyModels.textures(4, 16, 1, 31);
  }

  /** 16×16 gray images in 4 classes: another input shape than {@link #data}. */
  static LabeledImages data16() {
    return SyntheticImages.generate(4, 8, 1, 16, 16, 5);
  }

  /** Three checkpoints trained for a few seconds; the caller closes the ensemble. */
  static CheckpointEnsemble tinyEnsemble(LabeledImages data) {
    return TinyModels.trainedEnsemble(data, 3, Set.of(1, 2, 3), 7);
  }

  /** Trains for a few seconds; the caller closes the engine. */
  static ProtectionEngine tinyEngine(LabeledImages data) {
    CheckpointEnsemble ensemble = tinyEnsemble(data);
    return engine("tiny-test-bundle", ensemble, ensemble);
  }

  /** SEP-FA-VR, fast profile, ε = 8/255 on {@code ensemble}; closing the engine closes {@code resources}. */
  static ProtectionEngine engine(String bundleId, CheckpointEnsemble ensemble, AutoCloseable resources) {
    return new ProtectionEngine(bundleId, Profile.FAST.cliName(), ensemble,
        Profile.FAST.settings(Method.SEP_FA_VR, EPS255 / 255f, ensemble.size(), 3), resources);
  }

  static UploadedImage upload(String id, String contentType, byte[] image, Integer label) {
    return UploadedImage.newBuilder().setId(id).setContentType(contentType).setImage(ByteBuffer.wrap(image))
        .setLabel(label).setUploader("test").setSource(null).setMetadata(Map.of())
        .setUploadedAt(Instant.ofEpochMilli(1_700_000_000_000L)).build();
  }

  /** Image {@code i} of the data set as a PNG upload with its true label. */
  static UploadedImage pngUpload(LabeledImages data, int i, String id) {
    return upload(id, "image/png", PngCodec.encode(data.image(i), data.channels(), data.height(), data.width()),
        data.label(i));
  }

  /**
   * Lets {@code maxDelay} pass, then enough processing loops for every buffered batch: a stream thread crafts one
   * batch per loop ({@link LoopTurns}), and the driver counts each wall-clock step as a loop.
   */
  static void drain(TopologyTestDriver driver, Duration maxDelay) {
    driver.advanceWallClockTime(maxDelay);
    for (int loop = 0; loop < 100; loop++) {
      driver.advanceWallClockTime(Duration.ofMillis(1));
    }
  }
}
