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

  /** n gray 14x14 images per class of k classes, random smooth-ish content, ids from the prefix. */
  private static LabeledImages grayImages(int perClass, int classes, long seed, String prefix) {
    int n = perClass * classes;
    byte[] px = new byte[n * 14 * 14];
    int[] labels = new int[n];
    Random random = new Random(seed);
    for (int i = 0; i < n; i++) {
      labels[i] = i % classes;
      int base = 40 + 60 * labels[i];
      for (int p = 0; p < 196; p++) {
        px[i * 196 + p] = (byte) (base + random.nextInt(60));
      }
    }
    return new LabeledImages(1, 14, 14, px, labels, List.of("a", "b", "c"), LabeledImages.indexIds(prefix, n));
  }

  @Test
  void classMeanTakesAClassPatternOffAndLeavesCleanImagesNearlyAsTheyWere() {
    LabeledImages clean = grayImages(200, 3, 1, "train");
    LabeledImages reference = grayImages(400, 3, 2, "elsewhere");
    // A class pattern of +-8 over 7x7 squares, a different sign layout per class.
    byte[] patterned = clean.rawPixels().clone();
    for (int i = 0; i < clean.size(); i++) {
      for (int y = 0; y < 14; y++) {
        for (int x = 0; x < 14; x++) {
          int sign = ((y / 7) * 2 + x / 7 + clean.label(i)) % 2 == 0 ? 1 : -1;
          int p = i * 196 + y * 14 + x;
          patterned[p] = (byte) ((patterned[p] & 0xff) + 8 * sign);
        }
      }
    }
    LabeledImages withPattern = clean.withPixels(patterned);
    ClassMeanDefense defense = new ClassMeanDefense(7, reference);
    assertEquals("class-mean:7", defense.label());
    assertEquals(8.0, meanAbsDiff(clean, withPattern), 1e-9);
    // The pattern is gone up to the sampling noise of two sets' means (about 17/sqrt(200 * 49) levels).
    assertTrue(meanAbsDiff(clean, defense.preprocess(withPattern)) < 1, "" + meanAbsDiff(clean,
        defense.preprocess(withPattern)));
    assertTrue(meanAbsDiff(clean, defense.preprocess(clean)) < 1);
    java.util.regex.Matcher shift = java.util.regex.Pattern.compile("mean ([0-9.]+)/255")
        .matcher(defense.describeOn(withPattern));
    assertTrue(shift.find(), defense.describeOn(withPattern));
    assertEquals(8.0, Double.parseDouble(shift.group(1)), 0.5);
    // Pixel by pixel it also works, with the larger noise of per-pixel means (about 1.5 levels); one square over the
    // whole image averages +8 and -8 away and takes nothing off.
    assertTrue(meanAbsDiff(clean, new ClassMeanDefense(1, reference).preprocess(withPattern)) < 2.5);
    assertTrue(meanAbsDiff(clean, new ClassMeanDefense(14, reference).preprocess(withPattern)) > 7);
    // The plain attack imprints the sampling error of the class means on clean images; at 3 standard errors the
    // thresholded one leaves clean images (nearly) alone and still takes the pattern off.
    ClassMeanDefense thresholded = new ClassMeanDefense(7, 3, reference);
    assertEquals("class-mean:7:3", thresholded.label());
    double plainOnClean = meanAbsDiff(clean, defense.preprocess(clean));
    double thresholdedOnClean = meanAbsDiff(clean, thresholded.preprocess(clean));
    assertTrue(plainOnClean > 0.05 && thresholdedOnClean < plainOnClean / 4, plainOnClean + " vs "
        + thresholdedOnClean);
    assertTrue(meanAbsDiff(clean, thresholded.preprocess(withPattern)) < 1);
    assertTrue(thresholded.describeOn(clean).contains("standard errors"), thresholded.describeOn(clean));
  }

  @Test
  void classMeanRefusesReferencesOfAnotherShapeOrWithoutAClass() {
    LabeledImages clean = grayImages(10, 3, 1, "train");
    LabeledImages twoClasses = grayImages(10, 3, 2, "ref").select(java.util.stream.IntStream.range(0, 30)
        .filter(i -> i % 3 != 2).toArray());
    assertThrows(IllegalArgumentException.class, () -> new ClassMeanDefense(7, twoClasses).preprocess(clean));
    assertThrows(IllegalArgumentException.class, () -> new ClassMeanDefense(7, TinyModels.textures(2, 3, 1, 4))
        .preprocess(clean));
    assertThrows(IllegalArgumentException.class, () -> new ClassMeanDefense(0, clean));
    assertThrows(IllegalArgumentException.class, () -> Defenses.parse("class-mean:7"));
    assertEquals(List.of("none", "class-mean:4", "class-mean:4:2.5"), Defenses.parseList(
        "none,class-mean:4,class-mean:4:2.5", () -> clean).stream().map(Defense::label).toList());
    assertThrows(IllegalArgumentException.class, () -> Defenses.parse("class-mean:4:-1", () -> clean));
    assertThrows(IllegalArgumentException.class, () -> Defenses.parse("class-mean:4:1:2", () -> clean));
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
