package io.sepshield.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/** helm/sep-shield through Helm itself (helm-java's bundled native Helm): lint, then template and check. */
class HelmChartTest {
  static final Path CHART = Path.of("helm/sep-shield");

  private final ManifestChecks checks = new ManifestChecks();

  static String template(UnaryOperator<TemplateCommand> values) {
    return values.apply(new Helm(CHART).template().withName("sep-shield").withNamespace("sep-shield")).call();
  }

  static Rendered render(String source, UnaryOperator<TemplateCommand> values) {
    return Rendered.parse("helm " + source, template(values));
  }

  @Test
  void lintsClean() {
    LintResult lint = new Helm(CHART).lint().strict().call();
    assertFalse(lint.isFailed(), "helm lint --strict: " + lint.getMessages());
  }

  @Test
  void defaultValues() {
    Rendered r = render("default", t -> t);
    checks.check(r, false);
    assertEquals(List.of("ConfigMap", "CronJob", "PersistentVolumeClaim", "PodDisruptionBudget", "Service",
        "ServiceAccount", "StatefulSet"), r.kinds());
    assertEquals(2, r.processor().getSpec().getReplicas());
  }

  /**
   * A client-only dry-run install renders NOTES.txt with the release's names. (helm-java returns the manifest
   * without hooks, so the `helm test` pod is covered by lint, which renders every template.)
   */
  @Test
  void notes() {
    String out = new Helm(CHART).install().withName("shield").withNamespace("media").clientOnly().dryRun()
        .call().getOutput();
    assertTrue(out.contains("kubectl -n media create secret generic sep-shield-kafka "), out);
    assertTrue(out.contains("create job --from=cronjob/shield-sep-shield-retrain"), out);
    assertTrue(out.contains("port-forward pod/shield-sep-shield-0 8080"), out);
    assertTrue(out.contains("helm test shield -n media"), out);
  }

  @Test
  void gpuValues() {
    Rendered r = render("gpu", t -> t.set("gpu.enabled", "true"));
    checks.check(r, true);
    assertTrue(r.processor().getSpec().getTemplate().getSpec().getContainers().get(0).getImage()
        .endsWith(":0.1.0-SNAPSHOT-gpu"));
  }

  @Test
  void kedaServiceMonitorNoCronJob() {
    Rendered r = render("keda", t -> t.set("keda.enabled", "true").set("serviceMonitor.enabled", "true")
        .set("retrain.enabled", "false"));
    checks.check(r, false);
    assertEquals(1, r.generic("ScaledObject").size());
    assertEquals(1, r.generic("TriggerAuthentication").size());
    assertEquals(1, r.generic("ServiceMonitor").size());
    assertTrue(r.retrain().isEmpty(), "retrain.enabled=false drops the CronJob");
    StatefulSet sts = r.processor();
    assertNull(sts.getSpec().getReplicas(), "KEDA owns the replica count");
  }

  @Test
  void valuesFromAFileWithoutTlsOrRegistryAuth() throws Exception {
    Path values = Path.of("target/deploy-tests/values-plain.yaml");
    java.nio.file.Files.createDirectories(values.getParent());
    java.nio.file.Files.writeString(values, """
        stream:
          bootstrap-servers: broker-0:9092,broker-1:9092
          schema-registry-url: http://registry:8081
          application-id: shield-eu
          topic-partitions: 12
          close-timeout: 45s
        kafka:
          config:
            security.protocol: PLAINTEXT
          sasl: {secretName: ""}
          tls: {secretName: ""}
        schemaRegistry:
          auth: {secretName: ""}
        terminationGracePeriodSeconds: 90
        keda: {enabled: true, maxReplicaCount: 12, sasl: none, tls: disable}
        """);
    Rendered r = render("values-plain", t -> t.withValuesFile(values));
    checks.check(r, false);
    Map<String, String> env = r.environment(r.processor().getSpec().getTemplate().getSpec().getContainers().get(0));
    assertEquals("shield-eu", env.get("SEP_SHIELD_STREAM_APPLICATION_ID"));
    assertFalse(env.containsKey("SEP_SHIELD_STREAM_KAFKA__SASL_JAAS_CONFIG_"), "no SASL Secret reference");
    assertTrue(r.generic("TriggerAuthentication").isEmpty(), "no credentials for KEDA");
  }

  @Test
  void metadataKeepListIsNoneByDefaultAndCheckedBySchema() {
    Rendered plain = render("default", t -> t);
    assertEquals("none", plain.environment(plain.processor().getSpec().getTemplate().getSpec().getContainers().get(0))
        .get("SEP_SHIELD_STREAM_KEEP_METADATA"), "stripped unless asked for");
    Rendered kept = render("keep", t -> t.withValuesFile(valuesFile("values-keep.yaml",
        "stream: {keep-metadata: \"icc,exif\"}\n")));
    checks.check(kept, false);
    assertEquals("icc,exif", kept.environment(kept.processor().getSpec().getTemplate().getSpec().getContainers()
        .get(0)).get("SEP_SHIELD_STREAM_KEEP_METADATA"));
    Exception gps = assertThrows(Exception.class, () -> template(t -> t.withValuesFile(valuesFile(
        "values-gps.yaml", "stream: {keep-metadata: \"exif,gps\"}\n"))));
    assertTrue(gps.getMessage().contains("keep-metadata"), gps.getMessage());
  }

  private static Path valuesFile(String name, String yaml) {
    try {
      Path values = Path.of("target/deploy-tests", name);
      java.nio.file.Files.createDirectories(values.getParent());
      return java.nio.file.Files.writeString(values, yaml);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void refusesSettingsThatBreakADeployment() {
    Exception grace = assertThrows(Exception.class,
        () -> template(t -> t.set("terminationGracePeriodSeconds", "25")));
    assertTrue(grace.getMessage().contains("close-timeout"), grace.getMessage());
    Exception keda = assertThrows(Exception.class,
        () -> template(t -> t.set("keda.enabled", "true").set("keda.maxReplicaCount", "7")));
    assertTrue(keda.getMessage().contains("topic-partitions"), keda.getMessage());
    Exception replicas = assertThrows(Exception.class, () -> template(t -> t.set("replicaCount", "8")));
    assertTrue(replicas.getMessage().contains("topic-partitions"), replicas.getMessage());
    // values.schema.json: the in-process demo broker is no cluster setting, and no Allow for the CronJob.
    assertThrows(Exception.class, () -> template(t -> t.set("stream.bootstrap-servers", "embedded")));
    assertThrows(Exception.class, () -> template(t -> t.set("retrain.concurrencyPolicy", "Allow")));
    assertThrows(Exception.class, () -> template(t -> t.set("kafka.config.sasl\\.jaas\\.config", "x")));
  }
}
