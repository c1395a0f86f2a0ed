package io.sepshield.report;

import static io.sepshield.report.PixelAssertions.count;
import static io.sepshield.report.PixelAssertions.darkPixels;
import static io.sepshield.report.PixelAssertions.readBack;
import static org.junit.jupiter.api.Assertions.*;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.title.TextTitle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartsTest {
  private static final String CAPTION = "sep-shield evaluate --methods none,sep-fa-vr --eps 8 --seed 7 | sep-fa-vr "
      + "eps=8.0/255 T=10 M=5 | resnet8 seed 1000003";
  private static final double[] EPOCHS = {1, 2, 3, 4, 5, 6, 7, 8};

  @TempDir
  Path dir;

  private static List<Charts.Curve> curves() {
    return List.of(new Charts.Curve("clean", EPOCHS, new double[] {35, 52, 63, 71, 77, 81, 84, 86}, null, false)
            .asDashed(),
        new Charts.Curve("protected", EPOCHS, new double[] {12, 15, 14, 17, 16, 18, Double.NaN, 19}, null, false),
        Charts.Curve.of("random noise", new double[] {30, 48, 60, 68, 73, 78, 80, 83}));
  }

  private static JFreeChart lines(String caption, List<Charts.Curve> curves) {
    return Charts.lines("Test accuracy per epoch", "epoch", "accuracy (%)", new double[] {0, 100}, curves, caption);
  }

  @Test
  void aLineChartIsWrittenAsPngOfItsSizeWithEveryCurveAndItsCaption() throws Exception {
    JFreeChart chart = lines(CAPTION, curves());
    assertEquals(CAPTION, Charts.caption(chart));
    TextTitle caption = (TextTitle) chart.getSubtitle(0);
    assertEquals(Charts.CAPTION_ID, caption.getID());
    assertEquals(CAPTION, caption.getText());
    assertEquals(3, ((XYPlot) chart.getPlot()).getDataset().getSeriesCount());
    assertEquals(7, ((XYPlot) chart.getPlot()).getDataset().getItemCount(1), "the NaN point is left out");

    Path png = Charts.write(chart, dir.resolve("out/curves.png"), Charts.WIDTH, Charts.HEIGHT);
    BufferedImage image = readBack(png, Charts.WIDTH, Charts.HEIGHT);
    for (int i = 0; i < 3; i++) {
      assertTrue(count(image, Charts.color(i)) > 100, "curve " + i + " colour missing");
    }
    assertEquals(0, count(image, Charts.color(3)), "only three curves were drawn");
    readBack(Charts.write(chart, dir.resolve("small.png"), 640, 400), 640, 400);
  }

  @Test
  void aLongCaptionWrapsIntoMoreTextAtTheBottomAndStaysComplete() {
    String longCaption = "sep-shield protect --data cifar10 --method sep-fa-vr --eps 8/255 --steps 250 --out "
        + "/work/runs/2025-06-01/" + "x".repeat(150) + " --seed 1234 ".repeat(3);
    BufferedImage a = Charts.render(lines("seed 1", curves()), Charts.WIDTH, Charts.HEIGHT);
    JFreeChart wrapped = lines(longCaption, curves());
    BufferedImage b = Charts.render(wrapped, Charts.WIDTH, Charts.HEIGHT);
    int h = a.getHeight();
    assertTrue(darkPixels(b, h - 70, h) > 3 * darkPixels(a, h - 70, h), "several caption lines at the bottom");
    assertEquals(longCaption.strip(), Charts.caption(wrapped));
  }

  @Test
  void anSdBandIsDrawnAroundAMeanCurve() {
    double[] mean = {20, 40, 60, 70};
    BufferedImage plain = Charts.render(lines("c", List.of(Charts.Curve.of("m", mean))), 600, 400);
    BufferedImage band = Charts.render(lines("c", List.of(Charts.Curve.of("m", mean)
        .withSd(new double[] {8, 8, 8, 8}))), 600, 400);
    // The band is the series colour at low alpha over white: a light blue that the plain chart lacks.
    assertTrue(lightTint(band) > 5 * (lightTint(plain) + 100), lightTint(band) + " vs " + lightTint(plain));
  }

  @Test
  void barsCarryTheirValuesAndErrorBarsOnlyWithAnSd() throws Exception {
    List<String> archs = List.of("resnet8", "vgg11s", "densenet-s");
    List<Charts.Bars> single = List.of(new Charts.Bars("clean-trained", new double[] {86.6, 89.6, 89.3}, null),
        new Charts.Bars("sep-fa-vr", new double[] {18.5, 34.9, Double.NaN}, null));
    List<Charts.Bars> repeated = List.of(
        new Charts.Bars("clean-trained", new double[] {86.6, 89.6, 89.3}, new double[] {0.4, 0.3, 0.5}),
        new Charts.Bars("sep-fa-vr", new double[] {18.5, 34.9, Double.NaN}, new double[] {9, 9, 9}));
    JFreeChart a = Charts.bars("Clean test accuracy", "architecture", "accuracy (%)", new double[] {0, 100}, archs,
        single, CAPTION);
    JFreeChart b = Charts.bars("Clean test accuracy", "architecture", "accuracy (%)", new double[] {0, 100}, archs,
        repeated, CAPTION);
    assertEquals(CAPTION, Charts.caption(b));
    BufferedImage ia = readBack(Charts.write(a, dir.resolve("bars.png"), Charts.WIDTH, Charts.HEIGHT),
        Charts.WIDTH, Charts.HEIGHT);
    BufferedImage ib = Charts.render(b, Charts.WIDTH, Charts.HEIGHT);
    assertTrue(count(ia, Charts.color(0)) > 1000 && count(ia, Charts.color(1)) > 500, "both series drawn");
    // Error bars are dark lines over the bars: the sep-fa-vr bars (±9) must add clearly visible ink.
    assertTrue(count(ib, Charts.TEXT) > count(ia, Charts.TEXT) + 40, count(ib, Charts.TEXT) + " vs "
        + count(ia, Charts.TEXT));
    assertThrows(IllegalArgumentException.class, () -> Charts.bars("t", "x", "y", null, archs,
        List.of(new Charts.Bars("s", new double[] {1, 2}, null)), ""));
  }

  @Test
  void aConfusionMatrixIsAHeatMapWithCountsAndItsCaption() throws Exception {
    int[][] counts = {{50, 0, 0}, {10, 30, 10}, {0, 25, 25}};
    JFreeChart chart = Charts.confusion("resnet8 on sep-fa-vr", counts, List.of("cat", "dog", "bird"), CAPTION);
    assertEquals(CAPTION, Charts.caption(chart));
    XYPlot plot = (XYPlot) chart.getPlot();
    assertEquals(9, plot.getAnnotations().size(), "a count in every cell");
    assertTrue(chart.getSubtitles().stream().anyMatch(t -> t instanceof TextTitle tt
        && tt.getText().startsWith("accuracy 70.00% of 150 test images")));
    byte[] png = Charts.png(chart, Charts.CONFUSION_WIDTH, Charts.CONFUSION_HEIGHT);
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
    assertEquals(Charts.CONFUSION_WIDTH, image.getWidth());
    assertEquals(Charts.CONFUSION_HEIGHT, image.getHeight());
    // Row 0 is all in one cell (share 1: the darkest blue); the legend strip also holds it, so more than a strip.
    Color darkest = (Color) new Charts.BluesScale().getPaint(1.0);
    assertTrue(count(image, darkest) > 5000, "the full-share cell: " + count(image, darkest));

    assertThrows(IllegalArgumentException.class, () -> Charts.confusion("t", new int[][] {{1, 2}}, List.of("a"), ""));
    assertThrows(IllegalArgumentException.class,
        () -> Charts.confusion("t", new int[][] {{1, -1}, {0, 1}}, List.of("a", "b"), ""));
    assertThrows(IllegalArgumentException.class,
        () -> Charts.confusion("t", new int[][] {{1, 0}, {0, 1}}, List.of("a"), ""));
  }

  @Test
  void badInputIsRefused() {
    assertThrows(IllegalArgumentException.class,
        () -> new Charts.Curve("s", new double[] {1, 2}, new double[] {1}, null, false));
    assertThrows(IllegalArgumentException.class,
        () -> new Charts.Curve("s", new double[] {Double.NaN}, new double[] {1}, null, false));
    assertThrows(IllegalArgumentException.class, () -> Charts.render(lines("", curves()), 10, 10));
  }

  /** Pixels of a pale tint of the first palette colour (blue), as a translucent band leaves on white. */
  private static int lightTint(BufferedImage image) {
    int n = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        Color c = new Color(image.getRGB(x, y));
        if (c.getBlue() > 225 && c.getRed() > 180 && c.getRed() < 235 && c.getBlue() - c.getRed() > 12) {
          n++;
        }
      }
    }
    return n;
  }
}
