package io.sepshield.eval;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Parses defense specs: none, jpeg:Q, bits:B, gray, blur:SIGMA, cutout:SIZE, mixup:ALPHA, adv:EPS[:STEPS]. */
public final class Defenses {
  public static final String USAGE = "none, jpeg:QUALITY (1-100), bits:BITS (1-7), gray, blur:SIGMA, cutout:SIZE, "
      + "mixup:ALPHA, adv:EPS[:STEPS] (PGD adversarial training, EPS in 1/255, default "
      + AdversarialTrainingDefense.DEFAULT_STEPS + " steps)";

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

  public static Defense parse(String spec) {
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
        default -> throw new IllegalArgumentException("unknown defense '" + spec + "'; one of " + USAGE);
      };
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad setting in defense '" + spec + "'; " + USAGE);
    }
  }

  /** Comma-separated list. */
  public static List<Defense> parseList(String specs) {
    List<Defense> out = new ArrayList<>();
    for (String s : specs.split(",")) {
      if (!s.isBlank()) {
        out.add(parse(s));
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

  private static String need(String arg, String example) {
    if (arg == null || arg.isBlank()) {
      throw new IllegalArgumentException("this defense needs a setting, e.g. :" + example + "; " + USAGE);
    }
    return arg;
  }
}
