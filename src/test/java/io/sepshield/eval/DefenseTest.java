package io.sepshield.eval;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.LabeledImages;
import io.sepshield.data.SyntheticImages;
import io.sepshield.testing.TinyModels;
import io.sepshield.train.BatchTransform;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DefenseTest {
  /** Smooth colour images with a little noise: what JPEG is designed for. */
  private static LabeledImages rgb() {
    int n = 4;
    int h = 16;
    int w = 16;
    byte[] px = new byte[n * 3 * h * w];
    Random random = new Random(5);
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            // The same smooth pattern in every channel with its own gain, like a photo; colour JPEG subsamples
            // chroma, so strong per-channel detail would make even quality 100 lossy.
            double v = (0.9 + 0.1 * c) * (120 + 80 * Math.sin((x + i) / 3.0) * Math.cos(y / 4.0))
                + random.nextInt(10) - 5;
            px[((i * 3 + c) * h + y) * w + x] = (byte) Math.max(0, Math.min(255, Math.round(v)));
          }
        }
      }
    }
    return new LabeledImages(3, h, w, px, new int[] {0, 1, 0, 1}, List.of("a", "b"),
        LabeledImages.indexIds("rgb", n));
  }

  private static double meanAbsDiff(LabeledImages a, LabeledImages b) {
    byte[] x = a.rawPixels();
    byte[] y = b.rawPixels();
    double sum = 0;
    for (int i = 0; i < x.length; i++) {
      sum += Math.abs((x[i] & 0xff) - (y[i] & 0xff));
    }
    return sum / x.length;
  }

  @Test
  void jpegChangesLittleAtQuality100AndMuchAtQuality10InGrayAndColour() {
    for (LabeledImages images : List.of(rgb(), TinyModels.textures(2, 3, 1, 4))) {
      double q100 = meanAbsDiff(images, new JpegDefense(100).preprocess(images));
      double q10 = meanAbsDiff(images, new JpegDefense(10).preprocess(images));
      assertTrue(q100 > 0 || images.channels() == 1, "q100 diff " + q100); // colour JPEG always resamples chroma
      assertTrue(q100 < 3, "quality 100 should be nearly lossless, mean |diff| " + q100);
      assertTrue(q10 > 3 * Math.max(q100, 1), "quality 10 should change much more: " + q10 + " vs " + q100);
    }
  }

  @Test
  void bitDepthKeepsOnlyTwoToTheBitsLevels() {
    LabeledImages images = rgb();
    LabeledImages out = new BitDepthDefense(2).preprocess(images);
    java.util.Set<Integer> levels = new java.util.TreeSet<>();
    for (byte b : out.rawPixels()) {
      levels.add(b & 0xff);
    }
    assertTrue(levels.size() <= 4 && java.util.Set.of(0, 85, 170, 255).containsAll(levels), levels.toString());
    assertTrue(meanAbsDiff(images, out) > 5);
    assertEquals(images.labels()[1], out.labels()[1]);
  }

  @Test
  void grayscaleEqualisesChannelsForRgbAndIsTheIdentityForOneChannel() {
    LabeledImages images = rgb();
    LabeledImages out = new GrayscaleDefense().preprocess(images);
    int plane = 16 * 16;
    byte[] px = out.rawPixels();
    for (int p = 0; p < plane; p++) {
      assertEquals(px[p], px[plane + p]);
      assertEquals(px[p], px[2 * plane + p]);
    }
    assertTrue(meanAbsDiff(images, out) > 1);
    LabeledImages gray = TinyModels.textures(2, 2, 1, 1);
    assertSame(gray, new GrayscaleDefense().preprocess(gray));
    assertTrue(GrayscaleDefense.isIdentityFor(1));
  }

  @Test
  void blurSmoothsNoiseAndKeepsAFlatImageFlat() {
    LabeledImages noisy = SyntheticImages.generate(2, 2, 1, 12, 12, 3);
    LabeledImages out = new GaussianBlurDefense(1.0).preprocess(noisy);
    assertTrue(meanAbsDiff(noisy, out) > 1);
    byte[] flat = new byte[1 * 8 * 8];
    java.util.Arrays.fill(flat, (byte) 77);
    LabeledImages f = new LabeledImages(1, 8, 8, flat, new int[] {0}, List.of("a"), List.of("f"));
    assertArrayEquals(flat, new GaussianBlurDefense(2.0).preprocess(f).rawPixels());
  }

  @Test
  void cutoutZeroesOneSquarePerImage() {
    byte[] px = new byte[2 * 1 * 10 * 10];
    java.util.Arrays.fill(px, (byte) 200);
    BatchTransform.Batch out = new CutoutDefense(4).batchTransform().apply(px.clone(), new int[] {0, 1}, 2, 1, 10, 10,
        2, new Random(1));
    assertNull(out.softLabels());
    for (int i = 0; i < 2; i++) {
      int zeros = 0;
      for (int p = 0; p < 100; p++) {
        byte v = out.pixels()[i * 100 + p];
        assertTrue(v == 0 || v == (byte) 200);
        zeros += v == 0 ? 1 : 0;
      }
      assertTrue(zeros >= 4 && zeros <= 16, "clipped 4x4 square, got " + zeros);
    }
  }

  @Test
  void mixupBlendsPairsAndTheirLabels() {
    int n = 8;
    byte[] px = new byte[n * 4];
    int[] labels = new int[n];
    for (int i = 0; i < n; i++) {
      java.util.Arrays.fill(px, i * 4, i * 4 + 4, (byte) (i * 30));
      labels[i] = i % 3;
    }
    BatchTransform.Batch out = new MixupDefense(1.0).batchTransform().apply(px.clone(), labels, n, 1, 2, 2, 3,
        new Random(3));
    assertNotNull(out.softLabels());
    boolean changed = false;
    for (int i = 0; i < n; i++) {
      double sum = 0;
      for (int k = 0; k < 3; k++) {
        sum += out.softLabels()[i * 3 + k];
      }
      assertEquals(1.0, sum, 1e-5);
      changed |= out.pixels()[i * 4] != px[i * 4];
    }
    assertTrue(changed, "mixup left every image as it was");
    double mean = 0;
    Random r = new Random(9);
    for (int i = 0; i < 4000; i++) {
      double b = MixupDefense.beta(0.5, r);
      assertTrue(b >= 0 && b <= 1);
      mean += b;
    }
    assertEquals(0.5, mean / 4000, 0.03); // Beta(a, a) is symmetric around 1/2
  }

  @Test
  void specsParseAndBadOnesAreRefused() {
    assertEquals(List.of("none", "jpeg:75", "bits:3", "gray", "blur:1.0", "cutout:8", "mixup:1.0"),
        Defenses.parseList("none,jpeg:75,bits:3,gray,blur:1.0,cutout:8,mixup:1.0").stream().map(Defense::label)
            .toList());
    assertSame(Defenses.NONE, Defenses.parse("none"));
    assertThrows(IllegalArgumentException.class, () -> Defenses.parse("jpeg"));
    assertThrows(IllegalArgumentException.class, () -> Defenses.parse("jpeg:0"));
    assertThrows(IllegalArgumentException.class, () -> Defenses.parse("sharpen:2"));
    assertThrows(IllegalArgumentException.class, () -> Defenses.parse("bits:x"));
  }
}
