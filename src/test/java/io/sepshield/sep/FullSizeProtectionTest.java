package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.ImageTensors;
import io.sepshield.sep.Preprocessing.Aspect;
import io.sepshield.sep.Preprocessing.Kernel;
import io.sepshield.testing.TinyModels;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Crafting at the upload's own size and colour through P, with a gray 12x12 ensemble. */
class FullSizeProtectionTest {
  private static final float EPS = 8f / 255f;
  private static LabeledImages data;
  private static CheckpointEnsemble ensemble;

  @BeforeAll
  static void trainTinyEnsemble() {
    data = TinyModels.textures(4, 40, 1, 11);
    ensemble = TinyModels.trainedEnsemble(data, 6, Set.of(2, 4, 6), 5);
  }

  @AfterAll
  static void free() {
    ensemble.close();
  }

  private static ProtectionSettings settings(Method method, int steps, int inner, Preprocessing p) {
    return new ProtectionSettings(method, EPS, 1f / 255f, steps, inner, new int[0], TargetMap.halfShift(), 42, p);
  }

  /** Images of shape c x h x w with random content, a few pixels at 0 and 255 to exercise the [0,1] clip. */
  private static LabeledImages uploads(int n, int c, int h, int w, long seed) {
    Random r = new Random(seed);
    byte[] px = new byte[n * c * h * w];
    for (int i = 0; i < px.length; i++) {
      px[i] = (byte) (i % 11 == 0 ? (i % 2 == 0 ? 0 : 255) : 40 + r.nextInt(180));
    }
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % 4;
    }
    return new LabeledImages(c, h, w, px, labels, data.classNames(), LabeledImages.indexIds("up", n));
  }

  @Test
  void theCraftingGradientReachesFullSizePixelsPerPolicy() {
    // Colour, odd and non-square (3x17x23) into the gray 12x12 bundle: ∇x has the upload's shape, covers every pixel
    // under stretch and letterbox, and is exactly zero outside a centre crop. (Finite differences of P's gradient
    // are in InputAdapterTest.)
    LabeledImages batch = uploads(2, 3, 17, 23, 9);
    for (Aspect aspect : Aspect.values()) {
      Protector protector = new Protector(ensemble, settings(Method.SEP_FA_VR, 1, 1,
          new Preprocessing(aspect, Kernel.AREA)));
      int[] targets = protector.targetsFor(batch.labels());
      try (NDManager m = ensemble.manager().newSubManager()) {
        NDArray x = ImageTensors.batch(m, batch, 0, 2);
        float[] grad = protector.lossGradient(ensemble.last(), x, targets).toFloatArray();
        assertEquals(x.size(), grad.length, "the gradient has the upload's full size");
        int nonZero = 0;
        for (float g : grad) {
          nonZero += g != 0 ? 1 : 0;
        }
        if (aspect == Aspect.CENTER_CROP) {
          // 17x23 cropped to its centred 17x17: columns 0..2 and 20..22 never reach the model.
          assertEquals(2 * 3 * 17 * 17, nonZero, "gradient outside the centre crop");
        } else {
          assertTrue(nonZero > grad.length * 0.95, aspect + ": every pixel reaches the model: " + nonZero + "/"
              + grad.length);
        }
      }
    }
  }

  @Test
  void fullSizeOutputsStayInsideTheBallOnEveryPixelAndChannel() {
    List<LabeledImages> batches = List.of(uploads(3, 3, 17, 23, 1), uploads(2, 1, 31, 9, 2), uploads(2, 3, 5, 40, 3));
    for (LabeledImages batch : batches) {
      for (Method method : Method.values()) {
        for (Aspect aspect : method == Method.SEP_FA_VR ? Aspect.values() : new Aspect[] {Aspect.STRETCH}) {
          ProtectedBatch out = new Protector(ensemble, settings(method, 3, 2,
              new Preprocessing(aspect, Kernel.AREA))).protect(batch);
          LabeledImages q = out.images();
          assertEquals(batch.channels(), q.channels());
          assertEquals(batch.height(), q.height());
          assertEquals(batch.width(), q.width());
          int worst = EpsilonBall.maxAbsDelta(batch.rawPixels(), q.rawPixels());
          assertTrue(worst <= 8, method + "/" + aspect + " " + batch + ": |δ| " + worst);
          assertTrue(worst >= 2, method + "/" + aspect + " should perturb: |δ| " + worst);
        }
      }
    }
  }

  @Test
  void pixelsOutsideTheCentreCropAreLeftAlone() {
    LabeledImages batch = uploads(2, 3, 17, 23, 4);
    byte[] out = new Protector(ensemble, settings(Method.SEP_FA_VR, 3, 2,
        new Preprocessing(Aspect.CENTER_CROP, Kernel.AREA))).protect(batch).images().rawPixels();
    byte[] in = batch.rawPixels();
    int changedInside = 0;
    for (int i = 0; i < in.length; i++) {
      int x = i % 23;
      if (x < 3 || x >= 20) {
        assertEquals(in[i], out[i], "pixel " + i + " outside the crop changed");
      } else {
        changedInside += in[i] != out[i] ? 1 : 0;
      }
    }
    assertTrue(changedInside > 100, "only " + changedInside + " pixels changed inside the crop");
  }

  @Test
  void pseudoLabelsOfAFullSizeUploadAreThoseOfItsPreprocessedImage() {
    // A 4x nearest upscale: area P gives back the 12x12 images exactly, so the labels must agree.
    LabeledImages small = data.slice(0, 8);
    LabeledImages big = upscale(small, 4);
    Protector protector = new Protector(ensemble, settings(Method.SEP_FA, 1, 0, Preprocessing.DEFAULT));
    try (NDManager m = ensemble.manager().newSubManager()) {
      assertArrayEquals(protector.predict(ImageTensors.batch(m, small, 0, 8)),
          protector.predict(ImageTensors.batch(m, big, 0, 8)));
    }
  }

  @Test
  void protectingA112UploadWithA28BundleLowersTheFeatureAlignmentLoss() {
    LabeledImages native28 = TinyModels.textures(4, 40, 1, 28, 21);
    try (CheckpointEnsemble e28 = TinyModels.trainedEnsemble(native28, 6, Set.of(2, 4, 6), 5)) {
      LabeledImages uploads = upscale(native28.slice(0, 16), 4); // 112x112
      Protector protector = new Protector(e28, new ProtectionSettings(Method.SEP_FA_VR, EPS, 1f / 255f, 10, 4,
          new int[0], TargetMap.halfShift(), 42));
      Protector noise = new Protector(e28, new ProtectionSettings(Method.UNIFORM_NOISE, EPS, 1f / 255f, 1, 0,
          new int[0], TargetMap.halfShift(), 42));
      int[] targets = protector.targetsFor(uploads.labels());
      LabeledImages crafted = protector.protect(uploads).images();
      LabeledImages noisy = noise.protect(uploads).images();
      assertEquals(112, crafted.height());
      try (NDManager m = e28.manager().newSubManager()) {
        double before = protector.meanLoss(ImageTensors.batch(m, uploads, 0, 16), targets);
        double after = protector.meanLoss(ImageTensors.batch(m, crafted, 0, 16), targets);
        double withNoise = protector.meanLoss(ImageTensors.batch(m, noisy, 0, 16), targets);
        assertTrue(after < 0.9 * before, "FA loss should fall by 10 %+: " + before + " -> " + after);
        assertTrue(before - after > 5 * Math.abs(before - withNoise),
            "should beat noise: before " + before + ", crafted " + after + ", noise " + withNoise);
      }
    }
  }

  @Test
  void theCraftingLoopKeepsOnlyWhatAlgorithmOneStillNeeds() {
    // Image-sized arrays alive in the crafting scope between steps, counted with DJL's own bookkeeping (no timing, no
    // memory thresholds). At full size each one is 4 bytes per pixel and channel, so their number is the loop's
    // memory. After an outer step: x0, the ball's two bounds and x_{t+1}. After an inner step, besides those: g_upd,
    // x̂ and at most one deviation g_k − g_ens per member that a later inner step still draws. (Before this was
    // measured, an outer step kept its n gradients, their stack and mean, n deviations and seven temporaries per
    // inner step alive until it ended: 15.6 GB for one 12-megapixel photo.)
    LabeledImages batch = uploads(2, 3, 17, 23, 9);
    long imageSize = (long) batch.size() * batch.imageBytes();
    int n = ensemble.size();
    int steps = 3;
    int innerSteps = 5;
    for (Method method : List.of(Method.SEP_FA_VR, Method.SEP)) {
      for (Protector.Tuning tuning : List.of(Protector.Tuning.OPTIMIZED, Protector.Tuning.STRAIGHTFORWARD)) {
        Protector protector = new Protector(ensemble,
            settings(method, steps, innerSteps, Preprocessing.DEFAULT), tuning);
        List<long[]> seen = new ArrayList<>(); // {t, m, image-sized arrays}
        protector.probe((t, m, crafting) -> seen.add(new long[] {t, m,
            crafting.getManagedArrays().stream().filter(a -> a.size() >= imageSize).count()}));
        ProtectedBatch out = protector.protect(batch);
        assertTrue(java.util.Arrays.stream(out.maxAbsDelta()).allMatch(d -> d >= 1 && d <= 8), "crafting ran");
        String where = method + " " + tuning;
        int innerPerStep = method == Method.SEP_FA_VR ? innerSteps : 0;
        assertEquals(steps * (1 + innerPerStep), seen.size(), where + ": steps observed");
        for (long[] s : seen) {
          String at = where + ", t=" + s[0] + ", m=" + s[1];
          if (s[1] < 0) {
            assertEquals(4, s[2], at + ": x0, the ball's bounds and x_{t+1} only");
          } else {
            long laterDraws = Math.min(n, innerSteps - 1 - s[1]);
            assertTrue(s[2] <= 6 + laterDraws, at + ": " + s[2] + " image-sized arrays, at most " + (6 + laterDraws));
          }
        }
      }
    }
  }

  private static LabeledImages upscale(LabeledImages small, int f) {
    int c = small.channels();
    int h = small.height();
    int w = small.width();
    byte[] src = small.rawPixels();
    byte[] dst = new byte[src.length * f * f];
    for (int i = 0; i < small.size() * c; i++) {
      for (int y = 0; y < h * f; y++) {
        for (int x = 0; x < w * f; x++) {
          dst[(i * h * f + y) * w * f + x] = src[(i * h + y / f) * w + x / f];
        }
      }
    }
    return new LabeledImages(c, h * f, w * f, dst, small.labels(), small.classNames(), small.ids());
  }
}
