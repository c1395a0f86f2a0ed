package io.sepshield.cli;

import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.ImageMetadata;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.UploadDecoder;
import io.sepshield.jobs.DatasetProtection;
import io.sepshield.jobs.FolderProtection;
import io.sepshield.jobs.ProtectedOutput;
import io.sepshield.sep.FeatureLayer;
import io.sepshield.sep.Preprocessing;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.Protector;
import io.sepshield.sep.TargetMap;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Protects a data set or image folder with a bundle. */
@Command(name = "protect", mixinStandardHelpOptions = true,
    description = "Protect images with SEP-FA-VR (or an ablation) and write them as PNG folders or IDX files. An "
        + "image folder is protected at each file's own size and colour by default (see --full-size).")
public class ProtectCommand implements Callable<Integer> {
  @Option(names = "--bundle", defaultValue = "runs/bundles",
      description = "Bundle directory, or a bundle root with LATEST. Default: ${DEFAULT-VALUE}")
  Path bundle;

  @Option(names = "--data", defaultValue = "fashion-mnist:train", description = "Images to protect. Default: "
      + "${DEFAULT-VALUE}")
  String data;

  @Option(names = "--limit", defaultValue = "0", description = "Protect a class-balanced subset of this many images.")
  int limit;

  @Option(names = "--unlabeled", description = "Ignore the labels and use pseudo-labels from the newest checkpoint.")
  boolean unlabeled;

  @Mixin
  Options.Crafting crafting;

  @Option(names = "--target", defaultValue = "half", description = "Target map g: half ((y+K/2) mod K), "
      + "shift:N, closest (the derangement pairing classes whose centers lie closest in the bundle's feature "
      + "space) or a table 0>5,1>3,... (every class once, never to itself; several may "
      + "share a target).")
  String target;

  @Option(names = "--batch-size", defaultValue = "64")
  int batchSize;

  @Option(names = "--feature-layer", defaultValue = "penultimate", description = FeatureLayer.USAGE
      + " (labelled data sets only, not --unlabeled or --full-size). Default: ${DEFAULT-VALUE}")
  String featureLayer;

  @Option(names = "--out", defaultValue = "runs/protected", description = "Output directory. Default: "
      + "${DEFAULT-VALUE}")
  Path out;

  @Option(names = "--format", defaultValue = "png", description = "png (class folders, file names kept) or idx.")
  String format;

  @Option(names = "--full-size", negatable = true, description = "Protect each file of a folder at its own size and "
      + "colour (default for --data folder:DIR with --format png and no channels=/size= options); --no-full-size "
      + "resizes the folder to one shape first, as for training data.")
  Boolean fullSize;

  @Option(names = "--aspect", defaultValue = "stretch", description = "How an image of another aspect ratio is "
      + "mapped onto the bundle's input while crafting: stretch, crop (centre) or letterbox. Default: ${DEFAULT-VALUE}")
  String aspect;

  @Option(names = "--resize", defaultValue = "area", description = "Resize kernel onto the bundle's input while "
      + "crafting: area or bilinear (both anti-aliased). Default: ${DEFAULT-VALUE}")
  String resize;

  @Option(names = "--keep-metadata", defaultValue = "none", description = "Metadata copied into full-size PNGs: "
      + "comma list of icc, exif (GPS and thumbnail removed), xmp, text; or none. Default: ${DEFAULT-VALUE}")
  String keepMetadata;

  @Option(names = "--max-batch-pixels", defaultValue = "4000000", description = "Full size: at most this many "
      + "values (C x H x W summed) crafted together; a larger image is crafted alone. Default: ${DEFAULT-VALUE}")
  long maxBatchPixels;

  @Mixin
  Options.Runtime runtime;

