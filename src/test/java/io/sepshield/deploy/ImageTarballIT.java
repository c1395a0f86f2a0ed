package io.sepshield.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The container image Jib wrote to target/jib-image.tar (profile {@code image}: ./mvnw -Pimage verify), checked
 * as a runtime would see it: entrypoint, non-root user, environment, port, and the layers (natives, dependencies
 * and the application apart, so an application change ships a small layer).
 */
class ImageTarballIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static JsonNode config;
  private static List<List<String>> layers;

  @BeforeAll
  static void readImage() throws IOException {
    Path tar = Path.of(System.getProperty("image.tar", "target/jib-image.tar"));
    assertTrue(Files.isRegularFile(tar), tar + " missing: build it with ./mvnw -Pimage package");
    Map<String, byte[]> files = new HashMap<>();
    try (InputStream in = Files.newInputStream(tar)) {
      Tar.read(in, (name, data) -> files.put(name, data.readAllBytes()));
    }
    JsonNode manifest = JSON.readTree(files.get("manifest.json")).get(0);
    config = JSON.readTree(files.get(manifest.get("Config").asText()));
    layers = new ArrayList<>();
    for (JsonNode layer : manifest.get("Layers")) {
      List<String> names = new ArrayList<>();
      byte[] blob = files.get(layer.asText());
      InputStream content = new java.io.ByteArrayInputStream(blob);
      Tar.read(blob.length > 1 && blob[0] == (byte) 0x1f && blob[1] == (byte) 0x8b
          ? new GZIPInputStream(content) : content, (name, data) -> names.add(name));
      layers.add(names);
    }
  }

  @Test
  void entrypointRunsTheQuarkusApplication() {
    JsonNode c = config.get("config");
    List<String> entrypoint = strings(c.get("Entrypoint"));
    assertEquals("java", entrypoint.get(0), "java from the base image's PATH: " + entrypoint);
    assertEquals("/app/quarkus-run.jar", entrypoint.get(entrypoint.size() - 1), entrypoint.toString());
    assertEquals("-jar", entrypoint.get(entrypoint.size() - 2));
    assertEquals(List.of("serve"), strings(c.get("Cmd")), "serve by default; the CronJob passes train ...");
    assertTrue(layerWith(n -> n.equals("app/quarkus-run.jar")) >= 0, "quarkus-run.jar in the image");
  }

  @Test
  void runsAsANumericNonRootUser() {
    String user = config.get("config").get("User").asText();
    assertTrue(user.matches("\\d+(:\\d+)?"), "numeric, so runAsNonRoot can verify it: " + user);
    assertNotEquals("0", user.split(":")[0]);
  }

  @Test
  void environmentAndPort() {
    List<String> env = strings(config.get("config").get("Env"));
    String flavor = System.getProperty("image.pytorch.flavor", "cpu");
    assertTrue(env.contains("PYTORCH_FLAVOR=" + flavor), env.toString());
    assertTrue(env.contains("DJL_CACHE_DIR=/opt/djl-cache"), env.toString());
    assertTrue(env.contains("HOME=/tmp"), "a writable home on the read-only root: " + env);
    assertTrue(config.get("config").get("ExposedPorts").has(new AppContract().httpPort() + "/tcp"));
  }

  @Test
  void nativesDependenciesAndApplicationInSeparateLayers() {
    String flavor = System.getProperty("image.pytorch.flavor", "cpu");
    int natives = layerWith(n -> n.startsWith("opt/djl-cache/pytorch/") && n.contains("-" + flavor + "-")
        && n.endsWith("/libtorch.so"));
    int jni = layerWith(n -> n.startsWith("opt/djl-cache/pytorch/") && n.endsWith("-libdjl_torch.so"));
    int dependencies = layerWith(n -> n.startsWith("app/lib/main/") && n.endsWith(".jar"));
    int application = layerWith(n -> n.startsWith("app/app/") && n.endsWith(".jar"));
    assertTrue(natives >= 0, "pre-extracted " + flavor + " natives in the image");
    assertEquals(natives, jni, "DJL's JNI library next to the natives");
    assertTrue(dependencies >= 0 && application >= 0, "dependencies and application in the image");
    assertEquals(3, List.of(natives, dependencies, application).stream().distinct().count(),
        "natives, dependencies and application in three layers");
    // Jib's own classpath layout (a second copy of the dependencies) is filtered out.
    assertEquals(-1, layerWith(n -> n.startsWith("jib/")), "no Jib classpath copy");
    assertFalse(layers.get(application).stream().anyMatch(n -> n.startsWith("app/lib/")));
  }

  private static int layerWith(Predicate<String> name) {
    for (int i = 0; i < layers.size(); i++) {
      if (layers.get(i).stream().map(n -> n.startsWith("./") ? n.substring(2) : n).anyMatch(name)) {
        return i;
      }
    }
    return -1;
  }

  private static List<String> strings(JsonNode array) {
    assertNotNull(array);
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  /**
   * A minimal reader for the POSIX tar of images and their layers (ustar names with prefix, PAX path records,
   * GNU long names). Written here because the JDK has no tar reader and this check should not add a dependency.
   */
  static final class Tar {
    interface Entry {
      void accept(String name, InputStream data) throws IOException;
    }

    static void read(InputStream in, Entry entry) throws IOException {
      byte[] header = new byte[512];
      String longName = null;
      while (in.readNBytes(header, 0, 512) == 512 && header[0] != 0) {
        String name = field(header, 0, 100);
        String prefix = field(header, 345, 155);
        long size = Long.parseLong(field(header, 124, 12).trim().isEmpty() ? "0" : field(header, 124, 12).trim(), 8);
        byte type = header[156];
        byte[] data = in.readNBytes((int) size);
        in.skipNBytes((512 - size % 512) % 512);
        if (type == 'x') {
          for (String record : new String(data, StandardCharsets.UTF_8).split("\n")) {
            int eq = record.indexOf(" path=");
            if (eq >= 0) {
              longName = record.substring(eq + 6);
            }
          }
          continue;
        }
        if (type == 'L') {
          longName = field(data, 0, data.length);
          continue;
        }
        String path = longName != null ? longName : prefix.isEmpty() ? name : prefix + "/" + name;
        longName = null;
        if (type == '0' || type == 0) {
          entry.accept(path, new java.io.ByteArrayInputStream(data));
        }
      }
    }

    private static String field(byte[] b, int offset, int length) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      for (int i = offset; i < offset + length && b[i] != 0; i++) {
        out.write(b[i]);
      }
      return out.toString(StandardCharsets.UTF_8);
    }
  }
}
