package io.sepshield.eval;

import io.sepshield.data.ImageResize;
import io.sepshield.data.LabeledImages;

/**
 * The resolution an appropriator trains and tests at, and the kernel it resizes the uploads with to get there. An
 * appropriator who scrapes protected uploads need not see them as the protector's model did: uploads crafted at
 * 112×112 through an area downscale to the bundle's 28×28 may be downscaled with another kernel (bicubic, nearest)
 * or used at their own size. Both the training images (clean or protected) and the clean test images go through
 * the same resize, so every model is tested on what its own pipeline makes of a clean upload.
 *
 * @param size the side of the square training input in pixels; 0 = the uploads as they are
 * @param kernel the resampling kernel (null when {@code size} is 0)
 */
public record AppropriatorInput(int size, ImageResize.Kernel kernel) {
  /** Train and test on the uploads as they are: what every evaluation did before this option existed. */
  public static final AppropriatorInput AS_UPLOADED = new AppropriatorInput(0, null);

  public AppropriatorInput {
    if (size < 0 || (size > 0) != (kernel != null)) {
      throw new IllegalArgumentException("an appropriator input is a positive size with a kernel, or the uploads "
          + "as they are; got " + size + " " + kernel);
    }
  }

  /** "upload" or SIZE:KERNEL (e.g. 28:bicubic), the forms used on the command line. */
  public static AppropriatorInput parse(String text) {
    String t = text.trim().toLowerCase(java.util.Locale.ROOT);
    if (t.equals("upload")) {
      return AS_UPLOADED;
    }
    int colon = t.indexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException("appropriator input '" + text + "': expected 'upload' or SIZE:KERNEL, "
          + "e.g. 28:bicubic");
    }
    int size;
    try {
      size = Integer.parseInt(t.substring(0, colon));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("appropriator input '" + text + "': size is not a number");
    }
    if (size <= 0) {
      throw new IllegalArgumentException("appropriator input '" + text + "': size must be positive");
    }
    return new AppropriatorInput(size, ImageResize.Kernel.parse(t.substring(colon + 1)));
  }

  /** The images as this appropriator trains or tests on them: resized to size×size, or unchanged. */
  public LabeledImages apply(LabeledImages images) {
    if (size == 0 || (images.height() == size && images.width() == size)) {
      return images;
    }
    return resize(images, size, size, kernel);
  }

  /** Every image of the set resized to height×width with the kernel; labels, ids and classes kept. */
  public static LabeledImages resize(LabeledImages images, int height, int width, ImageResize.Kernel kernel) {
    int c = images.channels();
    int inBytes = images.imageBytes();
    int outBytes = c * height * width;
    byte[] src = images.rawPixels();
    byte[] out = new byte[images.size() * outBytes];
    byte[] one = new byte[inBytes];
    for (int i = 0; i < images.size(); i++) {
      System.arraycopy(src, i * inBytes, one, 0, inBytes);
      byte[] r = ImageResize.resize(one, c, images.height(), images.width(), height, width, kernel);
      System.arraycopy(r, 0, out, i * outBytes, outBytes);
    }
    return new LabeledImages(c, height, width, out, images.labels(), images.classNames(), images.ids());
  }

  /**
   * What the records call it, given the uploads' size: "112x112 as uploaded" or "28x28 from 112x112 bicubic" (the
   * field {@code appropriator_input} of efficacy.json).
   */
  public String describe(String uploadSize) {
    return size == 0 ? uploadSize + " as uploaded" : size + "x" + size + " from " + uploadSize + " "
        + kernel.cliName();
  }

  /** "upload" or SIZE-KERNEL: a folder name. */
  public String folderName() {
    return size == 0 ? "upload" : size + "-" + kernel.cliName();
  }
}
