package io.sepshield.data;

/**
 * Resizes CHW 8-bit images with separable bicubic resampling (Keys kernel, a = -0.5) whose support widens by the
 * scale factor when shrinking, the scheme PIL uses for {@code Image.resize(..., BICUBIC)}. Widening the kernel makes
 * downscaling average over all source pixels instead of sampling a few (no aliasing); plain Java2D interpolation
 * does not, and its colour handling changes gray values (see {@link PngCodec}).
 */
public final class ImageResize {
  private ImageResize() {}

  /**
   * Resampling filters in PIL's scheme (support widened by the downscale factor, so shrinking averages instead of
   * sampling), except {@link #NEAREST}, which samples on purpose. The uploader's and the appropriator's choice of
   * kernel in the efficacy harness ({@code evaluate --upload-size, --appropriator-inputs}).
   */
  public enum Kernel {
    /** One source pixel per output pixel, the one under the output pixel's centre (PIL's NEAREST): no averaging. */
    NEAREST("nearest", 0),
    /**
     * Box filter: the mean of the source over the output pixel's footprint (PIL's BOX). For an integer downscale
     * it is exactly the area averaging of the crafting preprocessing P ({@code Preprocessing.Kernel.AREA}).
     */
    AREA("area", 0.5),
    /** Triangle filter (PIL's BILINEAR). */
    BILINEAR("bilinear", 1),
    /** Keys cubic, a = -0.5 (PIL's BICUBIC): what {@link #resize(ChwImage, int, int)} has always used. */
    BICUBIC("bicubic", 2);

    private final String cliName;
    private final double support;

    Kernel(String cliName, double support) {
      this.cliName = cliName;
      this.support = support;
    }

    public String cliName() {
      return cliName;
    }

    double weight(double x) {
      return switch (this) {
        case NEAREST -> 1;
        case AREA -> x > -0.5 && x <= 0.5 ? 1 : 0;
        case BILINEAR -> Math.max(0, 1 - Math.abs(x));
        case BICUBIC -> Weights.cubic(x);
      };
    }

    public static Kernel parse(String name) {
      String n = name.trim().toLowerCase(java.util.Locale.ROOT);
      for (Kernel k : values()) {
        if (k.cliName.equals(n)) {
          return k;
        }
      }
      throw new IllegalArgumentException("unknown resize kernel '" + name + "'; expected one of nearest, area, "
          + "bilinear, bicubic");
    }
  }

  /** Returns the image resized to outHeight x outWidth (a copy when the size already matches). */
  public static ChwImage resize(ChwImage image, int outHeight, int outWidth) {
    return new ChwImage(image.channels(), outHeight, outWidth, resize(image.pixels(), image.channels(),
        image.height(), image.width(), outHeight, outWidth));
  }

  /** Resizes CHW bytes of shape channels x height x width to channels x outHeight x outWidth. */
  public static byte[] resize(byte[] chw, int channels, int height, int width, int outHeight, int outWidth) {
    return resize(chw, channels, height, width, outHeight, outWidth, Kernel.BICUBIC);
  }

  /** Resizes CHW bytes with the given kernel. */
  public static byte[] resize(byte[] chw, int channels, int height, int width, int outHeight, int outWidth,
      Kernel kernel) {
    if (outHeight <= 0 || outWidth <= 0) {
      throw new IllegalArgumentException("target size must be positive: " + outHeight + "x" + outWidth);
    }
    if ((long) channels * height * width != chw.length) {
      throw new IllegalArgumentException(chw.length + " bytes is not a " + channels + "x" + height + "x" + width
          + " image");
    }
    if (height == outHeight && width == outWidth) {
      return chw.clone();
    }
    Weights wx = Weights.of(width, outWidth, kernel);
    Weights wy = Weights.of(height, outHeight, kernel);
    byte[] out = new byte[channels * outHeight * outWidth];
    // Horizontal pass into doubles (no intermediate rounding), then vertical pass with rounding and clamping.
    double[] tmp = new double[height * outWidth];
    for (int c = 0; c < channels; c++) {
      int inBase = c * height * width;
      for (int y = 0; y < height; y++) {
        for (int x = 0; x < outWidth; x++) {
          double sum = 0;
          int start = wx.start[x];
          double[] w = wx.weights[x];
          for (int k = 0; k < w.length; k++) {
            sum += w[k] * (chw[inBase + y * width + start + k] & 0xFF);
          }
          tmp[y * outWidth + x] = sum;
        }
      }
      int outBase = c * outHeight * outWidth;
      for (int y = 0; y < outHeight; y++) {
        int start = wy.start[y];
        double[] w = wy.weights[y];
        for (int x = 0; x < outWidth; x++) {
          double sum = 0;
          for (int k = 0; k < w.length; k++) {
            sum += w[k] * tmp[(start + k) * outWidth + x];
          }
          out[outBase + y * outWidth + x] = (byte) Math.max(0, Math.min(255, Math.round(sum)));
        }
      }
    }
    return out;
  }

  /** Per output coordinate: the first source index and normalized filter weights for the source pixels from it. */
  private record Weights(int[] start, double[][] weights) {
    static Weights of(int in, int out, Kernel kernel) {
      double scale = (double) in / out;
      double filterScale = Math.max(scale, 1.0);
      double support = kernel.support * filterScale;
      int[] start = new int[out];
      double[][] weights = new double[out][];
      for (int i = 0; i < out; i++) {
        double center = (i + 0.5) * scale;
        if (kernel == Kernel.NEAREST) {
          start[i] = Math.min(in - 1, (int) Math.floor(center));
          weights[i] = new double[] {1};
          continue;
        }
        int lo = Math.max(0, (int) Math.floor(center - support + 0.5));
        int hi = Math.min(in, (int) Math.floor(center + support + 0.5));
        double[] w = new double[Math.max(hi - lo, 1)];
        double total = 0;
        for (int j = lo; j < hi; j++) {
          w[j - lo] = kernel.weight((j + 0.5 - center) / filterScale);
          total += w[j - lo];
        }
        if (total != 0) {
          for (int k = 0; k < w.length; k++) {
            w[k] /= total;
          }
        } else {
          w[0] = 1;
        }
        start[i] = Math.min(lo, in - 1);
        weights[i] = w;
      }
      return new Weights(start, weights);
    }

    static double cubic(double x) {
      final double a = -0.5;
      x = Math.abs(x);
      if (x < 1) {
        return ((a + 2) * x - (a + 3)) * x * x + 1;
      }
      if (x < 2) {
        return (((x - 5) * x + 8) * x - 4) * a;
      }
      return 0;
    }
  }
}