  @Override
  public Integer call() throws Exception {
    Path folder = fullSizeFolder();
    if (folder != null) {
      return protectFullSize(folder);
    }
    LabeledImages images = Options.load(data, limit, runtime.seed);
    if (unlabeled) {
      int[] none = new int[images.size()];
      Arrays.fill(none, LabeledImages.UNKNOWN_LABEL);
      images = images.withLabels(none);
    }
    try (BundleLoader.LoadedBundle loaded = BundleLoader.load(bundle, runtime.resolve())) {
      ProtectionSettings settings = settings(loaded.ensemble().size());
      System.err.printf("bundle %s (%s, %d checkpoints) on %s; %s%n", loaded.manifest().bundleId(),
          loaded.manifest().architecture(), loaded.ensemble().size(), loaded.ensemble().device(), settings);
      Protector protector = new Protector(loaded.ensemble(), settings);
      protector.craftingNotes().forEach(System.err::println);
      if (!protector.settings().featureLayer().isPenultimate()) {
        if (unlabeled) {
          throw new IllegalArgumentException("--feature-layer " + featureLayer + " computes class centers from the "
              + "images' labels; it does not work with --unlabeled");
        }
        protector.withLayerCentersOf(images, batchSize); // the data owner's own images
      }
      DatasetProtection.Result result = new DatasetProtection(System.err).run(protector, images, batchSize);
      ProtectedOutput.write(result.protectedImages(), out, format);
      Path strip = DatasetProtection.writeBeforeAfter(images, result.protectedImages(), crafting.eps, 10,
          out.resolve("before-after.png"), settings + "; bundle " + loaded.manifest().bundleId());
      System.out.println(result.summary().describe());
      System.out.println("wrote " + out + " (" + format + ") and " + strip);
    }
    return 0;
  }

  /** The folder to protect at full size, or null for the data-set path (resized to one shape). */
  Path fullSizeFolder() {
    boolean folder = data.startsWith("folder:");
    boolean plain = folder && !data.matches(".*,(channels|size)=[^,]*$");
    boolean on = fullSize == null ? plain && format.equals("png") : fullSize;
    if (!on) {
      return null;
    }
    if (!plain) {
      throw new IllegalArgumentException("--full-size works on --data folder:DIR without channels=/size= options");
    }
    if (!format.equals("png")) {
      throw new IllegalArgumentException("--full-size writes PNGs; use --format png");
    }
    if (limit > 0) {
      throw new IllegalArgumentException("--limit does not apply to --full-size folders");
    }
    return Path.of(data.substring("folder:".length()));
  }

  private int protectFullSize(Path folder) throws Exception {
    UploadDecoder.Options options = UploadDecoder.Options.DEFAULT.withKeep(ImageMetadata.Kind.parseList(
        keepMetadata));
    try (BundleLoader.LoadedBundle loaded = BundleLoader.load(bundle, runtime.resolve())) {
      ProtectionSettings settings = settings(loaded.ensemble().size());
      if (!settings.featureLayer().isPenultimate()) {
        throw new IllegalArgumentException("--feature-layer needs a labelled data set to compute class centers "
            + "from; a --full-size folder is protected one group at a time (use --no-full-size)");
      }
      long[] shape = loaded.ensemble().inputShape();
      System.err.printf("bundle %s (%s, %d checkpoints, input %dx%dx%d) on %s; %s; full size, %s%n",
          loaded.manifest().bundleId(), loaded.manifest().architecture(), loaded.ensemble().size(), shape[0],
          shape[1], shape[2], loaded.ensemble().device(), settings, settings.preprocessing());
      Protector protector = new Protector(loaded.ensemble(), settings);
      protector.craftingNotes().forEach(System.err::println);
      FolderProtection.Summary summary = new FolderProtection(System.err).run(protector, folder, out, options,
          unlabeled, batchSize, maxBatchPixels);
      System.out.println(summary.describe());
      for (FolderProtection.Skipped s : summary.skipped()) {
        System.out.println("skipped " + s.id() + " (" + s.kind() + "): " + s.reason());
      }
      System.out.println("wrote " + out + " (full-size png)");
      return summary.skipped().isEmpty() ? 0 : 3;
    }
  }

  ProtectionSettings settings(int available) {
    ProtectionSettings s = crafting.settings(available, runtime.seed);
    return s.withTargets(TargetMap.parse(target)).withPreprocessing(new Preprocessing(
        Preprocessing.Aspect.parse(aspect), Preprocessing.Kernel.parse(resize)))
        .withFeatureLayer(FeatureLayer.parse(featureLayer));
  }

}
