package io.sepshield.cli;

import ai.djl.Device;
import io.sepshield.bundle.BundleException;
import io.sepshield.bundle.BundleLoader;
import io.sepshield.data.LabeledImages;
import io.sepshield.data.SyntheticImages;
import io.sepshield.jobs.RetrainingJob;
import io.sepshield.reliability.CrashSoak;
import io.sepshield.reliability.ProcessorJvm;
import io.sepshield.reliability.ReliabilityResults;
import io.sepshield.train.TrainingConfig;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The crash soak ({@link CrashSoak}): uploads through the service while its processor JVMs are killed with SIGKILL,
 * then the exactly-once check. The processors are this application's own {@code serve}, started from the packaged
 * jar this command runs from.
 */
@Command(name = "soak", mixinStandardHelpOptions = true,
    description = {"Crash soak: an in-process broker and registry, `serve` as separate JVMs killed with SIGKILL "
        + "(mid-flush, with uploads buffered, at random) and restarted, then a read_committed check that every "
        + "upload has exactly one result and every protected image lies within eps of its original."})
public class SoakCommand implements Callable<Integer> {
  @Option(names = "--uploads", defaultValue = "1000", description = "Default: ${DEFAULT-VALUE}")
  int uploads;

  @Option(names = "--kills", defaultValue = "5", description = "SIGKILLs. Default: ${DEFAULT-VALUE}")
  int kills;

  @Option(names = "--instances", defaultValue = "1",
      description = "Processor JVMs at once (same application id). Default: ${DEFAULT-VALUE}")
  int instances;

  @Option(names = "--partitions", description = "Partitions of the topics. Default: 2 per instance.")
  Integer partitions;

  @Option(names = "--batch-size", defaultValue = "8", description = "Default: ${DEFAULT-VALUE}")
  int batchSize;

  @Option(names = "--max-delay-ms", defaultValue = "2000", description = "Default: ${DEFAULT-VALUE}")
  long maxDelayMs;

  @Option(names = "--corrupt-every", defaultValue = "25",
      description = "Every n-th upload is a truncated PNG (must be dead-lettered); 0: none. Default: ${DEFAULT-VALUE}")
  int corruptEvery;

  @Option(names = "--transaction-timeout-s", defaultValue = "20",
      description = "The processors' transaction.timeout.ms in seconds: how long a killed processor's open "
          + "transaction holds back read_committed readers. Default: ${DEFAULT-VALUE}")
  int transactionTimeoutSeconds;

  @Option(names = "--eps", defaultValue = "8", description = "ε in 1/255. Default: ${DEFAULT-VALUE}")
  float eps;

  @Option(names = "--seed", defaultValue = "0", description = "Default: ${DEFAULT-VALUE}")
  long seed;

  @Option(names = "--work", defaultValue = "runs/soak",
      description = "Logs, state directories and the trained bundle. Default: ${DEFAULT-VALUE}")
  Path work;

  @Option(names = "--bundle", description = "Bundle to serve. Default: a small resnet8 bundle trained on synthetic "
      + "12x12 images into <work>/bundle (once).")
  Path bundle;

  @Option(names = "--processor-jar", description = "The packaged application to run `serve` from. Default: the jar "
      + "this command runs from.")
  Path processorJar;

  @Option(names = "--processor-xmx", defaultValue = "768m", description = "Default: ${DEFAULT-VALUE}")
  String processorXmx;

  @Option(names = "--deadline-minutes", defaultValue = "30",
      description = "Time allowed after the last kill for every upload to be accounted for. Default: ${DEFAULT-VALUE}")
  int deadlineMinutes;

  @Option(names = "--results", description = "JSON results file to merge the figures into (read-modify-write), "
      + "e.g. docs/results/reliability.json.")
  Path results;

