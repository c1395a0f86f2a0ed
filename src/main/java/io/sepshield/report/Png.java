package io.sepshield.report;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;

/** Writes figures as PNG files. */
public final class Png {
  static {
    assumeHeadless();
  }

  private Png() {}

  /** Writes the image as PNG, creating missing parent directories. */
  public static void write(BufferedImage image, Path path) throws IOException {
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    // ImageIO signals "no writer for this image type" by returning false, not by throwing.
    if (!ImageIO.write(image, "png", path.toFile())) {
      throw new IOException("no PNG writer for image type " + image.getType() + ": " + path);
    }
  }

  /**
   * Rendering runs on servers and in CI without a display; unless the application chose otherwise, make AWT headless
   * before it first initialises so it never looks for an X server.
   */
  static void assumeHeadless() {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }
}
