package io.sepshield.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.pytorch.jni.LibUtils;
import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * One place that prepares DJL before first use: offline mode (natives come from the bundled Maven artifact or the
 * container image, never from the network) and the device choice (first GPU when present, else CPU).
 */
public final class DjlRuntime {
  private static final System.Logger LOG = System.getLogger(DjlRuntime.class.getName());

  private DjlRuntime() {}

  /**
   * How PyTorch computes 2-d convolutions on the CPU, process-wide. Read once from {@code sep-shield.cpu-convolution}
   * (system property) or {@code SEP_SHIELD_CPU_CONVOLUTION} (environment): {@code onednn}, {@code onednn-forward}
   * or {@code native}; the default is {@link #ONEDNN_FORWARD}.
   *
   * <p>Why: on this project's AMD EPYC (Zen 5) VMs, oneDNN's AVX2/AVX-512 backward-data kernels return wrong, even
   * NaN, input gradients for 3x3 convolutions whose output channels are not a multiple of 16 (DenseNet's 12, the
   * test models' small widths) and for some strided ones, every time (docs/performance.md, 2026-12-01); uncapped, a
   * few forward cases were wrong too (googlenet-s at batch 1), so VMs keep the SSE4.1 cap (.mvn/cpu-env.sh). Under
   * the cap oneDNN was right, but its SSE4.1 backward is slow; ATen's own convolution (im2col + MKL GEMM) was right
   * in every case checked. GPUs use cuDNN and are not affected by this setting.
   */
  public enum CpuConvolution {
    /** PyTorch's default: oneDNN for the forward pass and for input gradients. */
    ONEDNN,
    /**
     * oneDNN for forward passes, ATen's im2col + GEMM for backward passes (every {@link Gradients#collector}:
     * crafting, attacks, training): no gradient goes through oneDNN's backward-data kernels, and where the VM cap
     * applies the backward no longer runs on oneDNN's slow SSE4.1 kernels (1.39x per pass, resnet8, batch 64).
     */
    ONEDNN_FORWARD,
    /** ATen's im2col + GEMM for forward and backward (oneDNN off for convolutions). */
    NATIVE;

    public String cliName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    public static CpuConvolution parse(String name) {
      String n = name.trim().toUpperCase(Locale.ROOT).replace('-', '_');
      try {
        return valueOf(n);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("unknown CPU convolution '" + name + "'; one of onednn, onednn-forward, "
            + "native", e);
      }
    }
  }

  private static volatile CpuConvolution cpuConvolution;

  static {
    // Both are read by DJL from system properties or the environment; an explicit setting by the operator wins.
    setIfAbsent("ai.djl.offline", "true");
    if (System.getenv("PYTORCH_FLAVOR") == null) {
      setIfAbsent("PYTORCH_FLAVOR", "cpu");
    }
    // cuDNN's per-shape algorithm search pays when shapes repeat: every convolution runs at the bundle's input size
    // (uploads are resized inside the crafting graph), so only the batch size varies. A flag on CPU builds. Not
    // measured: no GPU was lent to this project yet.
    setIfAbsent("ai.djl.pytorch.cudnn_benchmark", "true");
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

  /** The PyTorch engine, loaded offline, with the {@link CpuConvolution} setting applied. */
  public static Engine engine() {
    Engine engine = Engine.getEngine("PyTorch");
    if (cpuConvolution == null) {
      synchronized (DjlRuntime.class) {
        if (cpuConvolution == null) {
          String configured = System.getProperty("sep-shield.cpu-convolution",
              System.getenv("SEP_SHIELD_CPU_CONVOLUTION"));
          CpuConvolution wanted = configured == null || configured.isBlank()
              ? CpuConvolution.ONEDNN_FORWARD : CpuConvolution.parse(configured);
          cpuConvolution = AtenSwitches.available() ? wanted : CpuConvolution.ONEDNN;
          AtenSwitches.mkldnn(cpuConvolution != CpuConvolution.NATIVE);
        }
      }
    }
    return engine;
  }

  /** The CPU convolution setting in force. */
  public static CpuConvolution cpuConvolution() {
    engine();
    return cpuConvolution;
  }

  /**
   * Changes the CPU convolution setting for the whole process (benchmarks compare them in one run). Returns the
   * setting in force: {@link CpuConvolution#ONEDNN} where PyTorch's switch cannot be reached.
   */
  public static synchronized CpuConvolution cpuConvolution(CpuConvolution setting) {
    engine();
    if (AtenSwitches.available()) {
      cpuConvolution = setting;
      AtenSwitches.mkldnn(setting != CpuConvolution.NATIVE);
    }
    return cpuConvolution;
  }

  /**
   * Runs a backward pass under the CPU convolution setting: with {@link
   * CpuConvolution#ONEDNN_FORWARD}, oneDNN is off for its duration (PyTorch picks the convolution backend per call,
   * so the backward ops of a graph built with oneDNN run on ATen's). Callers hold {@link Gradients}' lock, so
   * backward passes do not overlap; a forward pass on another thread meanwhile runs on ATen's convolution too,
   * which is slower but equally correct.
   */
  static void backwardPass(Runnable backward) {
    if (cpuConvolution() != CpuConvolution.ONEDNN_FORWARD) {
      backward.run();
      return;
    }
    AtenSwitches.mkldnn(false);
    try {
      backward.run();
    } finally {
      AtenSwitches.mkldnn(cpuConvolution != CpuConvolution.NATIVE);
    }
  }

  /**
   * PyTorch's {@code torch.backends.mkldnn.enabled}, which DJL does not expose: {@code at::globalContext()
   * .setUserEnabledMkldnn(bool)} called through JNA (a dependency of DJL itself) on the libtorch DJL loaded. The
   * symbols are those of libtorch 2.x on Linux; where they are missing, {@link #available} is false and PyTorch's
   * default (oneDNN on) stays.
   */
  private static final class AtenSwitches {
    private static final Function SET_MKLDNN;
    private static final Pointer CONTEXT;

    static {
      Function set = null;
      Pointer context = null;
      try {
        Path dir = Path.of(LibUtils.getLibtorchPath());
        Path cpu = dir.resolve("libtorch_cpu.so");
        if (Files.isRegularFile(cpu)) {
          NativeLibrary torch = NativeLibrary.getInstance(cpu.toString());
          context = torch.getFunction("_ZN2at13globalContextEv").invokePointer(new Object[0]);
          set = torch.getFunction("_ZN2at7Context20setUserEnabledMkldnnEb");
          // ATen's convolution asks NNPACK first, which warns on every call on CPUs it does not support (these
          // VMs): at ERROR level only. Same effect as TORCH_CPP_LOG_LEVEL=ERROR, which an operator may set instead.
          Path c10 = dir.resolve("libc10.so");
          if (Files.isRegularFile(c10) && System.getenv("TORCH_CPP_LOG_LEVEL") == null) {
            NativeLibrary.getInstance(c10.toString()).getGlobalVariableAddress("FLAGS_caffe2_log_level").setInt(0, 2);
          }
        }
      } catch (RuntimeException | LinkageError e) {
        LOG.log(System.Logger.Level.WARNING, "cannot reach PyTorch's oneDNN switch (" + e
            + "); convolutions use PyTorch's default");
        set = null;
        context = null;
      }
      SET_MKLDNN = set;
      CONTEXT = context;
    }

    static boolean available() {
      return SET_MKLDNN != null;
    }

    static void mkldnn(boolean enabled) {
      if (SET_MKLDNN != null) {
        SET_MKLDNN.invokeVoid(new Object[] {CONTEXT, enabled ? 1 : 0});
      }
    }
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
