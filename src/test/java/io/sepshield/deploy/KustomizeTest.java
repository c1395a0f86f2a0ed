package io.sepshield.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * k8s/ rendered by kubectl's built-in kustomize (`.ci/run` installs kubectl when missing) and held to the same
 * checks as the Helm chart. Skipped, saying why, where there is no kubectl or its kustomize predates components
 * (kustomize 4, kubectl 1.21; Debian 12's kubernetes-client is 1.20).
 */
class KustomizeTest {
  private static final Path K8S = Path.of("k8s").toAbsolutePath();
  private final ManifestChecks checks = new ManifestChecks();

  @BeforeAll
  static void kubectlWithComponents() throws Exception {
    String version;
    try {
      version = run(List.of("kubectl", "version", "--client"));
    } catch (IOException e) {
      Assumptions.abort("kubectl not found (Debian package kubernetes-client; .ci/run installs it): " + e);
      return;
    }
    Matcher m = Pattern.compile("Kustomize Version: v(\\d+)").matcher(version);
    Assumptions.assumeTrue(m.find() && Integer.parseInt(m.group(1)) >= 4,
        "kubectl's kustomize is older than 4 (no components): " + version.trim());
  }

  static String run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(false).start();
    byte[] err = new byte[0];
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    err = p.getErrorStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new AssertionError(command + " failed: " + new String(err, StandardCharsets.UTF_8));
    }
    return out;
  }

  static Rendered kustomize(String source, Path dir) throws Exception {
    return Rendered.parse("kustomize " + source, run(List.of("kubectl", "kustomize", dir.toString())));
  }

  /** An overlay plus components, the way a user composes them in their own kustomization. */
  static Rendered withComponents(String overlay, String... components) throws Exception {
    Path dir = Path.of("target/deploy-tests/kustomize-" + overlay + "-" + String.join("-", components))
        .toAbsolutePath();
    Files.createDirectories(dir);
    // Kustomize takes relative paths only.
    List<String> lines = new ArrayList<>(List.of("apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization", "resources:", "  - " + dir.relativize(K8S.resolve("overlays/" + overlay)),
        "components:"));
    for (String c : components) {
      lines.add("  - " + dir.relativize(K8S.resolve("components/" + c)));
    }
    Files.write(dir.resolve("kustomization.yaml"), lines);
    return kustomize(overlay + "+" + String.join("+", components), dir);
  }

  @Test
  void cpuOverlay() throws Exception {
    Rendered r = kustomize("cpu", K8S.resolve("overlays/cpu"));
    checks.check(r, false);
    assertEquals(List.of("ConfigMap", "CronJob", "PersistentVolumeClaim", "PodDisruptionBudget", "Service",
        "ServiceAccount", "StatefulSet"), r.kinds());
  }

  @Test
  void gpuOverlay() throws Exception {
    checks.check(kustomize("gpu", K8S.resolve("overlays/gpu")), true);
  }

  @Test
  void kedaAndServiceMonitorComponents() throws Exception {
    Rendered cpu = withComponents("cpu", "keda", "servicemonitor");
    checks.check(cpu, false);
    assertEquals(1, cpu.generic("ScaledObject").size());
    assertEquals(1, cpu.generic("ServiceMonitor").size());
    checks.check(withComponents("gpu", "keda"), true);
  }

  /** Kustomize and Helm deploy the same kinds of objects (Helm adds its test hook pod). */
  @Test
  void sameObjectsAsTheHelmChart() throws Exception {
    Rendered k = withComponents("cpu", "keda", "servicemonitor");
    Rendered h = HelmChartTest.render("all", t -> t.set("keda.enabled", "true").set("serviceMonitor.enabled", "true"));
    List<String> helmKinds = new ArrayList<>(h.kinds());
    helmKinds.remove("Pod");
    assertEquals(helmKinds, k.kinds());
    var kc = Rendered.container(k.processor().getSpec().getTemplate().getSpec());
    var hc = Rendered.container(h.processor().getSpec().getTemplate().getSpec());
    assertEquals(kc.getStartupProbe().getHttpGet(), hc.getStartupProbe().getHttpGet());
    assertEquals(kc.getSecurityContext(), hc.getSecurityContext());
    assertEquals(k.processor().getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds(),
        h.processor().getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds());
    assertTrue(k.environment(kc).keySet().stream().allMatch(key -> h.environment(hc).containsKey(key)),
        "every setting kustomize gives the processor, the chart gives too: " + k.environment(kc).keySet()
            + " vs " + h.environment(hc).keySet());
  }
}
