package io.sepshield.sep;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * P: the differentiable preprocessing between an upload at its own size and colour and the bundle's input. For a
 * batch N×C×H×W in [0,1] (C = 1 or 3, any H×W) it yields N×C'×H'×W':
 *
 * <ol>
 *   <li>colour → the bundle's channels: BT.601 luma (0.299 R + 0.587 G + 0.114 B) for 3 → 1, replication for 1 → 3;
 *   <li>an anti-aliased resize to H'×W' as two matrix products, y = R_h · x · R_w, with R_h (H'×H) and R_w (W×W')
 *       holding the {@link Preprocessing.Kernel} weights of each axis;
 *   <li>the {@link Preprocessing.Aspect} policy, folded into the same matrices: stretch scales each axis on its own;
 *       centre-crop gives zero weight to the rows and columns outside the centred window; letterbox leaves the
 *       border rows/columns of R_h/R_w partly or wholly empty, which is padding with black (0) without any extra op.
 * </ol>
 *
 * <p>Every step is linear, so P is exact to float rounding, differentiable (∇x = R_hᵀ · ∇y · R_wᵀ, channel-summed), and
 * cheap next to a forward pass: about H'·H·W + H'·W·W' multiply-adds per channel. When the input already has the
 * bundle's shape, {@link #apply} returns its argument unchanged: no op is added, so the native path is bit-for-bit
 * what it was before P existed.
 *
 * <p>The matrices are computed once per input shape (see {@link Cache}) and live on the ensemble's device.
 */
public final class InputAdapter implements AutoCloseable {
  private static final float[] LUMA = {0.299f, 0.587f, 0.114f};

  private final long[] inputShape;
  private final long[] bundleShape;
  private final NDArray rows; // R_h, H'×H, or null when the height is kept
  private final NDArray columns; // R_w, W×W', or null when the width is kept
  private final NDArray luma; // (1, 3, 1, 1), or null
  private final boolean rowsFirst;

  private InputAdapter(NDManager manager, long[] inputShape, long[] bundleShape, Preprocessing preprocessing) {
    this.inputShape = inputShape.clone();
    this.bundleShape = bundleShape.clone();
    int c = (int) inputShape[0];
    int h = (int) inputShape[1];
    int w = (int) inputShape[2];
    int cOut = (int) bundleShape[0];
    int hOut = (int) bundleShape[1];
    int wOut = (int) bundleShape[2];
    checkChannels(c, cOut);
    this.luma = c == 3 && cOut == 1 ? manager.create(LUMA, new Shape(1, 3, 1, 1)) : null;
    if (h == hOut && w == wOut) {
      rows = null;
      columns = null;
    } else {
      double[][] axes = axes(h, w, hOut, wOut, preprocessing.aspect()); // {offset, scale} per axis
      double[][] rh = weights(h, hOut, axes[0][0], axes[0][1], preprocessing.kernel());
      double[][] rw = weights(w, wOut, axes[1][0], axes[1][1], preprocessing.kernel());
      rows = isIdentity(rh) ? null : manager.create(toFloat(rh), new Shape(hOut, h));
      // R_w is applied on the right, so it is stored transposed: W×W'.
      columns = isIdentity(rw) ? null : manager.create(toFloat(transpose(rw)), new Shape(w, wOut));
    }
    // Of the two orders, the cheaper one: rows first costs H'·H·W + H'·W·W', columns first H·W·W' + H'·H·W'.
    double rowsFirstCost = (double) hOut * h * w + (double) hOut * w * wOut;
    double columnsFirstCost = (double) h * w * wOut + (double) hOut * h * wOut;
    this.rowsFirst = rowsFirstCost <= columnsFirstCost;
  }

  /**
   * P for images of shape {@code inputShape} (C, H, W) into a bundle of shape {@code bundleShape} (C', H', W'); its
   * matrices are attached to {@code manager}.
   *
   * @throws IllegalArgumentException for channel counts other than equal ones, or 1 and 3 either way
   */
  public static InputAdapter create(NDManager manager, long[] inputShape, long[] bundleShape,
      Preprocessing preprocessing) {
    return new InputAdapter(manager, inputShape, bundleShape, preprocessing);
  }

