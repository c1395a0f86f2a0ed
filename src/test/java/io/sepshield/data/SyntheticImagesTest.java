package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;

class SyntheticImagesTest {
  /** Per-class mean images, as doubles. */
  private static double[][] centroids(LabeledImages data) {
    double[][] sum = new double[data.numClasses()][data.imageBytes()];
    int[] count = new int[data.numClasses()];
    for (int i = 0; i < data.size(); i++) {
      byte[] img = data.image(i);
      for (int p = 0; p < img.length; p++) {
        sum[data.label(i)][p] += img[p] & 0xFF;
      }
      count[data.label(i)]++;
    }
    for (int k = 0; k < sum.length; k++) {
      for (int p = 0; p < sum[k].length; p++) {
        sum[k][p] /= count[k];
      }
    }
    return sum;
  }

  private static double distance2(double[] a, byte[] img) {
    double d = 0;
    for (int p = 0; p < a.length; p++) {
      double diff = a[p] - (img[p] & 0xFF);
      d += diff * diff;
    }
    return d;
  }

  /** Accuracy on test of a nearest-centroid classifier fitted on train. */
  private static double nearestCentroidAccuracy(LabeledImages train, LabeledImages test) {
    double[][] c = centroids(train);
    int correct = 0;
    for (int i = 0; i < test.size(); i++) {
      byte[] img = test.image(i);
      int best = 0;
      for (int k = 1; k < c.length; k++) {
        if (distance2(c[k], img) < distance2(c[best], img)) {
          best = k;
        }
      }
      correct += best == test.label(i) ? 1 : 0;
    }
    return (double) correct / test.size();
  }

  @Test
  void sameSeedSameBytesOtherSeedOtherBytes() {
    LabeledImages a = SyntheticImages.generate(4, 10, 3, 12, 10, 7);
    LabeledImages b = SyntheticImages.generate(4, 10, 3, 12, 10, 7);
    LabeledImages c = SyntheticImages.generate(4, 10, 3, 12, 10, 8);
    assertArrayEquals(a.rawPixels(), b.rawPixels());
    assertArrayEquals(a.labels(), b.labels());
    assertFalse(java.util.Arrays.equals(a.rawPixels(), c.rawPixels()));
    assertEquals(40, a.size());
    assertEquals(List.of("class-0", "class-1", "class-2", "class-3"), a.classNames());
    assertEquals("synthetic-000039", a.id(39));
    assertEquals(3, a.label(7), "classes are interleaved");
  }

  @Test
  void classesAreDistinctAndLearnableButNotSinglePixel() {
    for (int[] cfg : new int[][] {{4, 1, 16}, {10, 1, 28}, {3, 3, 8}}) {
      LabeledImages train = SyntheticImages.generate(cfg[0], 60, cfg[1], cfg[2], cfg[2], 1);
      LabeledImages test = SyntheticImages.generate(cfg[0], 60, cfg[1], cfg[2], cfg[2], 2);
      double acc = nearestCentroidAccuracy(train, test);
      assertTrue(acc >= 0.9, "nearest-centroid accuracy " + acc + " for " + java.util.Arrays.toString(cfg));

      // Not trivial: the best single pixel, thresholded, cannot tell class 0 from class 1 perfectly.
      double[][] c = centroids(train);
      int best = 0;
      for (int p = 1; p < c[0].length; p++) {
        if (Math.abs(c[0][p] - c[1][p]) > Math.abs(c[0][best] - c[1][best])) {
          best = p;
        }
      }
      double threshold = (c[0][best] + c[1][best]) / 2;
      boolean zeroIsHigh = c[0][best] > c[1][best];
      int errors = 0;
      for (int i = 0; i < test.size(); i++) {
        if (test.label(i) > 1) {
          continue;
        }
        boolean high = (test.image(i)[best] & 0xFF) > threshold;
        errors += (high == zeroIsHigh) == (test.label(i) == 0) ? 0 : 1;
      }
      assertTrue(errors > 0, "one pixel should not separate the classes perfectly");
    }
  }

  @Test
  void samplesWithinAClassVary() {
    LabeledImages data = SyntheticImages.generate(2, 5, 1, 16, 16, 3);
    assertFalse(java.util.Arrays.equals(data.image(0), data.image(2)));
  }

  @Test
  void rejectsBadArguments() {
    assertThrows(IllegalArgumentException.class, () -> SyntheticImages.generate(0, 5, 1, 16, 16, 0));
    assertThrows(IllegalArgumentException.class, () -> SyntheticImages.generate(2, 0, 1, 16, 16, 0));
    assertThrows(IllegalArgumentException.class, () -> SyntheticImages.generate(2, 5, 0, 16, 16, 0));
    assertThrows(IllegalArgumentException.class, () -> SyntheticImages.generate(2, 5, 1, 3, 16, 0));
  }
}
