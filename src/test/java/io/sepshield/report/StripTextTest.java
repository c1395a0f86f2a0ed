package io.sepshield.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.util.List;
import org.junit.jupiter.api.Test;

class StripTextTest {
  @Test
  void wrapKeepsEveryLineWithinTheWidthAndLosesNoText() {
    Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    g.setFont(new Font(Font.MONOSPACED, Font.PLAIN, 11));
    FontMetrics fm = g.getFontMetrics();
    String text = "sep-shield protect --eps 8/255 --out /very/long/path/" + "x".repeat(120) + " --seed 42\nsecond line";

    List<String> lines = StripText.wrap(fm, text, 200, 100);

    assertTrue(lines.size() > 3, "long caption should wrap: " + lines);
    for (String line : lines) {
      assertTrue(StripText.textWidth(fm, line) <= 200, "too wide: " + line);
    }
    assertEquals(text.replaceAll("\\s", ""), String.join("", lines).replaceAll("\\s", ""));
    assertEquals("second line", lines.get(lines.size() - 1));
  }

  @Test
  void wrapCutsExcessLinesWithAnEllipsis() {
    Graphics2D g = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics();
    FontMetrics fm = g.getFontMetrics(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    List<String> lines = StripText.wrap(fm, "word ".repeat(200), 100, 3);
    assertEquals(3, lines.size());
    assertTrue(lines.get(2).endsWith("…"));
    assertNotEquals(lines.get(0), lines.get(2));
  }
}
