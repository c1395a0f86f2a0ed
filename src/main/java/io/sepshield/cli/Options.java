package io.sepshield.cli;

import ai.djl.Device;
import io.sepshield.data.DataSources;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.DjlRuntime;
import java.io.IOException;
import picocli.CommandLine.Option;

/** Options shared by the commands. */
final class Options {
  private Options() {}

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
