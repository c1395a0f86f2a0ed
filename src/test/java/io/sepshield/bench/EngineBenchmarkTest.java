package io.sepshield.bench;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.Device;
import io.sepshield.model.DjlRuntime;
import io.sepshield.sep.CheckpointEnsemble;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import io.sepshield.sep.ProtectionSettings;
import io.sepshield.sep.Protector;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EngineBenchmarkTest {

  @Test
  void measuresEveryVariantAndReportsPassesFlopsAndMemory() {
    long[] chw = {1, 16, 16};
    try (CheckpointEnsemble ensemble = EngineBenchmark.randomEnsemble("resnet8", 3, chw, 4, Device.cpu(), 1)) {
      ProtectionSettings settings = Profile.FAST.settings(Method.SEP_FA_VR, 8f / 255f, ensemble.size(), 1);
      ByteArrayOutputStream log = new ByteArrayOutputStream();
      EngineBenchmark.Result result = new EngineBenchmark(new PrintStream(log)).run(ensemble, settings,
          new EngineBenchmark.Config(4, 2, 2, EngineVariant.parseList("straightforward,optimized@t1"), 1));
      List<Map<String, Object>> rows = EngineBenchmark.records(result, Map.of("device", "cpu", "arch", "resnet8"));
      assertEquals(2, rows.size());
      Map<String, Object> plain = rows.get(0);
      Map<String, Object> fast = rows.get(1);
      assertEquals("engine", plain.get("where"));
      assertEquals("straightforward", plain.get("variant"));
      assertEquals(5L * (3 + 3), plain.get("passes_per_image"));
      assertEquals(5L * (3 + 3) - 5, fast.get("passes_per_image"), "g_k reused at m = 0: T passes fewer");
      assertEquals(1, fast.get("threads"));
      assertEquals(plain.get("images_per_s"), fast.get("baseline_images_per_s"));
      for (Map<String, Object> row : rows) {
        double images = (Double) row.get("images_per_s");
        assertTrue(images > 0, row.toString());
        assertEquals(images * (Long) row.get("passes_per_image"), (Double) row.get("passes_per_s"), 0.5);
        assertTrue((Double) row.get("gflops_per_s") > 0);
        assertTrue((Double) row.get("peak_fraction") > 0 && (Double) row.get("peak_fraction") < 1);
        assertEquals(0, row.get("leaked_ndarrays"), "protect() must not leave arrays behind");
      }
      assertEquals(8, result.batchesMeasured());
      assertTrue(result.end().rssMb() > 0 && result.end().hwmMb() >= result.end().rssMb());
      assertTrue(log.toString().contains("round 2/2 optimized@t1"), log.toString());
    }
  }

  @Test
  void variantsParseAndRejectUnknownNames() {
    EngineVariant v = EngineVariant.parse("one-collection@t3");
    assertEquals(3, v.threads());
    assertEquals(new Protector.Tuning(true, true), v.tuning());
    assertTrue(v.cacheNormalization());
    assertFalse(EngineVariant.parse("reuse").cacheNormalization());
    assertEquals(Protector.Tuning.STRAIGHTFORWARD, EngineVariant.parse("straightforward").tuning());
    assertThrows(IllegalArgumentException.class, () -> EngineVariant.parse("turbo"));
    assertThrows(IllegalArgumentException.class, () -> EngineVariant.parse("optimized@t0"));
    // The variants measured before folding and the convolution setting existed keep their meaning.
    assertFalse(EngineVariant.parse("optimized").foldBatchNorm());
    assertEquals(DjlRuntime.CpuConvolution.ONEDNN, EngineVariant.parse("optimized").convolution());
    EngineVariant production = EngineVariant.parse("production");
    assertEquals(Protector.Tuning.OPTIMIZED, production.tuning());
    assertTrue(production.foldBatchNorm());
    assertEquals(DjlRuntime.CpuConvolution.ONEDNN_FORWARD, production.convolution());
    EngineVariant modified = EngineVariant.parse("straightforward+fold+conv=native@t1");
    assertEquals(Protector.Tuning.STRAIGHTFORWARD, modified.tuning());
    assertTrue(modified.foldBatchNorm());
    assertEquals(DjlRuntime.CpuConvolution.NATIVE, modified.convolution());
    assertEquals(1, modified.threads());
    assertThrows(IllegalArgumentException.class, () -> EngineVariant.parse("optimized+turbo"));
    assertThrows(IllegalArgumentException.class, () -> EngineVariant.parse("optimized+conv=gpu"));
  }

  @Test
  void peakEstimateFollowsTheWidestVectorUnit() {
    assertEquals("64", MachinePeak.vectorIsa(" fpu avx avx2 fma avx512f ")[1]);
    assertEquals("32", MachinePeak.vectorIsa(" fpu avx avx2 fma ")[1]);
    assertEquals("16", MachinePeak.vectorIsa(" fpu avx ")[1]);
    assertEquals("8", MachinePeak.vectorIsa(" fpu sse2 ")[1]);
    assertEquals(2 * 2.0 * 64, new MachinePeak(2, 2.0, 64, "AVX-512", "x").gflops(), 1e-9);
  }

  @Test
  void rssGrowthIsTheSlopeOverBatches() {
    assertEquals(100.0, EngineBenchmark.slopePer100(List.of(10.0, 11.0, 12.0, 13.0)), 1e-9);
    assertEquals(0.0, EngineBenchmark.slopePer100(List.of(5.0, 5.0, 5.0)), 1e-9);
  }
}
