package io.sepshield.report;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sepshield.report.Plot.Axis;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PlotTest {
  @Test
  void fixedAxisKeepsItsRangeWithRoundTicks() {
    Axis a = Axis.of(0, 100, 6, true, false);
    assertEquals(0, a.min());
    assertEquals(100, a.max());
    assertArrayEquals(new double[] {0, 20, 40, 60, 80, 100}, a.ticks(), 1e-9);
    assertEquals("60", a.label(60));
  }

  @Test
  void looseAxisWidensToEnclosingTicks() {
    Axis a = Axis.of(0.13, 2.31, 6, false, false);
    assertEquals(0.5, a.step(), 1e-12);
    assertEquals(0.0, a.min(), 1e-12);
    assertEquals(2.5, a.max(), 1e-12);
    assertEquals("1.5", a.label(a.ticks()[3]));
    assertEquals("0.0", a.label(-1e-17), "no negative zero");
  }

  @Test
  void integerAxisNeverUsesFractionalSteps() {
    Axis a = Axis.of(1, 3, 10, false, true);
    assertEquals(1, a.step());
    for (double t : a.ticks()) {
      assertEquals(Math.rint(t), t);
    }
    Axis single = Axis.of(5, 5, 5, false, true);
    assertTrue(single.min() < 5 && single.max() > 5, "a single value still gets a range");
  }

  @Test
  void paletteColoursAreDistinctBeyondTen() {
    Set<Integer> colors = new HashSet<>();
    for (int i = 0; i < 16; i++) {
      colors.add(Plot.color(i).getRGB());
    }
    assertEquals(16, colors.size());
  }

  @Test
  void wrapKeepsEveryLineWithinTheWidthAndLosesNoText() {
    Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    g.setFont(new Font(Font.MONOSPACED, Font.PLAIN, 11));
    FontMetrics fm = g.getFontMetrics();
    String text = "sep-shield protect --eps 8/255 --out /very/long/path/" + "x".repeat(120) + " --seed 42\nsecond line";

    List<String> lines = Plot.wrap(fm, text, 200, 100);

    assertTrue(lines.size() > 3, "long caption should wrap: " + lines);
    for (String line : lines) {
      assertTrue(Plot.textWidth(fm, line) <= 200, "too wide: " + line);
    }
    assertEquals(text.replaceAll("\\s", ""), String.join("", lines).replaceAll("\\s", ""));
    assertEquals("second line", lines.get(lines.size() - 1));
  }

  @Test
  void wrapCutsExcessLinesWithAnEllipsis() {
    Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    FontMetrics fm = g.getFontMetrics(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    List<String> lines = Plot.wrap(fm, "word ".repeat(200), 100, 3);
    assertEquals(3, lines.size());
    assertTrue(lines.get(2).endsWith("…"));
    assertNotEquals(lines.get(0), lines.get(2));
  }
}
