package io.sepshield.jobs;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.ChwImage;
import io.sepshield.data.DecodedUpload;
import io.sepshield.data.ImageFormatException;
import io.sepshield.data.ImageMetadata;
import io.sepshield.data.PngCodec;
import io.sepshield.data.UploadDecoder;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.Method;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.Protector;
import io.sepshield.sep.TargetMap;
import io.sepshield.testing.TinyModels;
import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A folder of awkward uploads (all generated here) protected at full size with a gray 12x12 ensemble. */
class FolderProtectionTest {
  @TempDir
  Path tmp;

  private static BufferedImage random(int type, int w, int h, long seed) {
    BufferedImage img = type == BufferedImage.TYPE_BYTE_INDEXED
        ? new BufferedImage(w, h, type, new IndexColorModel(8, 4, new byte[] {0, 90, (byte) 200, (byte) 255},
            new byte[] {0, 20, (byte) 150, (byte) 255}, new byte[] {0, 60, 30, (byte) 255},
            new byte[] {0, (byte) 255, (byte) 128, (byte) 255}))
        : new BufferedImage(w, h, type);
    Random r = new Random(seed);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int b = 0; b < img.getRaster().getNumBands(); b++) {
          int bits = type == BufferedImage.TYPE_BYTE_INDEXED ? 2 : img.getColorModel().getComponentSize(b);
          img.getRaster().setSample(x, y, b, r.nextInt(1 << bits));
        }
      }
    }
    return img;
  }

  private static byte[] write(BufferedImage img, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertTrue(ImageIO.write(img, format, out));
    return out.toByteArray();
  }

  /** JPEG with an APP1 EXIF block holding orientation 6 (rotate 90 degrees clockwise). */
  private static byte[] rotatedJpeg(BufferedImage img) throws IOException {
    byte[] jpeg = write(img, "jpeg");
    ByteBuffer exif = ByteBuffer.allocate(26).order(ByteOrder.LITTLE_ENDIAN);
    exif.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8).putShort((short) 1)
        .putShort((short) 0x0112).putShort((short) 3).putInt(1).putShort((short) 6).putShort((short) 0).putInt(0);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(jpeg, 0, 2);
    int len = 2 + 6 + 26;
    out.writeBytes(new byte[] {(byte) 0xFF, (byte) 0xE1, (byte) (len >> 8), (byte) len});
    out.writeBytes("Exif\0\0".getBytes(StandardCharsets.ISO_8859_1));
    out.writeBytes(exif.array());
    out.write(jpeg, 2, jpeg.length - 2);
    return out.toByteArray();
  }

  @Test
  void everyFileKeepsItsSizeColourAndAlphaWithinEpsilonAndBadFilesAreReported() throws Exception {
    Path in = tmp.resolve("in");
    Map<String, byte[]> files = new TreeMap<>();
    files.put("class-0/colour-odd.png", write(random(BufferedImage.TYPE_3BYTE_BGR, 23, 17, 1), "png"));
    files.put("class-0/colour-odd-2.png", write(random(BufferedImage.TYPE_3BYTE_BGR, 23, 17, 2), "png"));
    files.put("class-0/rgba.png", write(random(BufferedImage.TYPE_4BYTE_ABGR, 15, 9, 3), "png"));
    files.put("class-1/palette.png", write(random(BufferedImage.TYPE_BYTE_INDEXED, 10, 14, 4), "png"));
    files.put("class-1/deep/sixteen-bit.png", write(random(BufferedImage.TYPE_USHORT_GRAY, 19, 11, 5), "png"));
    files.put("class-1/rotated.jpg", rotatedJpeg(random(BufferedImage.TYPE_3BYTE_BGR, 20, 12, 6)));
    files.put("unlabeled-gray.png", write(random(BufferedImage.TYPE_BYTE_GRAY, 12, 12, 7), "png"));
    files.put("class-1/animated.gif", animatedGif());
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Files.createDirectories(in.resolve(f.getKey()).getParent());
      Files.write(in.resolve(f.getKey()), f.getValue());
    }
    Path out = tmp.resolve("out");
    try (CheckpointEnsemble ensemble = TinyModels.trainedEnsemble(TinyModels.textures(2, 20, 1, 3), 3,
        Set.of(2, 3), 1)) {
      Protector protector = new Protector(ensemble, new ProtectionSettings(Method.SEP_FA_VR, 8f / 255f, 2f / 255f,
          2, 2, new int[0], TargetMap.halfShift(), 1));
      FolderProtection.Summary summary = new FolderProtection(new PrintStream(new ByteArrayOutputStream()))
          .run(protector, in, out, UploadDecoder.Options.DEFAULT, false, 8, 400);
      assertEquals(7, summary.images());
      assertEquals(List.of("class-1/animated.gif"), summary.skipped().stream().map(FolderProtection.Skipped::id)
          .toList());
      assertEquals(ImageFormatException.Kind.MULTI_FRAME, summary.skipped().get(0).kind());
      assertTrue(summary.maxAbsDelta() <= 8 && summary.maxAbsDelta() >= 2, "max |δ| " + summary.maxAbsDelta());
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        if (f.getKey().endsWith(".gif")) {
          assertFalse(Files.exists(out.resolve(FolderProtection.outputName(f.getKey()))));
          continue;
        }
        DecodedUpload original = UploadDecoder.decode(f.getValue(), UploadDecoder.Options.DEFAULT);
        byte[] png = Files.readAllBytes(out.resolve(FolderProtection.outputName(f.getKey())));
        assertEquals("png", PngCodec.detectFormat(png));
        DecodedUpload result = UploadDecoder.decode(png, UploadDecoder.Options.DEFAULT);
        ChwImage a = original.colour();
        ChwImage b = result.colour();
        assertEquals(List.of(a.channels(), a.height(), a.width()), List.of(b.channels(), b.height(), b.width()),
            f.getKey());
        int worst = 0;
        for (int i = 0; i < a.pixels().length; i++) {
          worst = Math.max(worst, Math.abs((a.pixels()[i] & 0xff) - (b.pixels()[i] & 0xff)));
        }
        assertTrue(worst <= 8, f.getKey() + ": |δ| " + worst);
        assertArrayEquals(original.alpha(), result.alpha(), f.getKey() + ": alpha must pass through");
        assertTrue(result.reductions().isEmpty(), "outputs are 8-bit");
        assertEquals(ImageMetadata.NONE.kinds(), result.metadata().kinds());
      }
      DecodedUpload rotated = UploadDecoder.decode(Files.readAllBytes(out.resolve("class-1/rotated.png")),
          UploadDecoder.Options.DEFAULT);
      assertEquals(20, rotated.height(), "EXIF orientation applied: 20x12 stored, 12x20 upright");
    }
  }

  @Test
  void aFolderWithoutClassFoldersIsPseudoLabelled() throws Exception {
    Path in = tmp.resolve("flat");
    Files.createDirectories(in);
    Files.write(in.resolve("a.png"), write(random(BufferedImage.TYPE_3BYTE_BGR, 13, 9, 1), "png"));
    Files.write(in.resolve("b.jpg"), write(random(BufferedImage.TYPE_3BYTE_BGR, 9, 13, 2), "jpeg"));
    try (CheckpointEnsemble ensemble = TinyModels.trainedEnsemble(TinyModels.textures(3, 12, 1, 3), 2,
        Set.of(2), 1)) {
      Protector protector = new Protector(ensemble, new ProtectionSettings(Method.SEP_FA, 8f / 255f, 2f / 255f,
          1, 0, new int[0], TargetMap.halfShift(), 1));
      FolderProtection.Summary summary = new FolderProtection(new PrintStream(new ByteArrayOutputStream()))
          .run(protector, in, tmp.resolve("flat-out"), UploadDecoder.Options.DEFAULT, false, 8, 1 << 20);
      assertEquals(2, summary.images());
      assertEquals(2, summary.predictedLabels());
      assertTrue(Files.exists(tmp.resolve("flat-out/b.png")));
    }
  }

  private static byte[] animatedGif() throws IOException {
    ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
    ByteArrayOutputStream gif = new ByteArrayOutputStream();
    try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(gif)) {
      writer.setOutput(out);
      writer.prepareWriteSequence(null);
      for (int i = 0; i < 2; i++) {
        writer.writeToSequence(new IIOImage(random(BufferedImage.TYPE_BYTE_INDEXED, 8, 8, i), null, null), null);
      }
      writer.endWriteSequence();
    } finally {
      writer.dispose();
    }
    return gif.toByteArray();
  }
}
