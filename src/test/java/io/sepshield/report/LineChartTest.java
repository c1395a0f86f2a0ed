package io.sepshield.report;

import static io.sepshield.report.PixelAssertions.count;
import static io.sepshield.report.PixelAssertions.darkPixels;
import static io.sepshield.report.PixelAssertions.readBack;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LineChartTest {
  @TempDir
  Path dir;

  private static LineChart accuracyChart() {
    double[] epochs = {1, 2, 3, 4, 5, 6, 7, 8};
    return new LineChart().title("Test accuracy per epoch").xLabel("epoch").yLabel("accuracy (%)").yRange(0, 100)
        .series("clean", epochs, new double[] {35, 52, 63, 71, 77, 81, 84, 86})
        .series("protected", epochs, new double[] {12, 15, 14, 17, 16, 18, Double.NaN, 19})
        .series("random noise", epochs, new double[] {30, 48, 60, 68, 73, 78, 80, 83});
  }

  @Test
  void writesPngOfDefaultSizeWithEverySeriesColour() throws Exception {
    Path png = accuracyChart().caption("sep-shield evaluate --seed 7").write(dir.resolve("out/accuracy.png"));

    BufferedImage image = readBack(png, LineChart.DEFAULT_WIDTH, LineChart.DEFAULT_HEIGHT);
    for (int i = 0; i < 3; i++) {
      assertTrue(count(image, Plot.color(i)) > 100, "series " + i + " colour missing");
    }
    assertEquals(0, count(image, Plot.color(3)), "only three series were drawn");
  }

  @Test
  void honoursRequestedSize() throws Exception {
    Path png = accuracyChart().size(640, 400).write(dir.resolve("small.png"));
    readBack(png, 640, 400);
  }

  @Test
  void longCaptionWrapsIntoMoreTextAtTheBottom() {
    String shortCaption = "seed 1";
    String longCaption = "sep-shield protect --data cifar10 --method sep-fa-vr --eps 8/255 --steps 250 "
        + "--ensemble resnet18,densenet121,vgg16 --seed 1234 --out /work/runs/2025-06-01/protected ".repeat(3);
    BufferedImage a = accuracyChart().caption(shortCaption).render();
    BufferedImage b = accuracyChart().caption(longCaption).render();
    // The bottom 60 px hold (part of) the caption: several wrapped lines put far more ink there than one word.
    int h = a.getHeight();
    assertTrue(darkPixels(b, h - 60, h) > 3 * darkPixels(a, h - 60, h));
  }

  @Test
  void seriesWithoutXCountsFromOne() {
    BufferedImage image = new LineChart().series("loss", new double[] {2.3, 1.1, 0.7}).render();
    assertTrue(count(image, Plot.color(0)) > 50);
  }

  @Test
  void rejectsInconsistentInput() {
    assertThrows(IllegalArgumentException.class,
        () -> new LineChart().series("s", new double[] {1, 2}, new double[] {1}));
    assertThrows(IllegalArgumentException.class,
        () -> new LineChart().series("s", new double[] {Double.NaN}, new double[] {1}));
    assertThrows(IllegalArgumentException.class, () -> new LineChart().yRange(100, 0));
    assertThrows(IllegalArgumentException.class, () -> new LineChart().size(10, 10));
  }
}
