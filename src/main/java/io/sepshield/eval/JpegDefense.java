package io.sepshield.eval;

import io.sepshield.data.LabeledImages;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Re-encodes every image with the JDK's real baseline JPEG encoder at an explicit quality and decodes it again:
 * grayscale JPEG for one channel, YCbCr colour JPEG for three (the encoder's default chroma handling).
 */
public record JpegDefense(int quality) implements Defense {
  public JpegDefense {
    if (quality < 1 || quality > 100) {
      throw new IllegalArgumentException("JPEG quality must be in 1..100, got " + quality);
    }
  }

  @Override
  public String name() {
    return "jpeg";
  }

  @Override
  public String setting() {
    return Integer.toString(quality);
  }

  @Override
  public LabeledImages preprocess(LabeledImages images) {
    int c = images.channels();
    if (c != 1 && c != 3) {
      throw new IllegalArgumentException("JPEG needs 1 or 3 channels, got " + c);
    }
    int size = images.imageBytes();
    byte[] out = new byte[images.rawPixels().length];
    for (int i = 0; i < images.size(); i++) {
      byte[] decoded = roundTrip(images.image(i), c, images.height(), images.width(), quality);
      System.arraycopy(decoded, 0, out, i * size, size);
    }
    return images.withPixels(out);
  }

  /** One CHW image through encode + decode. */
  static byte[] roundTrip(byte[] chw, int c, int h, int w, int quality) {
    BufferedImage image = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY
        : BufferedImage.TYPE_3BYTE_BGR);
    byte[] raster = ((DataBufferByte) image.getRaster().getDataBuffer()).getData();
    int plane = h * w;
    for (int p = 0; p < plane; p++) {
      if (c == 1) {
        raster[p] = chw[p];
      } else {
        raster[3 * p] = chw[2 * plane + p]; // B
        raster[3 * p + 1] = chw[plane + p]; // G
        raster[3 * p + 2] = chw[p]; // R
      }
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
    try (MemoryCacheImageOutputStream stream = new MemoryCacheImageOutputStream(bytes)) {
      ImageWriteParam param = writer.getDefaultWriteParam();
      param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
      param.setCompressionQuality(quality / 100f);
      writer.setOutput(stream);
      writer.write(null, new IIOImage(image, null, null), param);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      writer.dispose();
    }
    BufferedImage decoded;
    try {
      decoded = ImageIO.read(new ByteArrayInputStream(bytes.toByteArray()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] out = new byte[c * plane];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int p = y * w + x;
        if (c == 1) {
          out[p] = (byte) decoded.getRaster().getSample(x, y, 0);
        } else {
          int rgb = decoded.getRGB(x, y);
          out[p] = (byte) (rgb >> 16);
          out[plane + p] = (byte) (rgb >> 8);
          out[2 * plane + p] = (byte) rgb;
        }
      }
    }
    return out;
  }
}
