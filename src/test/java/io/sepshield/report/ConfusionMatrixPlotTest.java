package io.sepshield.report;

import static io.sepshield.report.PixelAssertions.count;
import static io.sepshield.report.PixelAssertions.readBack;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfusionMatrixPlotTest {
  @TempDir
  Path dir;

  @Test
  void writesHeatMapOfRequestedSize() throws Exception {
    int[][] counts = {{50, 3, 2}, {4, 40, 6}, {1, 9, 45}};
    Path png = new ConfusionMatrixPlot(counts, List.of("cat", "dog", "automobile")).title("ResNet-18")
        .caption("sep-shield evaluate --seed 1").size(600, 560).write(dir.resolve("cm.png"));
    readBack(png, 600, 560);
  }

  @Test
  void coloursAreNormalisedPerRow() {
    // A rare class (10 images) and a common one (1000), both always right: both diagonal cells are full colour.
    // Normalised over the whole matrix instead, the rare class would be nearly white.
    int[][] counts = {{10, 0}, {0, 1000}};
    BufferedImage image = new ConfusionMatrixPlot(counts, List.of("rare", "common")).render();
    Color full = ConfusionMatrixPlot.blues(1.0);
    Color empty = ConfusionMatrixPlot.blues(0.0);
    int fullPixels = count(image, full);
    int emptyPixels = count(image, empty);
    assertTrue(fullPixels > 10_000, "diagonal cells missing: " + fullPixels);
    // Two full cells vs two empty cells: about the same area.
    assertTrue(fullPixels > 0.75 * emptyPixels && fullPixels < 1.33 * emptyPixels,
        "full " + fullPixels + " vs empty " + emptyPixels);
  }

  @Test
  void colourMapRunsFromLightToDark() {
    Color light = ConfusionMatrixPlot.blues(0);
    Color mid = ConfusionMatrixPlot.blues(0.5);
    Color dark = ConfusionMatrixPlot.blues(1);
    assertTrue(sum(light) > sum(mid) && sum(mid) > sum(dark));
  }

  @Test
  void rejectsNonSquareOrInconsistentInput() {
    assertThrows(IllegalArgumentException.class,
        () -> new ConfusionMatrixPlot(new int[][] {{1, 2, 3}, {4, 5, 6}}, List.of("a", "b")));
    assertThrows(IllegalArgumentException.class,
        () -> new ConfusionMatrixPlot(new int[][] {{1, 2}, {3}}, List.of("a", "b")));
    assertThrows(IllegalArgumentException.class, () -> new ConfusionMatrixPlot(new int[0][0], List.of()));
    assertThrows(IllegalArgumentException.class,
        () -> new ConfusionMatrixPlot(new int[][] {{1, 2}, {3, 4}}, List.of("a", "b", "c")));
    assertThrows(IllegalArgumentException.class,
        () -> new ConfusionMatrixPlot(new int[][] {{1, -2}, {3, 4}}, List.of("a", "b")));
  }

  @Test
  void manyClassesRenderWithoutCounts() {
    int k = 100;
    int[][] counts = new int[k][k];
    String[] names = new String[k];
    for (int i = 0; i < k; i++) {
      counts[i][i] = 90;
      counts[i][(i + 1) % k] = 10;
      names[i] = "class-" + i;
    }
    BufferedImage image = new ConfusionMatrixPlot(counts, List.of(names)).render();
    assertTrue(count(image, ConfusionMatrixPlot.blues(0.9)) > 0);
  }

  private static int sum(Color c) {
    return c.getRed() + c.getGreen() + c.getBlue();
  }
}
