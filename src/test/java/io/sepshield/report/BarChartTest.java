package io.sepshield.report;

import static io.sepshield.report.PixelAssertions.count;
import static io.sepshield.report.PixelAssertions.readBack;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BarChartTest {
  @TempDir
  Path dir;

  @Test
  void writesGroupedBarsInSeriesColours() throws Exception {
    Path png = new BarChart().title("Test accuracy by architecture").yLabel("accuracy (%)").yRange(0, 100)
        .categories("ResNet-18", "VGG-16", "DenseNet-121")
        .series("trained on clean", 93.1, 91.8, 100.0)
        .series("trained on protected", 14.2, 17.5, 12.9)
        .caption("sep-shield transfer --seed 3")
        .write(dir.resolve("bars.png"));

    BufferedImage image = readBack(png, BarChart.DEFAULT_WIDTH, BarChart.DEFAULT_HEIGHT);
    int clean = count(image, Plot.color(0));
    int protectedBars = count(image, Plot.color(1));
    assertTrue(protectedBars > 1000, "protected bars missing");
    // Bars are proportional to the values: about 95 vs 15 on average.
    assertTrue(clean > 4 * protectedBars, "clean " + clean + " vs protected " + protectedBars);
  }

  @Test
  void autoRangeHandlesNegativeAndMissingValues() throws Exception {
    Path png = new BarChart().categories("a", "b").series("delta", 3.5, -2.25).series("other", 1, Double.NaN)
        .valueFormat("%.2f").size(500, 320).write(dir.resolve("neg.png"));
    BufferedImage image = readBack(png, 500, 320);
    assertTrue(count(image, Plot.color(0)) > 500);
  }

  @Test
  void rejectsInconsistentInput() {
    BarChart chart = new BarChart().categories("a", "b", "c");
    assertThrows(IllegalArgumentException.class, () -> chart.series("s", 1, 2));
    assertThrows(IllegalArgumentException.class, () -> chart.valueFormat("%d"));
    chart.series("s", 1, 2, 3);
    assertThrows(IllegalStateException.class, () -> chart.categories("x"));
  }
}
