package io.sepshield.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import javax.imageio.ImageIO;

/** Checks on rendered PNGs shared by the figure tests. */
final class PixelAssertions {
  private PixelAssertions() {}

  /** Reads the PNG back with ImageIO and checks its size and that it is not a blank canvas. */
  static BufferedImage readBack(Path png, int width, int height) throws IOException {
    assertTrue(Files.size(png) > 0, "empty file " + png);
    BufferedImage image = ImageIO.read(png.toFile());
    assertNotNull(image, "ImageIO cannot read " + png);
    assertEquals(width, image.getWidth(), "width");
    assertEquals(height, image.getHeight(), "height");
    assertTrue(distinctColors(image) > 20, "image looks blank: " + distinctColors(image) + " colours");
    return image;
  }

  static int count(BufferedImage image, Color color) {
    int rgb = color.getRGB() & 0xFFFFFF;
    int n = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        if ((image.getRGB(x, y) & 0xFFFFFF) == rgb) {
          n++;
        }
      }
    }
    return n;
  }

  static int distinctColors(BufferedImage image) {
    Set<Integer> colors = new HashSet<>();
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        colors.add(image.getRGB(x, y) & 0xFFFFFF);
      }
    }
    return colors.size();
  }

  /** Pixels clearly darker than the background (text, axes) inside the given rows. */
  static int darkPixels(BufferedImage image, int fromY, int toY) {
    int n = 0;
    for (int y = Math.max(0, fromY); y < Math.min(image.getHeight(), toY); y++) {
      for (int x = 0; x < image.getWidth(); x++) {
        Color c = new Color(image.getRGB(x, y));
        if (c.getRed() + c.getGreen() + c.getBlue() < 3 * 160) {
          n++;
        }
      }
    }
    return n;
  }
}
