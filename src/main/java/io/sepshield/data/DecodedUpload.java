package io.sepshield.data;

import java.util.List;

/**
 * An upload decoded for protection at its own size and colour.
 *
 * @param colour the colour channels, 8-bit: 1 (gray) or 3 (RGB), at the original size with the EXIF orientation
 *     applied
 * @param alpha the alpha channel, height × width bytes (8-bit), re-attached untouched to the protected image; null
 *     when the image has none
 * @param format "png", "jpeg", "gif", "bmp" or "tiff"
 * @param reductions what decoding changed beyond a lossless conversion, each a sentence (e.g. "16-bit samples reduced
 *     to 8-bit"); empty when the pixels are exactly those of the file
 * @param metadata the metadata to re-emit, per the keep-list (nothing by default)
 */
public record DecodedUpload(ChwImage colour, byte[] alpha, String format, List<String> reductions,
    ImageMetadata metadata) {

  public DecodedUpload {
    if (colour.channels() != 1 && colour.channels() != 3) {
      throw new IllegalArgumentException("colour must have 1 or 3 channels, not " + colour.channels());
    }
    if (alpha != null && alpha.length != colour.height() * colour.width()) {
      throw new IllegalArgumentException("alpha holds " + alpha.length + " bytes for a " + colour.height() + "x"
          + colour.width() + " image");
    }
    reductions = List.copyOf(reductions);
    metadata = metadata == null ? ImageMetadata.NONE : metadata;
  }

  public int width() {
    return colour.width();
  }

  public int height() {
    return colour.height();
  }

  public int channels() {
    return colour.channels();
  }

  /** The protected image as PNG: the given colour pixels (same shape as {@link #colour}), this alpha and metadata. */
  public byte[] encodePng(byte[] protectedColour) {
    return PngCodec.encode(new ChwImage(colour.channels(), colour.height(), colour.width(), protectedColour), alpha,
        metadata);
  }
}
