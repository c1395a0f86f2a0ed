package io.sepshield.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
  @TempDir
  Path dir;

  private static byte[] randomBytes(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  /** Raw IDX bytes with the given type code and dimensions followed by the given body. */
  private static byte[] idx(int type, int[] dims, byte[] body) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    DataOutputStream d = new DataOutputStream(bytes);
    d.write(new byte[] {0, 0, (byte) type, (byte) dims.length});
    for (int dim : dims) {
      d.writeInt(dim);
    }
    d.write(body);
    return bytes.toByteArray();
  }

  private static byte[] gzip(byte[] data) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(bytes)) {
      gz.write(data);
    }
    return bytes.toByteArray();
  }

  private Path file(String name, byte[] content) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, content);
    return p;
  }

  @Test
  void writeThenReadRoundTripsPlainAndGzip() throws IOException {
    byte[] pixels = randomBytes(7 * 5 * 6, 1);
    int[] labels = {0, 9, 3, 255, 1, 1, 7};
    for (String suffix : List.of("", ".gz")) {
      Path images = dir.resolve("images-idx3-ubyte" + suffix);
      Path labelsPath = dir.resolve("sub/labels-idx1-ubyte" + suffix);
      Idx.writeImages(images, 1, 5, 6, pixels);
      Idx.writeLabels(labelsPath, labels);

      Idx.Images read = Idx.readImages(images);
      assertEquals(7, read.count());
      assertEquals(1, read.channels());
      assertEquals(5, read.height());
      assertEquals(6, read.width());
      assertArrayEquals(pixels, read.pixels());
      assertArrayEquals(labels, Idx.readLabels(labelsPath));
    }
    // The standard header: 00 00 08 03, then N, H, W.
    byte[] plain = Files.readAllBytes(dir.resolve("images-idx3-ubyte"));
    assertArrayEquals(new byte[] {0, 0, 8, 3, 0, 0, 0, 7, 0, 0, 0, 5, 0, 0, 0, 6}, Arrays.copyOf(plain, 16));
    byte[] gz = Files.readAllBytes(dir.resolve("images-idx3-ubyte.gz"));
    assertEquals(0x1f, gz[0] & 0xFF, "a .gz name must give a gzip file");
    assertEquals(0x8b, gz[1] & 0xFF);
  }

  @Test
  void gzipIsDetectedByContentNotName() throws IOException {
    byte[] pixels = randomBytes(3 * 4 * 4, 2);
    Path gz = dir.resolve("a.gz");
    Idx.writeImages(gz, 1, 4, 4, pixels);
    Path misnamed = file("images-idx3-ubyte", Files.readAllBytes(gz));
    assertArrayEquals(pixels, Idx.readImages(misnamed).pixels());

    Path plain = dir.resolve("plain");
    Idx.writeImages(plain, 1, 4, 4, pixels);
    Path plainNamedGz = file("plain-named.gz", Files.readAllBytes(plain));
    assertArrayEquals(pixels, Idx.readImages(plainNamedGz).pixels());
  }

  @Test
  void colourImagesUseIdx4InChwOrder() throws IOException {
    byte[] pixels = randomBytes(2 * 3 * 4 * 5, 3);
    Path p = dir.resolve("rgb-idx4-ubyte.gz");
    Idx.writeImages(p, 3, 4, 5, pixels);
    Idx.Images read = Idx.readImages(p);
    assertEquals(List.of(2, 3, 4, 5), List.of(read.count(), read.channels(), read.height(), read.width()));
    assertArrayEquals(pixels, read.pixels());
  }

  @Test
  void readsFromStreams() throws IOException {
    byte[] body = randomBytes(2 * 3 * 3, 4);
    byte[] file = idx(8, new int[] {2, 3, 3}, body);
    assertArrayEquals(body, Idx.readImages(new ByteArrayInputStream(gzip(file)), "upload").pixels());
    assertArrayEquals(new int[] {5, 200},
        Idx.readLabels(new ByteArrayInputStream(idx(8, new int[] {2}, new byte[] {5, (byte) 200})), "upload"));
  }

  @Test
  void emptyDataSetRoundTrips() throws IOException {
    Path p = dir.resolve("empty.gz");
    Idx.writeImages(p, 1, 28, 28, new byte[0]);
    Idx.Images read = Idx.readImages(p);
    assertEquals(0, read.count());
    assertEquals(28, read.height());
  }

  private static String failure(Path p, boolean labels) {
    IOException e = assertThrows(IOException.class, () -> {
      if (labels) {
        Idx.readLabels(p);
      } else {
        Idx.readImages(p);
      }
    });
    assertTrue(e.getMessage().contains(p.toString()), "message should name the file: " + e.getMessage());
    return e.getMessage();
  }

  @Test
  void rejectsWrongMagicAndTypes() throws IOException {
    assertTrue(failure(file("png", new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3, 4}), false)
        .contains("not an IDX file"));
    assertTrue(failure(file("float", idx(0x0D, new int[] {1, 2, 2}, new byte[16])), false)
        .contains("0x0d is not supported"));
    assertTrue(failure(file("labels-as-images", idx(8, new int[] {3}, new byte[3])), false)
        .contains("labels file"));
    assertTrue(failure(file("images-as-labels", idx(8, new int[] {1, 2, 2}, new byte[4])), true)
        .contains("images file"));
    assertTrue(failure(file("zero-dims", idx(8, new int[0], new byte[0])), true).contains("0 dimensions"));
    assertTrue(failure(file("zero-width", idx(8, new int[] {1, 2, 0}, new byte[0])), false)
        .contains("must be positive"));
    assertTrue(failure(file("empty", new byte[0]), false).contains("empty file"));
    assertTrue(failure(file("negative", idx(8, new int[] {-1}, new byte[0])), true).contains("negative"));
  }

  @Test
  void rejectsTruncationAndTrailingDataPlainAndGzip() throws IOException {
    byte[] good = idx(8, new int[] {4, 3, 3}, new byte[36]);
    byte[] cut = Arrays.copyOf(good, good.length - 5);
    byte[] longer = Arrays.copyOf(good, good.length + 1);
    byte[] cutHeader = Arrays.copyOf(good, 9);

    assertTrue(failure(file("cut", cut), false).contains("truncated"));
    assertTrue(failure(file("cut.gz", gzip(cut)), false).contains("truncated"));
    assertTrue(failure(file("longer", longer), false).contains("trailing data"));
    assertTrue(failure(file("longer.gz", gzip(longer)), false).contains("trailing data"));
    assertTrue(failure(file("cut-header", cutHeader), false).contains("truncated IDX header"));
    assertTrue(failure(file("cut-header.gz", gzip(cutHeader)), false).contains("truncated IDX header"));
    assertTrue(failure(file("two-bytes", new byte[] {0, 0}), false).contains("truncated IDX header"));

    // A gzip stream cut off in the middle (no trailer) is truncation too, not a crash.
    byte[] gz = gzip(idx(8, new int[] {100, 10, 10}, randomBytes(10_000, 5)));
    String msg = failure(file("cut-stream.gz", Arrays.copyOf(gz, gz.length / 2)), false);
    assertTrue(msg.contains("truncated"), msg);
    // Gzip magic followed by garbage.
    byte[] garbage = randomBytes(100, 6);
    garbage[0] = 0x1f;
    garbage[1] = (byte) 0x8b;
    failure(file("garbage.gz", garbage), false);
  }

  @Test
  void lyingHeaderFailsAsTruncationNotOutOfMemory() throws IOException {
    // Header claims 10^9 bytes of pixels; the gzip body holds 10. Must not try to allocate a gigabyte up front.
    byte[] gz = gzip(idx(8, new int[] {100_000, 100, 100}, new byte[10]));
    String msg = failure(file("liar.gz", gz), false);
    assertTrue(msg.contains("truncated") && msg.contains("ends after 10"), msg);
    // More than an array can hold is rejected from the header alone.
    assertTrue(failure(file("huge.gz", gzip(idx(8, new int[] {1 << 20, 1 << 10, 1 << 10}, new byte[0]))), false)
        .contains("2 GiB"));
  }

  @Test
  void writeRejectsUnstorableLabelsAndBadShapes() {
    assertThrows(IllegalArgumentException.class, () -> Idx.writeLabels(dir.resolve("l"), new int[] {1, -1}));
    assertThrows(IllegalArgumentException.class, () -> Idx.writeLabels(dir.resolve("l"), new int[] {256}));
    assertThrows(IllegalArgumentException.class, () -> Idx.writeImages(dir.resolve("i"), 1, 3, 3, new byte[10]));
  }

  @Test
  void datasetLoadChecksCountsAndClassNames() throws IOException {
    Path images = dir.resolve("i.gz");
    Idx.writeImages(images, 1, 2, 2, new byte[3 * 4]);
    Path labels = dir.resolve("l.gz");
    Idx.writeLabels(labels, new int[] {0, 1});
    IOException e = assertThrows(IOException.class, () -> IdxDataset.load(images, labels, null, "x"));
    assertTrue(e.getMessage().contains("3 images") && e.getMessage().contains("2 labels"), e.getMessage());

    Idx.writeLabels(labels, new int[] {0, 1, 2});
    e = assertThrows(IOException.class, () -> IdxDataset.load(images, labels, List.of("a", "b"), "x"));
    assertTrue(e.getMessage().contains("label 2"), e.getMessage());

    LabeledImages data = IdxDataset.load(images, labels, null, "x");
    assertEquals(List.of("0", "1", "2"), data.classNames());
    assertEquals(List.of("x-000000", "x-000001", "x-000002"), data.ids());

    LabeledImages unlabeled = IdxDataset.load(images, null, List.of("a"), "u");
    assertArrayEquals(new int[] {-1, -1, -1}, unlabeled.labels());
  }

  @Test
  void datasetSaveRoundTripsAndRefusesUnknownLabels() throws IOException {
    LabeledImages data = SyntheticImages.generate(3, 4, 1, 6, 5, 11);
    IdxDataset.save(data, dir.resolve("p/images-idx3-ubyte.gz"), dir.resolve("p/labels-idx1-ubyte.gz"));
    LabeledImages back = IdxDataset.load(dir.resolve("p/images-idx3-ubyte.gz"), dir.resolve("p/labels-idx1-ubyte.gz"),
        data.classNames(), "synthetic");
    assertArrayEquals(data.rawPixels(), back.rawPixels());
    assertArrayEquals(data.labels(), back.labels());
    assertEquals(data.ids(), back.ids());

    int[] labels = data.labels();
    labels[2] = LabeledImages.UNKNOWN_LABEL;
    LabeledImages partly = data.withLabels(labels);
    assertThrows(IllegalArgumentException.class,
        () -> IdxDataset.save(partly, dir.resolve("q/i"), dir.resolve("q/l")));
    assertFalse(Files.exists(dir.resolve("q/i")), "nothing written when the labels are rejected");
    IdxDataset.save(partly, dir.resolve("q/i"), null);
    assertArrayEquals(data.rawPixels(), Idx.readImages(dir.resolve("q/i")).pixels());
  }
}