  /** Refuses channel counts P cannot map: equal counts pass, otherwise only gray ↔ RGB. */
  public static void checkChannels(long c, long bundleChannels) {
    if (c == bundleChannels) {
      return;
    }
    if (!((c == 1 || c == 3) && (bundleChannels == 1 || bundleChannels == 3))) {
      throw new IllegalArgumentException("images with " + c + " channels cannot be mapped onto a bundle with "
          + bundleChannels + " channels (only gray and RGB convert into each other)");
    }
  }

  /** True when P is the identity (the input already has the bundle's shape). */
  public boolean isIdentity() {
    return Arrays.equals(inputShape, bundleShape);
  }

  /** P(x) for x of shape N×C×H×W; x itself when the shapes already agree. */
  public NDArray apply(NDArray x) {
    if (isIdentity()) {
      return x;
    }
    NDArray y = x;
    if (luma != null) {
      y = y.mul(luma.toDevice(y.getDevice(), false)).sum(new int[] {1}, true); // reduce channels before resizing
    }
    if (rowsFirst) {
      y = resizeRows(y);
      y = resizeColumns(y);
    } else {
      y = resizeColumns(y);
      y = resizeRows(y);
    }
    if (bundleShape[0] == 3 && inputShape[0] == 1) {
      y = NDArrays.concat(new NDList(y, y, y), 1); // replicate after resizing: a third of the work
    }
    return y;
  }

  private NDArray resizeRows(NDArray y) {
    if (rows == null) {
      return y;
    }
    NDArray r = rows.toDevice(y.getDevice(), false);
    NDArray out = r.matMul(y); // (H'×H) · (N,C,H,W), broadcast
    // An op's result belongs to its first operand's manager, here R_h's long-lived one: without moving it (and a
    // device copy of R_h) to the caller's scope, every crafting step's image-sized result stayed until the
    // protector closed (17 GB resident after ~170 images at 112x112, batch 16, on 2026-12-01).
    out.attach(y.getManager());
    if (r != rows) {
      r.attach(y.getManager());
    }
    return out;
  }

  private NDArray resizeColumns(NDArray y) {
    return columns == null ? y : y.matMul(columns.toDevice(y.getDevice(), false));
  }

  @Override
  public void close() {
    for (NDArray a : new NDArray[] {rows, columns, luma}) {
      if (a != null) {
        a.close();
      }
    }
  }

  /** Per axis (height, width): {offset, scale} such that output i covers source [offset + i·scale, offset + (i+1)·scale]. */
  static double[][] axes(int h, int w, int hOut, int wOut, Preprocessing.Aspect aspect) {
    double sh = (double) h / hOut;
    double sw = (double) w / wOut;
    return switch (aspect) {
      case STRETCH -> new double[][] {{0, sh}, {0, sw}};
      case CENTER_CROP, LETTERBOX -> {
        double s = aspect == Preprocessing.Aspect.CENTER_CROP ? Math.min(sh, sw) : Math.max(sh, sw);
        // Centred: positive offset = the crop's margin, negative = the letterbox's padding (in source pixels).
        yield new double[][] {{(h - hOut * s) / 2, s}, {(w - wOut * s) / 2, s}};
      }
    };
  }

