package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderTest {
  @TempDir
  Path dir;

  private static void writeImage(Path p, BufferedImage img, String format) throws IOException {
    Files.createDirectories(p.getParent());
    assertTrue(ImageIO.write(img, format, p.toFile()));
  }

  private static BufferedImage gray(int h, int w, int value) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        img.getRaster().setSample(x, y, 0, value);
      }
    }
    return img;
  }

  @Test
  void writeThenReadRoundTripsLosslesslyWithClassOrderAndUnlabeledImages() throws IOException {
    for (int channels : new int[] {1, 3}) {
      LabeledImages synthetic = SyntheticImages.generate(3, 4, channels, 9, 7, channels);
      int[] labels = synthetic.labels();
      labels[5] = LabeledImages.UNKNOWN_LABEL;
      List<String> names = List.of("T-shirt/top", "Bag", "Ankle boot", "Empty class");
      LabeledImages data = new LabeledImages(channels, 9, 7, synthetic.rawPixels(), labels, names, synthetic.ids());
      Path root = dir.resolve("out" + channels);
      ImageFolder.write(data, root);

      assertTrue(Files.isRegularFile(root.resolve("T-shirt_top/synthetic-000000.png")));
      assertTrue(Files.isRegularFile(root.resolve("synthetic-000005.png")), "unlabeled images go to root");
      assertTrue(Files.isDirectory(root.resolve("Empty class")));

      LabeledImages back = ImageFolder.read(root, channels);
      assertEquals(names, back.classNames(), "class names and label order come from classes.txt");
      assertEquals(data.size(), back.size());
      assertEquals(channels, back.channels());
      for (int j = 0; j < back.size(); j++) {
        String id = back.id(j);
        String original = id.substring(id.lastIndexOf('/') + 1).replace(".png", "");
        int i = data.ids().indexOf(original);
        assertTrue(i >= 0, id);
        assertEquals(data.label(i), back.label(j), id);
        assertArrayEquals(data.image(i), back.image(j), id);
        String folder = data.label(i) < 0 ? "" : ImageFolder.folderName(names.get(data.label(i))) + "/";
        assertEquals(folder + original + ".png", id);
      }
      assertEquals(LabeledImages.UNKNOWN_LABEL, back.label(back.size() - 1), "unlabeled images come last");
    }
  }

  @Test
  void rewritingAReadFolderKeepsIdsAndLabels() throws IOException {
    Path src = dir.resolve("src");
    writeImage(src.resolve("cat/a.jpg"), gray(4, 4, 10), "jpeg");
    writeImage(src.resolve("cat/nested/b.bmp"), gray(4, 4, 20), "bmp");
    writeImage(src.resolve("dog/c.gif"), gray(4, 4, 30), "gif");
    LabeledImages first = ImageFolder.read(src, 1);
    assertEquals(List.of("cat/a.jpg", "cat/nested/b.bmp", "dog/c.gif"), first.ids());

    ImageFolder.write(first, dir.resolve("copy"));
    LabeledImages second = ImageFolder.read(dir.resolve("copy"), 1);
    assertEquals(List.of("cat/a.png", "cat/nested/b.png", "dog/c.png"), second.ids());
    assertArrayEquals(first.labels(), second.labels());
    assertArrayEquals(first.rawPixels(), second.rawPixels(), "PNG is lossless");
  }

  @Test
  void readsSortedClassFoldersAndSkipsOtherFiles() throws IOException {
    Path root = dir.resolve("root");
    writeImage(root.resolve("zebra/1.png"), gray(3, 2, 200), "png");
    writeImage(root.resolve("apple/2.PNG"), gray(3, 2, 100), "png");
    writeImage(root.resolve("apple/.hidden.png"), gray(3, 2, 1), "png");
    writeImage(root.resolve(".git/x.png"), gray(3, 2, 1), "png");
    writeImage(root.resolve("loose.png"), gray(3, 2, 50), "png");
    Files.writeString(root.resolve("apple/notes.txt"), "not an image");
    Files.createDirectories(root.resolve("mango"));

    LabeledImages data = ImageFolder.read(root, 3);
    assertEquals(List.of("apple", "mango", "zebra"), data.classNames());
    assertEquals(List.of("apple/2.PNG", "zebra/1.png", "loose.png"), data.ids());
    assertArrayEquals(new int[] {0, 2, -1}, data.labels());
    assertEquals(3, data.channels());
    assertEquals(100, data.image(0)[0] & 0xFF, "gray must be read without gamma change");
    assertEquals(100, data.image(0)[2 * 6] & 0xFF, "gray expands to equal RGB");
  }

  @Test
  void differentSizesNeedATargetSize() throws IOException {
    Path root = dir.resolve("sizes");
    writeImage(root.resolve("a/small.png"), gray(4, 4, 80), "png");
    writeImage(root.resolve("b/large.png"), gray(8, 6, 160), "png");

    IOException e = assertThrows(IOException.class, () -> ImageFolder.read(root, 1));
    assertTrue(e.getMessage().contains("large.png") && e.getMessage().contains("8x6"), e.getMessage());

    LabeledImages data = ImageFolder.read(root, 1, 5, 5);
    assertEquals(5, data.height());
    assertEquals(5, data.width());
    for (int i = 0; i < 2; i++) {
      int expected = i == 0 ? 80 : 160;
      for (byte b : data.image(i)) {
        assertEquals(expected, b & 0xFF, "a flat image stays flat after resizing");
      }
    }
  }

  @Test
  void badInputsFailWithClearMessages() throws IOException {
    assertThrows(FileNotFoundException.class, () -> ImageFolder.read(dir.resolve("missing"), 1));
    Files.createDirectories(dir.resolve("empty/a"));
    IOException e = assertThrows(IOException.class, () -> ImageFolder.read(dir.resolve("empty"), 1));
    assertTrue(e.getMessage().contains("no images"), e.getMessage());

    Path broken = dir.resolve("broken/a/bad.png");
    Files.createDirectories(broken.getParent());
    Files.write(broken, new byte[] {1, 2, 3});
    e = assertThrows(ImageFormatException.class, () -> ImageFolder.read(dir.resolve("broken"), 1));
    assertTrue(e.getMessage().contains("bad.png"), e.getMessage());

    Path listed = dir.resolve("listed");
    writeImage(listed.resolve("stray/x.png"), gray(2, 2, 0), "png");
    Files.writeString(listed.resolve(ImageFolder.CLASSES_FILE), "a\nb\n", StandardCharsets.UTF_8);
    e = assertThrows(IOException.class, () -> ImageFolder.read(listed, 1));
    assertTrue(e.getMessage().contains("stray"), e.getMessage());
  }

  @Test
  void writerRefusesNonEmptyRootsAndClashingNames() throws IOException {
    LabeledImages data = SyntheticImages.generate(2, 2, 1, 4, 4, 1);
    Path root = dir.resolve("taken");
    Files.createDirectories(root);
    Files.writeString(root.resolve("old.png"), "x");
    IOException e = assertThrows(IOException.class, () -> ImageFolder.write(data, root));
    assertTrue(e.getMessage().contains("non-empty"), e.getMessage());

    LabeledImages sameNames = new LabeledImages(1, 4, 4, data.rawPixels(), new int[] {0, 0, 1, 1},
        data.classNames(), List.of("x.jpg", "x.png", "y", "z"));
    assertThrows(IllegalArgumentException.class, () -> ImageFolder.write(sameNames, dir.resolve("clash")));
    assertFalse(Files.exists(dir.resolve("clash")), "nothing is written when the plan fails");

    LabeledImages sameFolders = new LabeledImages(1, 4, 4, data.rawPixels(), data.labels(),
        List.of("a/b", "a_b"), data.ids());
    assertThrows(IllegalArgumentException.class, () -> ImageFolder.write(sameFolders, dir.resolve("clash2")));

    LabeledImages escaping = new LabeledImages(1, 4, 4, data.rawPixels(), data.labels(), data.classNames(),
        List.of("../evil", "b", "c", "d"));
    assertThrows(IllegalArgumentException.class, () -> ImageFolder.write(escaping, dir.resolve("clash3")));
  }

  @Test
  void folderNamesAreSafe() {
    assertEquals("T-shirt_top", ImageFolder.folderName("T-shirt/top"));
    assertEquals("_hidden", ImageFolder.folderName(".hidden"));
    assertEquals("_", ImageFolder.folderName(""));
    assertEquals("a_b", ImageFolder.folderName("a\\b"));
    assertEquals("Ankle boot", ImageFolder.folderName("Ankle boot"));
  }

  @Test
  void resizeKeepsFlatImagesFlatAndAveragesWhenShrinking() {
    byte[] flat = new byte[2 * 10 * 10];
    Arrays.fill(flat, (byte) 77);
    byte[] up = ImageResize.resize(flat, 2, 10, 10, 17, 23);
    assertEquals(2 * 17 * 23, up.length);
    for (byte b : up) {
      assertEquals(77, b & 0xFF);
    }
    // Fine 1-pixel stripes 0/255 shrunk 4x must become mid-gray, not aliased to 0 or 255 as point sampling
    // would; the edges lean a little toward their outermost stripe.
    byte[] stripes = new byte[16 * 16];
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = (byte) ((i % 2) * 255);
    }
    byte[] small = ImageResize.resize(stripes, 1, 16, 16, 4, 4);
    for (int i = 0; i < small.length; i++) {
      int tolerance = i % 4 == 1 || i % 4 == 2 ? 3 : 12;
      assertEquals(128, small[i] & 0xFF, tolerance);
    }
    byte[] same = ImageResize.resize(stripes, 1, 16, 16, 16, 16);
    assertArrayEquals(stripes, same);
    assertNotSame(stripes, same);
  }
}