  @Override
  public Integer call() throws Exception {
    Path jar = processorJar != null ? processorJar : Path.of(System.getProperty("java.class.path").split(
        java.io.File.pathSeparator)[0]);
    if (!jar.getFileName().toString().endsWith(".jar") || !Files.isRegularFile(jar)) {
      throw new IllegalArgumentException("no packaged application to start `serve` from (" + jar + "): run "
          + "through ./sep-shield or pass --processor-jar target/quarkus-app/quarkus-run.jar");
    }
    Files.createDirectories(work);
    Path bundleRoot = bundle != null ? bundle : work.resolve("bundle");
    // Uploads and training images come from different seeds: what is protected never trained the bundle.
    LabeledImages uploadImages = SyntheticImages.generate(4, 64, 1, 12, 12, seed + 1000);
    if (!usable(bundleRoot)) {
      if (bundle != null) {
        throw new IllegalArgumentException("not a usable bundle: " + bundle);
      }
      System.err.println("soak: training a small bundle into " + bundleRoot);
      LabeledImages train = SyntheticImages.generate(4, 100, 1, 12, 12, seed);
      new RetrainingJob(System.err).run(new RetrainingJob.Spec(train, "synthetic 12x12 (4 classes, 400 images)",
          null, null, "resnet8", TrainingConfig.shortRun(3, seed), 3, bundleRoot, Device.cpu()));
    }
    List<String> jvm = new ArrayList<>(List.of("-Xmx" + processorXmx));
    for (String key : new String[] {"ai.djl.offline", "PYTORCH_FLAVOR", "DJL_CACHE_DIR", "ENGINE_CACHE_DIR"}) {
      String v = System.getProperty(key);
      if (v != null) {
        jvm.add("-D" + key + "=" + v);
      }
    }
    int p = partitions != null ? partitions : 2 * instances;
    CrashSoak.Spec spec = new CrashSoak.Spec(uploads, kills, instances, p, batchSize, Duration.ofMillis(maxDelayMs),
        corruptEvery, Duration.ofSeconds(transactionTimeoutSeconds), eps, seed, work.resolve("run-" + instances),
        bundleRoot, ProcessorJvm.Launcher.serve(jar), jvm, List.of(CrashSoak.KillPoint.values()),
        Duration.ofMinutes(deadlineMinutes));
    CrashSoak.Result r = new CrashSoak(spec, System.err).run(uploadImages);

    String command = "./sep-shield soak --uploads " + uploads + " --kills " + kills + " --instances " + instances
        + (results != null ? " --results " + results : "");
    System.out.printf("uploads %d (%d corrupt), kills %d, instances %d, partitions %d%n", r.uploads(),
        r.corruptUploads(), r.kills(), r.instances(), r.partitions());
    System.out.printf("results: %d protected, %d dead-lettered; lost %d, duplicated %d, eps violations %d "
        + "(max |delta| %d/255), unexpected outcomes %d, duplicated failure events %d%n", r.protectedImages(),
        r.deadLettered(), r.lost(), r.duplicated(), r.epsViolations(), r.maxAbsDelta255(), r.unexpected(),
        r.failureEventsDuplicated());
    for (CrashSoak.Kill k : r.killLog()) {
      System.out.printf("kill %d: %s %s at %.1f s, partitions %s, %d buffered%s%s, running again after %.1f s, "
          + "next result read after %s s%n", k.number(), k.instance(), k.point(), k.atSeconds(), k.partitions(),
          k.bufferedUploads(),
          k.transactionAborted() == null ? "" : k.transactionAborted() ? ", its open transaction aborted"
              : ", transaction had committed",
          k.partitionsMoved() == null ? "" : k.partitionsMoved() ? ", partitions moved to the survivor"
              : ", partitions did NOT move", k.restartSeconds(), k.firstResultAfterSeconds());
    }
    r.problems().forEach(s -> System.out.println("problem: " + s));
    System.out.printf("%s in %.0f s (%d processor starts)%n", r.ok() ? "OK" : "FAILED", r.seconds(),
        r.processorStarts());
    if (results != null) {
      String machine = Runtime.getRuntime().availableProcessors() + " cores, load average "
          + String.format("%.1f", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage())
          + " at the end";
      ReliabilityResults.merge(results, ReliabilityResults.record(r, command, LocalDate.now().toString(), machine));
      System.out.println("written: " + results);
    }
    return r.ok() ? 0 : 1;
  }

  private static boolean usable(Path root) {
    try {
      return Files.exists(root) && BundleLoader.verify(BundleLoader.resolve(root)) != null;
    } catch (BundleException e) {
      return false;
    }
  }
}
