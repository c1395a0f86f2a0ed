package io.sepshield.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PngTest {
  @TempDir
  Path dir;

  @Test
  void writesPngCreatingParentDirectories() throws Exception {
    BufferedImage image = new BufferedImage(7, 5, BufferedImage.TYPE_INT_RGB);
    image.setRGB(3, 2, 0x123456);
    Path file = dir.resolve("a/b/c/figure.png");

    Png.write(image, file);

    assertTrue(Files.isRegularFile(file));
    BufferedImage back = ImageIO.read(file.toFile());
    assertEquals(7, back.getWidth());
    assertEquals(5, back.getHeight());
    assertEquals(0x123456, back.getRGB(3, 2) & 0xFFFFFF);
    assertEquals(0, back.getRGB(0, 0) & 0xFFFFFF);
  }
}
