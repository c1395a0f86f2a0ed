package io.sepshield.cli;

import ai.djl.Device;
import io.sepshield.data.DataSources;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.DjlRuntime;
import io.sepshield.sep.ClassPattern;
import io.sepshield.sep.CraftingAugmentation;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.ProtectionSettings;
import java.io.IOException;
import picocli.CommandLine.Option;

/** Options shared by the commands. */
final class Options {
  private Options() {}

  /** The crafting method and its budget: a profile, with any of its settings overridden. */
  static class Crafting {
    @Option(names = "--method", defaultValue = "sep-fa-vr",
        description = "sep-fa-vr, sep-fa, sep, baseline or noise. Default: ${DEFAULT-VALUE}")
    String method;

    @Option(names = "--profile", defaultValue = "cpu",
        description = "paper (T=30 n=15 M=15), cpu (T=10 n=5 M=5) or fast (T=5 n=3 M=3). Default: ${DEFAULT-VALUE}")
    String profile;

    @Option(names = "--eps", defaultValue = "8",
        description = "L-inf radius in 1/255 levels. Default: ${DEFAULT-VALUE}")
    float eps;

    @Option(names = "--alpha", description = "Step size in 1/255 levels (profile default).")
    Float alpha;

    @Option(names = "--steps", description = "T, outer iterations (profile default).")
    Integer steps;

    @Option(names = "--inner-steps", description = "M, variance-reduced inner steps (profile default).")
    Integer innerSteps;

    @Option(names = "--checkpoints", description = "n, checkpoints used, spread evenly over the bundle (profile "
        + "default).")
    Integer checkpoints;

    @Option(names = "--crafting-augment", defaultValue = "none", description = CraftingAugmentation.USAGE
        + ". Default: ${DEFAULT-VALUE}")
    String augment;

    @Option(names = "--class-pattern", defaultValue = "none", description = ClassPattern.USAGE
        + ". Default: ${DEFAULT-VALUE}")
    String classPattern;

    /** The profile's settings for {@code available} checkpoints, with the overrides given (g = half shift). */
    ProtectionSettings settings(int available, long seed) {
      ProtectionSettings base = Profile.parse(profile).settings(Method.parse(method), eps / 255f, available, seed);
      int[] chosen = checkpoints == null ? base.checkpoints() : Profile.evenlySpaced(checkpoints, available);
      return base.withAlpha(alpha == null ? base.alpha() : alpha / 255f)
          .withSteps(steps == null ? base.steps() : steps, innerSteps == null ? base.innerSteps() : innerSteps)
          .withCheckpoints(chosen).withAugmentation(CraftingAugmentation.parse(augment))
          .withClassPattern(ClassPattern.parse(classPattern));
    }

    /** n: the --checkpoints override, else the profile's. */
    int checkpointCount() {
      return checkpoints != null ? checkpoints : Profile.parse(profile).checkpointCount();
    }
  }

  /** Device and seed. */
  static class Runtime {
    @Option(names = "--device", defaultValue = "auto",
        description = "auto (GPU 0 if present, else CPU), cpu, gpu or gpu:N. Default: ${DEFAULT-VALUE}")
    String device;

    @Option(names = "--seed", defaultValue = "0", description = "Seed for sampling, training and crafting.")
    long seed;

    Device resolve() {
      return DjlRuntime.device(device);
    }
  }

  /** Loads a data spec, optionally reduced to a class-balanced subset of {@code limit} images. */
  static LabeledImages load(String spec, int limit, long seed) throws IOException {
    LabeledImages data = DataSources.load(spec);
    return limit > 0 && limit < data.size() ? DataSources.balancedSubset(data, limit, seed) : data;
  }

  static String describe(String spec, int limit, LabeledImages data) {
    return limit > 0 && limit < Integer.MAX_VALUE ? spec + " (balanced subset of " + data.size() + ")" : spec;
  }
}