  /**
   * The out×in resampling matrix of one axis. Rows of output pixels that fall (partly) outside the source, which only
   * letterboxing produces, sum to the covered fraction (area) or to 0 (bilinear): the rest is black padding.
   */
  static double[][] weights(int in, int out, double offset, double scale, Preprocessing.Kernel kernel) {
    double[][] m = new double[out][in];
    for (int i = 0; i < out; i++) {
      double a = offset + i * scale;
      double b = a + scale;
      if (kernel == Preprocessing.Kernel.AREA) {
        // Exact overlap of source pixel [j, j+1] with the footprint [a, b], divided by the footprint's length.
        for (int j = Math.max(0, (int) Math.floor(a)); j < Math.min(in, (int) Math.ceil(b)); j++) {
          double overlap = Math.min(b, j + 1) - Math.max(a, j);
          if (overlap > 1e-9) { // not float dust at a window's edge: sign(∇) would turn dust into a full step
            m[i][j] = overlap / scale;
          }
        }
      } else {
        double centre = (a + b) / 2;
        if (centre < 0 || centre > in) {
          continue; // padding
        }
        double support = Math.max(scale, 1.0); // the triangle widens with the downscale factor: anti-aliasing
        double total = 0;
        for (int j = Math.max(0, (int) Math.floor(centre - support)); j < Math.min(in, (int) Math.ceil(centre
            + support)); j++) {
          double t = 1 - Math.abs((j + 0.5 - centre) / support);
          if (t > 1e-9) {
            m[i][j] = t;
            total += t;
          }
        }
        if (total == 0) { // a centre on the image's very edge with a support under a pixel: nearest pixel
          m[i][Math.min(in - 1, (int) Math.floor(centre))] = 1;
          total = 1;
        }
        for (int j = 0; j < in; j++) {
          m[i][j] /= total;
        }
      }
    }
    return m;
  }

  private static boolean isIdentity(double[][] m) {
    if (m.length != m[0].length) {
      return false;
    }
    for (int i = 0; i < m.length; i++) {
      for (int j = 0; j < m.length; j++) {
        if (m[i][j] != (i == j ? 1.0 : 0.0)) {
          return false;
        }
      }
    }
    return true;
  }

  private static double[][] transpose(double[][] m) {
    double[][] t = new double[m[0].length][m.length];
    for (int i = 0; i < m.length; i++) {
      for (int j = 0; j < m[0].length; j++) {
        t[j][i] = m[i][j];
      }
    }
    return t;
  }

  private static float[] toFloat(double[][] m) {
    float[] f = new float[m.length * m[0].length];
    for (int i = 0; i < m.length; i++) {
      for (int j = 0; j < m[0].length; j++) {
        f[i * m[0].length + j] = (float) m[i][j];
      }
    }
    return f;
  }

  /**
   * The adapters of one bundle and preprocessing, one per input shape, built on first use. Bounded (least recently
   * used shapes are closed), so a stream of uploads in ever new sizes cannot grow native memory. Not thread-safe,
   * like the {@link Protector} that owns it.
   */
  static final class Cache {
    private static final int MAX_SHAPES = 16;

    private final NDManager parent;
    private NDManager manager; // created on the first upload of another shape: the native path allocates nothing
    private final long[] bundleShape;
    private final Preprocessing preprocessing;
    private final Map<String, InputAdapter> adapters = new LinkedHashMap<>(16, 0.75f, true) {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, InputAdapter> eldest) {
        if (size() > MAX_SHAPES) {
          eldest.getValue().close();
          return true;
        }
        return false;
      }
    };

    Cache(NDManager parent, long[] bundleShape, Preprocessing preprocessing) {
      this.parent = parent;
      this.bundleShape = bundleShape.clone();
      this.preprocessing = preprocessing;
    }

    /** P for NCHW images of x's shape. */
    InputAdapter forImages(Shape shape) {
      long[] chw = {shape.get(1), shape.get(2), shape.get(3)};
      if (manager == null) {
        manager = parent.newSubManager();
      }
      return adapters.computeIfAbsent(chw[0] + "x" + chw[1] + "x" + chw[2],
          key -> create(manager, chw, bundleShape, preprocessing));
    }

    /** P(x): x itself on the bundle's own shape. */
    NDArray apply(NDArray x) {
      Shape s = x.getShape();
      if (s.get(1) == bundleShape[0] && s.get(2) == bundleShape[1] && s.get(3) == bundleShape[2]) {
        return x; // the native path: not even a map lookup
      }
      return forImages(s).apply(x);
    }
  }
}
