package io.sepshield.sep;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How an upload of any size and colour is mapped onto the bundle's input, inside the crafting graph (see
 * {@link InputAdapter}). Colour conversion is fixed (BT.601 luma for colour → gray, replication for gray → colour);
 * the aspect-ratio policy and the resampling kernel are chosen here.
 *
 * @param aspect what happens when the upload's aspect ratio differs from the bundle's
 * @param kernel the anti-aliased resampling filter
 */
public record Preprocessing(Aspect aspect, Kernel kernel) {
  /** Stretch with area averaging: every upload pixel reaches the model, and an integer downscale is a box mean. */
  public static final Preprocessing DEFAULT = new Preprocessing(Aspect.STRETCH, Kernel.AREA);

  public Preprocessing {
    if (aspect == null || kernel == null) {
      throw new IllegalArgumentException("aspect and kernel must be given");
    }
  }

  /** Aspect-ratio policies. */
  public enum Aspect {
    /** Scale each axis on its own to the bundle's H'×W' (shapes are distorted, nothing is lost). */
    STRETCH("stretch"),
    /**
     * Scale uniformly so that the image covers H'×W', then cut the overhang equally on both sides: the model sees the
     * centre only, so pixels outside the centred crop get no gradient and are left unperturbed.
     */
    CENTER_CROP("crop"),
    /**
     * Scale uniformly so that the whole image fits into H'×W' and pad the rest with black (0), centred. The padding
     * is a constant, so it adds nothing to the graph.
     */
    LETTERBOX("letterbox");

    private final String cliName;

    Aspect(String cliName) {
      this.cliName = cliName;
    }

    public String cliName() {
      return cliName;
    }

    public static Aspect parse(String name) {
      return parseEnum(values(), name, Aspect::cliName, "aspect policy");
    }
  }

  /** Anti-aliased resampling filters; both widen with the downscale factor, so no source pixel is skipped. */
  public enum Kernel {
    /**
     * Each output pixel is the mean of the source over its footprint, with exact fractional overlaps (OpenCV's
     * INTER_AREA for downscaling; enlarging gives the box filter, close to nearest neighbour).
     */
    AREA("area"),
    /** Triangle filter stretched by the downscale factor (PIL's BILINEAR, PyTorch's antialias=True bilinear). */
    BILINEAR("bilinear");

    private final String cliName;

    Kernel(String cliName) {
      this.cliName = cliName;
    }

    public String cliName() {
      return cliName;
    }

    public static Kernel parse(String name) {
      return parseEnum(values(), name, Kernel::cliName, "resize kernel");
    }
  }

  public boolean isDefault() {
    return equals(DEFAULT);
  }

  @Override
  public String toString() {
    return "resize=" + kernel.cliName() + " aspect=" + aspect.cliName();
  }

  private static <E> E parseEnum(E[] values, String name, java.util.function.Function<E, String> cli, String what) {
    String n = name.trim().toLowerCase(Locale.ROOT);
    for (E e : values) {
      if (cli.apply(e).equals(n)) {
        return e;
      }
    }
    throw new IllegalArgumentException("unknown " + what + " '" + name + "'; expected one of "
        + Arrays.stream(values).map(cli).collect(Collectors.joining(", ")));
  }
}
