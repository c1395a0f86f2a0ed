package io.sepshield.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `bench --sweep` and `bench --service` on tiny models: they run, and their JSON records hold what they say. */
class BenchCommandTest {
  @TempDir
  Path dir;

  private List<Map<String, Object>> run(Path json, String... args) throws Exception {
    String[] all = new String[args.length + 2];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--json";
    all[args.length + 1] = json.toString();
    assertEquals(0, new CommandLine(new BenchCommand()).execute(all));
    return new ObjectMapper().readValue(json.toFile(), new TypeReference<>() {});
  }

  @Test
  void aSweepMeasuresEveryValueWithItsOwnPassCount() throws Exception {
    List<Map<String, Object>> rows = run(dir.resolve("sweep.json"), "--sweep", "T=1,2", "--input", "1x12x12",
        "--classes", "4", "--checkpoints", "2", "--inner-steps", "1", "--batch-size", "2", "--batches", "1",
        "--rounds", "1", "--device", "cpu");
    assertEquals(2, rows.size());
    assertEquals("T", rows.get(0).get("sweep"));
    assertEquals(List.of(1, 2), rows.stream().map(r -> r.get("T")).toList());
    // Optimised SEP-FA-VR: T (n + M) − T passes per image.
    assertEquals(List.of(2, 4), rows.stream().map(r -> r.get("passes_per_image")).toList());
    assertEquals(1.0, (Double) rows.get(0).get("relative_cost"), 1e-9);
    for (Map<String, Object> r : rows) {
      assertEquals("engine", r.get("where"));
      assertEquals("1x12x12", r.get("input"));
      assertTrue((Double) r.get("images_per_s") > 0);
      assertTrue(((String) r.get("command")).startsWith("sep-shield bench --sweep T=1,2"), r.get("command") + "");
    }
    List<Map<String, Object>> sizes = run(dir.resolve("size.json"), "--sweep", "size=12,20", "--input", "1x12x12",
        "--classes", "4", "--checkpoints", "2", "--steps", "1", "--inner-steps", "1", "--batch-size", "2",
        "--batches", "1", "--rounds", "1", "--device", "cpu");
    assertEquals(List.of("1x12x12", "1x20x20"), sizes.stream().map(r -> r.get("input")).toList());
    assertEquals(List.of("1x12x12", "1x12x12"), sizes.stream().map(r -> r.get("model_input")).toList(),
        "full-resolution uploads: the model keeps its input, P resizes");
  }

  @Test
  void theServiceBenchmarkProtectsEveryUploadAtEachLoad() throws Exception {
    Path json = dir.resolve("service.json");
    Files.writeString(json, "[{\"where\":\"engine\",\"by\":\"someone else\"}]");
    List<Map<String, Object>> rows = run(json, "--service", "--rate", "20,saturate", "--uploads", "24", "--input",
        "1x12x12", "--classes", "4", "--checkpoints", "2", "--steps", "1", "--inner-steps", "1", "--batch-size",
        "8", "--max-delay-ms", "200", "--batches", "1", "--rounds", "2", "--device", "cpu", "--append");
    assertEquals(3, rows.size(), "the record already there is kept");
    assertEquals("someone else", rows.get(0).get("by"));
    Map<String, Object> paced = rows.get(1);
    Map<String, Object> saturated = rows.get(2);
    assertEquals("service", paced.get("where"));
    assertEquals(20.0, paced.get("offered_per_s"));
    assertNull(saturated.get("offered_per_s"));
    assertEquals(true, saturated.get("saturation"));
    assertEquals((Double) saturated.get("images_per_s") / (Double) saturated.get("engine_images_per_s"),
        (Double) saturated.get("service_to_engine"), 0.01);
    assertEquals(20.0 / (Double) paced.get("engine_images_per_s"), (Double) paced.get("offered_to_engine"), 0.01);
    for (Map<String, Object> r : List.of(paced, saturated)) {
      assertEquals(24, r.get("protected"), r.toString());
      assertEquals(0, r.get("duplicates"));
      assertEquals(0, r.get("dead_lettered"));
      assertEquals(0, r.get("epsilon_violations"));
      int delta = (Integer) r.get("max_delta_255");
      assertTrue(delta > 0 && delta <= 8, "protected within ε: " + delta);
      double p50 = (Double) r.get("p50_ms");
      double p99 = (Double) r.get("p99_ms");
      assertTrue(p50 > 0 && p50 <= (Double) r.get("p95_ms") && (Double) r.get("p95_ms") <= p99, r.toString());
      assertTrue((Double) r.get("images_per_s") > 0);
      assertTrue((Double) r.get("engine_images_per_s") > 0);
      assertTrue(((Number) r.get("batches")).intValue() >= 3, "24 uploads in batches of at most 8");
      assertEquals("1x12x12", r.get("input"));
      assertEquals(8, r.get("batch"));
    }
  }
}
