package io.sepshield.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * One place that prepares DJL before first use: offline mode (natives come from the bundled Maven artifact or the
 * container image, never from the network) and the device choice (first GPU when present, else CPU).
 */
public final class DjlRuntime {
  private DjlRuntime() {}

  static {
    // Both are read by DJL from system properties or the environment; an explicit setting by the operator wins.
    setIfAbsent("ai.djl.offline", "true");
    if (System.getenv("PYTORCH_FLAVOR") == null) {
      setIfAbsent("PYTORCH_FLAVOR", "cpu");
    }
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  /**
   * PyTorch's intra-op threads (the threads one convolution or element-wise op is split over). PyTorch starts with
   * one per physical core; {@code ai.djl.pytorch.num_threads} (read by DJL at engine start) or this method changes
   * it. Inter-op threads ({@code ai.djl.pytorch.num_interop_threads}) are unused by eager crafting.
   */
  public static int intraOpThreads() {
    engine();
    return JniUtils.getNumThreads();
  }

  /** Sets PyTorch's intra-op threads for the whole process (all engines and threads of this JVM). */
  public static void intraOpThreads(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    engine();
    JniUtils.setNumThreads(threads);
  }

  /** The PyTorch engine, loaded offline. */
  public static Engine engine() {
    return Engine.getEngine("PyTorch");
  }

  /**
   * Resolves a device name: "auto" (GPU 0 if the engine sees one, else CPU), "cpu", "gpu" or "gpu:N".
   */
  public static Device device(String name) {
    Engine engine = engine();
    String n = name == null ? "auto" : name.trim().toLowerCase();
    if (n.equals("auto")) {
      return engine.getGpuCount() > 0 ? Device.gpu(0) : Device.cpu();
    }
    if (n.equals("cpu")) {
      return Device.cpu();
    }
    if (n.startsWith("gpu")) {
      int id = n.contains(":") ? Integer.parseInt(n.substring(n.indexOf(':') + 1)) : 0;
      if (id >= engine.getGpuCount()) {
        throw new IllegalArgumentException("device " + name + " requested but the engine sees "
            + engine.getGpuCount() + " GPU(s)");
      }
      return Device.gpu(id);
    }
    throw new IllegalArgumentException("unknown device '" + name + "' (auto, cpu, gpu, gpu:N)");
  }
}
