package io.sepshield.eval;

import io.sepshield.data.LabeledImages;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * Parses defense specs: none, jpeg:Q, bits:B, gray, blur:SIGMA, cutout:SIZE, mixup:ALPHA, adv:EPS[:STEPS],
 * class-mean:C[:Z].
 */
public final class Defenses {
  public static final String USAGE = "none, jpeg:QUALITY (1-100), bits:BITS (1-7), gray, blur:SIGMA, cutout:SIZE, "
      + "mixup:ALPHA, adv:EPS[:STEPS] (PGD adversarial training, EPS in 1/255, default "
      + AdversarialTrainingDefense.DEFAULT_STEPS + " steps), class-mean:C[:Z] (the averaging attack: per class and "
      + "CxC square, the mean shift against clean reference images from elsewhere is taken off, soft-thresholded at Z "
      + "standard errors)";

  private Defenses() {}

  /** The identity: train on the images as published. */
  public static final Defense NONE = new Defense() {
    @Override
    public String name() {
      return "none";
    }

    @Override
    public String setting() {
      return "";
    }
  };

  /** A defense that needs no reference images; class-mean is refused. */
  public static Defense parse(String spec) {
    return parse(spec, null);
  }

  /**
   * @param reference the clean reference images of class-mean, asked for only when a spec names it (null: none
   *     available)
   */
  public static Defense parse(String spec, Supplier<LabeledImages> reference) {
    String s = spec.trim().toLowerCase(Locale.ROOT);
    int colon = s.indexOf(':');
    String name = colon < 0 ? s : s.substring(0, colon);
    String arg = colon < 0 ? null : s.substring(colon + 1);
    try {
      return switch (name) {
        case "none" -> NONE;
        case "jpeg" -> new JpegDefense(Integer.parseInt(need(arg, "75")));
        case "bits" -> new BitDepthDefense(Integer.parseInt(need(arg, "3")));
        case "gray", "grayscale" -> new GrayscaleDefense();
        case "blur" -> new GaussianBlurDefense(Double.parseDouble(need(arg, "1.0")));
        case "cutout" -> new CutoutDefense(Integer.parseInt(need(arg, "8")));
        case "mixup" -> new MixupDefense(Double.parseDouble(need(arg, "1.0")));
        case "adv" -> adversarialTraining(need(arg, "4"));
        case "class-mean" -> classMean(need(arg, "7"), reference);
        default -> throw new IllegalArgumentException("unknown defense '" + spec + "'; one of " + USAGE);
      };
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad setting in defense '" + spec + "'; " + USAGE);
    }
  }

  /** Comma-separated list of defenses that need no reference images. */
  public static List<Defense> parseList(String specs) {
    return parseList(specs, null);
  }

  /** Comma-separated list; {@code reference} as in {@link #parse(String, Supplier)}. */
  public static List<Defense> parseList(String specs, Supplier<LabeledImages> reference) {
    List<Defense> out = new ArrayList<>();
    for (String s : specs.split(",")) {
      if (!s.isBlank()) {
        out.add(parse(s, reference));
      }
    }
    return out;
  }

  /** "EPS" or "EPS:STEPS". */
  private static Defense adversarialTraining(String arg) {
    String[] parts = arg.split(":", -1);
    if (parts.length > 2) {
      throw new IllegalArgumentException("adv takes EPS or EPS:STEPS, got '" + arg + "'; " + USAGE);
    }
    int steps = parts.length == 2 ? Integer.parseInt(parts[1]) : AdversarialTrainingDefense.DEFAULT_STEPS;
    return new AdversarialTrainingDefense(Float.parseFloat(parts[0]), steps);
  }

  /** "C" or "C:Z". */
  private static Defense classMean(String arg, Supplier<LabeledImages> reference) {
    String[] parts = arg.split(":", -1);
    if (parts.length > 2) {
      throw new IllegalArgumentException("class-mean takes C or C:Z, got '" + arg + "'; " + USAGE);
    }
    int cell = Integer.parseInt(parts[0]);
    double threshold = parts.length == 2 ? Double.parseDouble(parts[1]) : 0;
    if (reference == null) {
      throw new IllegalArgumentException("class-mean needs clean reference images from elsewhere "
          + "(evaluate --defense-reference)");
    }
    return new ClassMeanDefense(cell, threshold, reference.get());
  }

  private static String need(String arg, String example) {
    if (arg == null || arg.isBlank()) {
      throw new IllegalArgumentException("this defense needs a setting, e.g. :" + example + "; " + USAGE);
    }
    return arg;
  }
}
