package io.sepshield.bundle;

import java.nio.file.Path;

/** A process that stages a bundle and waits to be stopped: {@link BundleWriterShutdownTest} sends it SIGTERM. */
public final class StagedBundleMain {
  private StagedBundleMain() {}

  public static void main(String[] args) throws InterruptedException {
    BundleWriter writer = new BundleWriter(Path.of(args[0]));
    writer.addFile("checkpoints/epoch-001.params", new byte[1024]);
    System.out.println("staged");
    System.out.flush();
    Thread.sleep(120_000); // a training loop that is not told of the signal
  }
}
