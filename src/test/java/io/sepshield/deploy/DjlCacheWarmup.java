package io.sepshield.deploy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

/**
 * Run by the {@code image} Maven profile before Jib: DJL extracts the PyTorch natives of the build's flavor into
 * DJL_CACHE_DIR (a system property here), which Jib copies into the image at /opt/djl-cache. Pods then find the
 * natives in place and write nothing there, so the root filesystem can be read-only. DJL's own extraction, not a
 * copy of its layout: the directory names are DJL's to choose.
 */
public final class DjlCacheWarmup {
  private DjlCacheWarmup() {}

  public static void main(String[] args) {
    Engine engine = Engine.getEngine("PyTorch");
    try (NDManager manager = NDManager.newBaseManager()) {
      // A first operation loads the JNI library too, so it is extracted beside the natives.
      float sum = manager.ones(new ai.djl.ndarray.types.Shape(2)).sum().getFloat();
      System.out.printf("DJL %s, PyTorch %s natives in %s (check %.0f)%n", Engine.getDjlVersion(),
          engine.getVersion(), System.getProperty("DJL_CACHE_DIR"), sum);
    }
  }
}
