package io.sepshield.report;

import static io.sepshield.report.PixelAssertions.readBack;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sepshield.data.LabeledImages;
import java.awt.Graphics2D;
import java.awt.Point;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageStripTest {
  @TempDir
  Path dir;

  @Test
  void amplifiedDifferenceIsExactAndClipped() {
    byte[] clean = bytes(0, 100, 100, 100, 255, 250, 3);
    byte[] perturbed = bytes(0, 101, 99, 108, 247, 255, 0);
    byte[] diff = ImageStrip.amplifiedDifference(clean, perturbed, 10);
    // 128 + 10 * (p - c): 0 -> 128, +1 -> 138, -1 -> 118, +8 -> 208, -8 -> 48, +5 -> 178, -3 -> 98
    assertArrayEquals(bytes(128, 138, 118, 208, 48, 178, 98), diff);
    byte[] clipped = ImageStrip.amplifiedDifference(bytes(0, 255), bytes(255, 0), 20);
    assertArrayEquals(bytes(255, 0), clipped);
    assertArrayEquals(bytes(129), ImageStrip.amplifiedDifference(bytes(7), bytes(8), 1));
  }

  @Test
  void amplifiedDifferenceRejectsBadInput() {
    assertThrows(IllegalArgumentException.class, () -> ImageStrip.amplifiedDifference(new byte[2], new byte[3], 4));
    assertThrows(IllegalArgumentException.class, () -> ImageStrip.amplifiedDifference(new byte[2], new byte[2], 0));
  }

  @Test
  void upscalingRepeatsEachPixelExactly() {
    int c = 3;
    int h = 3;
    int w = 4;
    byte[] chw = randomImage(c, h, w, 1);
    int scale = 5;
    BufferedImage big = ImageStrip.toImage(chw, c, h, w, scale);
    assertEquals(w * scale, big.getWidth());
    assertEquals(h * scale, big.getHeight());
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int expected = rgb(chw, c, h, w, y, x);
        // Centre and both corners of the scale x scale block.
        assertEquals(expected, big.getRGB(x * scale + scale / 2, y * scale + scale / 2) & 0xFFFFFF);
        assertEquals(expected, big.getRGB(x * scale, y * scale) & 0xFFFFFF);
        assertEquals(expected, big.getRGB(x * scale + scale - 1, y * scale + scale - 1) & 0xFFFFFF);
      }
    }
  }

  @Test
  void greyImagesBecomeGreyPixels() {
    BufferedImage big = ImageStrip.toImage(bytes(0, 77, 200, 255), 1, 2, 2, 3);
    assertEquals(0x4D4D4D, big.getRGB(4, 1) & 0xFFFFFF);
    assertEquals(0xC8C8C8, big.getRGB(1, 4) & 0xFFFFFF);
  }

  @Test
  void renderedStripKeepsPixelValuesAtEveryCellCentre() throws Exception {
    int c = 3;
    int h = 6;
    int w = 5;
    int scale = 4;
    List<byte[]> clean = List.of(randomImage(c, h, w, 2), randomImage(c, h, w, 3), randomImage(c, h, w, 4));
    List<byte[]> perturbed = clean.stream().map(img -> perturb(img, 8)).toList();
    List<byte[]> diffs = List.of(ImageStrip.amplifiedDifference(clean.get(0), perturbed.get(0), 10),
        ImageStrip.amplifiedDifference(clean.get(1), perturbed.get(1), 10),
        ImageStrip.amplifiedDifference(clean.get(2), perturbed.get(2), 10));
    List<List<byte[]>> rows = List.of(clean, perturbed, diffs);
    ImageStrip strip = new ImageStrip(scale).title("SEP-FA-VR, eps = 8/255")
        .row("clean", clean, c, h, w, List.of("cat", "dog", "a rather long class name"))
        .row("protected", perturbed, c, h, w, null)
        .row("difference x10", diffs, c, h, w, null)
        .caption("sep-shield protect --eps 8/255 --seed 11");

    Path png = strip.write(dir.resolve("strip.png"));
    BufferedImage measure = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = StripText.canvas(measure);
    ImageStrip.Layout layout = strip.layout(g);
    g.dispose();
    BufferedImage image = readBack(png, layout.width(), layout.height());

    for (int r = 0; r < rows.size(); r++) {
      for (int k = 0; k < 3; k++) {
        Point origin = layout.imageOrigin(r, k);
        byte[] chw = rows.get(r).get(k);
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            int px = origin.x + x * scale + scale / 2;
            int py = origin.y + y * scale + scale / 2;
            assertEquals(rgb(chw, c, h, w, y, x), image.getRGB(px, py) & 0xFFFFFF,
                "row " + r + " image " + k + " pixel (" + y + "," + x + ")");
          }
        }
      }
    }
  }

  @Test
  void rowFromDataSetUsesClassNames() {
    int n = 3;
    byte[] pixels = new byte[n * 8 * 8];
    new Random(5).nextBytes(pixels);
    LabeledImages data = new LabeledImages(1, 8, 8, pixels, new int[] {0, 1, LabeledImages.UNKNOWN_LABEL},
        List.of("zero", "one"), LabeledImages.indexIds("t", n));
    BufferedImage image = new ImageStrip(2).row("clean", data, 2, 0, 1).render();
    assertTrue(image.getWidth() > 3 * 16 && image.getHeight() > 16);
  }

  @Test
  void rejectsBadImages() {
    assertThrows(IllegalArgumentException.class, () -> new ImageStrip.Cell(new byte[8], 2, 2, 2));
    assertThrows(IllegalArgumentException.class, () -> new ImageStrip.Cell(new byte[5], 1, 2, 2));
    assertThrows(IllegalArgumentException.class, () -> new ImageStrip(0));
    assertThrows(IllegalStateException.class, () -> new ImageStrip(2).render());
  }

  private static int rgb(byte[] chw, int c, int h, int w, int y, int x) {
    int i = y * w + x;
    int r = chw[i] & 0xFF;
    int g = c == 3 ? chw[h * w + i] & 0xFF : r;
    int b = c == 3 ? chw[2 * h * w + i] & 0xFF : r;
    return (r << 16) | (g << 8) | b;
  }

  private static byte[] randomImage(int c, int h, int w, long seed) {
    byte[] b = new byte[c * h * w];
    new Random(seed).nextBytes(b);
    return b;
  }

  private static byte[] perturb(byte[] image, int eps) {
    Random random = new Random(99);
    byte[] out = new byte[image.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (byte) Math.max(0, Math.min(255, (image[i] & 0xFF) + random.nextInt(2 * eps + 1) - eps));
    }
    return out;
  }

  private static byte[] bytes(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) values[i];
    }
    return b;
  }
}
