package io.sepshield.demo;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.DecodedUpload;
import io.sepshield.data.PngCodec;
import io.sepshield.data.TiffFixtures;
import io.sepshield.data.UploadDecoder;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.service.ProtectionServer;
import io.sepshield.stream.ProtectionService;
import io.sepshield.stream.ProtectionTopology;
import io.sepshield.stream.StreamSettings;
import io.sepshield.testing.TinyModels;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Collectors;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code stream-demo --photos} on a folder of small generated "photos" (non-square colour, alpha, gray 16-bit TIFF,
 * JPEG, one over the pixel limit, one that is no image) through the real service on the in-process broker.
 */
class PhotoStreamDemoTest {
  @TempDir
  Path dir;

  private static BufferedImage photo(int type, int w, int h, long seed) {
    BufferedImage img = new BufferedImage(w, h, type);
    Random r = new Random(seed);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int smooth = (x * 255 / w) << 16 | (y * 255 / h) << 8 | ((x + y) * 4 & 0xff);
        int alpha = type == BufferedImage.TYPE_INT_ARGB ? (40 + 5 * x) % 256 : 255;
        img.setRGB(x, y, alpha << 24 | (smooth ^ r.nextInt(16)));
      }
    }
    return img;
  }

  private static byte[] encode(BufferedImage img, String format) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(img, format, out));
    return out.toByteArray();
  }

  @Test
  void photosComeBackAtTheirOwnSizeWithinEpsilonAndRefusalsAreShown() throws Exception {
    Path photos = Files.createDirectories(dir.resolve("photos"));
    Files.write(photos.resolve("a-colour.png"), encode(photo(BufferedImage.TYPE_3BYTE_BGR, 45, 40, 1), "png"));
    Files.write(photos.resolve("b-alpha.png"), encode(photo(BufferedImage.TYPE_INT_ARGB, 21, 30, 2), "png"));
    Files.write(photos.resolve("c-camera.jpg"), encode(photo(BufferedImage.TYPE_3BYTE_BGR, 29, 17, 3), "jpeg"));
    Files.write(photos.resolve("d-chessboard_GRAY_U16.tif"), TiffFixtures.gray16(18, 11,
        TiffFixtures.chessboard16(18, 11, 3), ByteOrder.LITTLE_ENDIAN, 0));
    Files.write(photos.resolve("e-too-large.png"), encode(photo(BufferedImage.TYPE_3BYTE_BGR, 60, 50, 5), "png"));
    Files.write(photos.resolve("f-not-an-image.png"), "just text".getBytes(StandardCharsets.UTF_8));
    Files.writeString(photos.resolve("notes.txt"), "not uploaded: no image extension");

    Path bundles = dir.resolve("bundles");
    TinyModels.bundle(TinyModels.textures(4, 16, 1, 7), bundles, 3, 7);
    // 2000 pixels: the 60x50 photo (3000) is over the limit, the others (at most 1800) are not.
    StreamSettings stream = PhotoStreamDemo.settings(2000, dir.resolve("out/claim-check"), 1000);
    ProtectionServer.Options options = new ProtectionServer.Options(ProtectionServer.EMBEDDED,
        ProtectionServer.EMBEDDED, "photo-demo-test", dir.resolve("state").toString(), stream, bundles,
        ProtectionTopology.BUNDLE_UPDATES_TOPIC, "cpu", Method.SEP_FA_VR, Profile.FAST, 8f, 1, Duration.ofMinutes(2),
        ProtectionService.DEFAULT_CLOSE_TIMEOUT);
    List<Path> files = PhotoStreamDemo.photos(photos);
    assertEquals(6, files.size(), "notes.txt is no photo");
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    Path out = dir.resolve("out");
    PhotoStreamDemo.Result result;
    try (ProtectionServer server = ProtectionServer.start(options, new PrintStream(new ByteArrayOutputStream()))) {
      result = new PhotoStreamDemo(new PrintStream(printed, true, StandardCharsets.UTF_8),
          new PrintStream(new ByteArrayOutputStream())).run(server, stream, files, out, 8f, Duration.ofMinutes(2),
          "test");
    }
    String summary = printed.toString(StandardCharsets.UTF_8);
    Map<String, PhotoStreamDemo.Photo> byName = result.photos().stream()
        .collect(Collectors.toMap(PhotoStreamDemo.Photo::file, p -> p));
    assertTrue(result.allWithinEpsilon(), summary);
    assertEquals(4, result.protectedCount(), summary);
    assertEquals("TOO_LARGE", byName.get("e-too-large.png").status(), summary);
    assertTrue(byName.get("e-too-large.png").detail().contains("2000"), "the limit is named: " + summary);
    assertEquals("UNSUPPORTED_FORMAT", byName.get("f-not-an-image.png").status(), summary);
    assertTrue(summary.contains("TOO_LARGE") && summary.contains("4 protected"), summary);
    assertEquals(List.of("16-bit samples reduced to 8-bit"), byName.get("d-chessboard_GRAY_U16.tif").reductions());
    String claimed = byName.get("a-colour.png").detail();
    assertTrue(claimed.startsWith("claim check "), "a 45x40 noisy colour PNG is over the 1000-byte threshold: "
        + claimed);
    assertTrue(Files.isRegularFile(out.resolve("claim-check").resolve(claimed.substring("claim check ".length()))));
    assertEquals("inline", byName.get("d-chessboard_GRAY_U16.tif").detail());

    for (String name : List.of("a-colour", "b-alpha", "c-camera", "d-chessboard_GRAY_U16")) {
      Path source = files.stream().filter(f -> f.getFileName().toString().startsWith(name)).findFirst().orElseThrow();
      DecodedUpload sent = UploadDecoder.decode(Files.readAllBytes(source), UploadDecoder.Options.DEFAULT);
      DecodedUpload original = UploadDecoder.decode(Files.readAllBytes(out.resolve(name + ".original.png")),
          UploadDecoder.Options.DEFAULT);
      DecodedUpload delivered = UploadDecoder.decode(Files.readAllBytes(out.resolve(name + ".protected.png")),
          UploadDecoder.Options.DEFAULT);
      DecodedUpload delta = UploadDecoder.decode(Files.readAllBytes(out.resolve(name + ".delta.png")),
          UploadDecoder.Options.DEFAULT);
      assertArrayEquals(sent.colour().pixels(), original.colour().pixels(), name);
      assertArrayEquals(sent.alpha(), delivered.alpha(), name + ": alpha untouched");
      assertEquals(List.of(sent.channels(), sent.height(), sent.width()),
          List.of(delivered.channels(), delivered.height(), delivered.width()), name + ": own size and colour");
      assertEquals(List.of(sent.channels(), sent.height(), sent.width()),
          List.of(delta.channels(), delta.height(), delta.width()), name);
      int worst = 0;
      for (int i = 0; i < sent.colour().pixels().length; i++) {
        int d = (delivered.colour().pixels()[i] & 0xff) - (sent.colour().pixels()[i] & 0xff);
        worst = Math.max(worst, Math.abs(d));
        assertEquals(128 + Math.round(d * 127 / 8.0), delta.colour().pixels()[i] & 0xff, name + ": δ image");
      }
      assertTrue(worst > 0 && worst <= 8, name + ": max |δ| " + worst);
      assertEquals(worst, byName.get(source.getFileName().toString()).maxDelta());
    }
    assertEquals("png", PngCodec.detectFormat(Files.readAllBytes(out.resolve("overview.png"))));
    String index = Files.readString(out.resolve("index.md"));
    assertTrue(index.contains("![](c-camera.protected.png)") && index.contains("TOO_LARGE"), index);
  }
}
