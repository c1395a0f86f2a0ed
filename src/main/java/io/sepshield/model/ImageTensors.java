package io.sepshield.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.sepshield.data.LabeledImages;

/** Conversions between 8-bit images and float tensors in [0,1]. */
public final class ImageTensors {
  private ImageTensors() {}

  /** Images [from, to) as a float32 NCHW tensor in [0,1] on the manager's device. */
  public static NDArray batch(NDManager manager, LabeledImages images, int from, int to) {
    int size = images.imageBytes();
    byte[] slice = java.util.Arrays.copyOfRange(images.rawPixels(), from * size, to * size);
    return fromBytes(manager, slice, to - from, images.channels(), images.height(), images.width());
  }

  /** Images at the given indices as a float32 NCHW tensor in [0,1]. */
  public static NDArray batch(NDManager manager, LabeledImages images, int[] indices) {
    int size = images.imageBytes();
    byte[] out = new byte[indices.length * size];
    for (int j = 0; j < indices.length; j++) {
      System.arraycopy(images.rawPixels(), indices[j] * size, out, j * size, size);
    }
    return fromBytes(manager, out, indices.length, images.channels(), images.height(), images.width());
  }

  public static NDArray fromBytes(NDManager manager, byte[] pixels, int n, int c, int h, int w) {
    NDArray u8 = manager.create(java.nio.ByteBuffer.wrap(pixels), new Shape(n, c, h, w), DataType.UINT8);
    NDArray x = u8.toType(DataType.FLOAT32, false).divi(255f); // in place: a full-size photo is 4 bytes a pixel
    u8.close();
    return x;
  }

  /**
   * Quantises [0,1] floats to 8 bits by rounding to the nearest level (never truncation, which biases every pixel
   * down and can leave the ε-ball).
   */
  public static byte[] toBytesRounded(NDArray images) {
    // Each temporary freed at once: at full size each is image-sized, and the caller's scope may live on.
    NDArray scaled = images.mul(255f);
    NDArray rounded = scaled.round();
    scaled.close();
    NDArray clipped = rounded.clip(0, 255);
    rounded.close();
    NDArray levels = clipped.toType(DataType.UINT8, false);
    clipped.close();
    byte[] bytes = levels.toByteArray();
    levels.close();
    return bytes;
  }

  /** Labels as an int64 vector, the type DJL's losses and indexing expect. */
  public static NDArray labels(NDManager manager, int[] labels) {
    long[] l = new long[labels.length];
    for (int i = 0; i < labels.length; i++) {
      l[i] = labels[i];
    }
    return manager.create(l);
  }
}
