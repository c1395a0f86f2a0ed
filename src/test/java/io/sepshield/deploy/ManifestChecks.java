package io.sepshield.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.quarkus.runtime.configuration.DurationConverter;
import io.sepshield.service.StreamConfig;
import io.smallrye.config.EnvConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The checks every rendering of the deployment must pass (Helm with any values, kustomize with any overlay): the
 * pods probe what the app serves, configure only what the app reads, select what they label, stop gracefully,
 * run as non-root on a read-only root filesystem, hold no secret values, and ask for GPUs only when meant to.
 */
final class ManifestChecks {
  private static final String GPU = "nvidia.com/gpu";
  private static final Pattern SECRET_NAME = Pattern.compile("PASSWORD|SECRET|JAAS|USER_INFO|TOKEN|CREDENTIAL");
  private static final Pattern SECRET_VALUE =
      Pattern.compile("(?i)password\\s*=|BEGIN [A-Z ]*PRIVATE KEY|\\bsecret\\b\\s*[:=]");
  private static final Pattern ARG_REFERENCE = Pattern.compile("\\$\\(([A-Za-z0-9_]+)\\)");

  private final AppContract app = new AppContract();

  /** Runs every check; {@code gpu} says whether this rendering is the GPU variant. */
  void check(Rendered r, boolean gpu) {
    StatefulSet sts = r.processor();
    Container processor = Rendered.container(sts.getSpec().getTemplate().getSpec());
    Map<String, String> env = r.environment(processor);

    selectorsMatchLabels(r, sts);
    probesHitWhatTheAppServes(r, sts, processor);
    environmentIsStreamConfig(r.source + " processor", env);
    bindsThroughSmallRye(r.source, env);
    staticMembershipFromPodName(processor);
    gracePeriodCoversClose(r.source, sts, env);
    nonRootReadOnly(r.source + " processor", sts.getSpec().getTemplate().getSpec(), processor, env, true);
    bundleVolumeIsShared(r, sts.getSpec().getTemplate().getSpec(), processor, env, true);
    noSecretValues(r);
    gpuOnlyWhenMeant(r, gpu);
    r.retrain().ifPresent(job -> retrainJob(r, job, env));
    keda(r, sts, env);
    serviceMonitor(r);
  }

  private static boolean selects(Map<String, String> selector, Map<String, String> labels) {
    return selector != null && !selector.isEmpty() && labels.entrySet().containsAll(selector.entrySet());
  }

  private void selectorsMatchLabels(Rendered r, StatefulSet sts) {
    Map<String, String> podLabels = sts.getSpec().getTemplate().getMetadata().getLabels();
    assertTrue(selects(sts.getSpec().getSelector().getMatchLabels(), podLabels),
        r.source + ": StatefulSet selector must match its pod labels");
    Service svc = r.one(Service.class);
    assertTrue(selects(svc.getSpec().getSelector(), podLabels), r.source + ": Service must select the processors");
    assertEquals(svc.getMetadata().getName(), sts.getSpec().getServiceName(),
        r.source + ": the StatefulSet's governing Service");
    assertEquals("None", svc.getSpec().getClusterIP(), r.source + ": the governing Service is headless");
    for (PodDisruptionBudget pdb : r.all(PodDisruptionBudget.class)) {
      assertTrue(selects(pdb.getSpec().getSelector().getMatchLabels(), podLabels),
          r.source + ": PodDisruptionBudget must select the processors");
    }
    r.retrain().ifPresent(job -> assertFalse(selects(sts.getSpec().getSelector().getMatchLabels(),
        job.getSpec().getJobTemplate().getSpec().getTemplate().getMetadata().getLabels()),
        r.source + ": the StatefulSet must not select the retraining job's pods"));
  }

  private void probesHitWhatTheAppServes(Rendered r, StatefulSet sts, Container c) {
    int port = app.httpPort();
    assertProbe(r.source + " startup", c.getStartupProbe(), app.startupPath(), c, port);
    assertProbe(r.source + " readiness", c.getReadinessProbe(), app.readinessPath(), c, port);
    assertProbe(r.source + " liveness", c.getLivenessProbe(), app.livenessPath(), c, port);
    // Quarkus' HTTP server is off for batch commands (contract with the service): serve's pods turn it on.
    assertEquals("true", r.environment(c).get("QUARKUS_HTTP_HOST_ENABLED"), r.source + ": HTTP server on");
    Service svc = r.one(Service.class);
    svc.getSpec().getPorts().forEach(p -> assertEquals(port, resolvePort(p.getTargetPort(), c),
        r.source + ": Service port " + p.getName() + " must reach the app's HTTP port"));
    Map<String, String> annotations = sts.getSpec().getTemplate().getMetadata().getAnnotations();
    if (annotations != null && annotations.containsKey("prometheus.io/scrape")) {
      assertEquals(String.valueOf(port), annotations.get("prometheus.io/port"), r.source + ": scrape port");
      assertEquals(app.metricsPath(), annotations.get("prometheus.io/path"), r.source + ": scrape path");
    }
  }

  private static void assertProbe(String what, Probe probe, String path, Container c, int port) {
    assertNotNull(probe, what + " probe missing");
    HTTPGetAction get = probe.getHttpGet();
    assertNotNull(get, what + " probe must be an HTTP GET");
    assertEquals(path, get.getPath(), what + " probe path");
    assertEquals(port, resolvePort(get.getPort(), c), what + " probe port");
  }

  /** A port by number or by the container port's name. */
  private static int resolvePort(IntOrString port, Container c) {
    if (port.getIntVal() != null) {
      return port.getIntVal();
    }
    return c.getPorts().stream().filter(p -> port.getStrVal().equals(p.getName()))
        .map(ContainerPort::getContainerPort).findFirst()
        .orElseThrow(() -> new AssertionError("no container port named " + port.getStrVal()));
  }

  /** Every SEP_SHIELD_STREAM_* name is a StreamConfig property (or a Kafka setting of its kafka() map). */
  void environmentIsStreamConfig(String what, Map<String, String> env) {
    Map<String, Method> known = AppContract.streamEnvKeys();
    assertTrue(known.containsKey(AppContract.ENV_PREFIX + "KAFKA"), "StreamConfig.kafka() expected");
    List<String> unknown = new ArrayList<>();
    for (String name : env.keySet()) {
      if (!name.startsWith(AppContract.ENV_PREFIX)) {
        continue;
      }
      boolean kafkaSetting = name.startsWith(AppContract.KAFKA_ENV_PREFIX) && name.endsWith("_")
          && name.length() > AppContract.KAFKA_ENV_PREFIX.length() + 1;
      if (!kafkaSetting && !known.containsKey(name)) {
        unknown.add(name);
      }
    }
    assertTrue(unknown.isEmpty(), what + ": environment the app does not read: " + unknown
        + " (StreamConfig has " + known.keySet() + ")");
  }

  /**
   * The rendered environment, fed to SmallRye Config with the real mapping: values convert and quoted Kafka keys
   * arrive as the client settings they name.
   */
  private void bindsThroughSmallRye(String source, Map<String, String> env) {
    Map<String, String> values = new HashMap<>();
    env.forEach((k, v) -> {
      if (k.startsWith(AppContract.ENV_PREFIX)) {
        values.put(k, v.startsWith("<from ") ? "placeholder" : v);
      }
    });
    // Quarkus' own converter for durations ("20s" as well as ISO-8601), as at run time.
    SmallRyeConfig config = new SmallRyeConfigBuilder().withMapping(StreamConfig.class)
        .withConverter(Duration.class, 200, new DurationConverter())
        .withSources(new EnvConfigSource(values, 300)).build();
    StreamConfig stream = config.getConfigMapping(StreamConfig.class);
    values.forEach((k, v) -> {
      if (k.startsWith(AppContract.KAFKA_ENV_PREFIX)) {
        String setting = k.substring(AppContract.KAFKA_ENV_PREFIX.length(), k.length() - 1).toLowerCase()
            .replace('_', '.');
        assertEquals(v, stream.kafka().get(setting), source + ": " + k + " must reach the Kafka client as "
            + setting + " (got " + stream.kafka() + ")");
      }
    });
    if (values.containsKey("SEP_SHIELD_STREAM_TOPIC_PARTITIONS")) {
      assertEquals(Integer.parseInt(values.get("SEP_SHIELD_STREAM_TOPIC_PARTITIONS")), stream.topicPartitions());
    }
    if (values.containsKey("SEP_SHIELD_STREAM_CLOSE_TIMEOUT")) {
      assertEquals(AppContract.duration(values.get("SEP_SHIELD_STREAM_CLOSE_TIMEOUT")), stream.closeTimeout());
    }
  }

  private static void staticMembershipFromPodName(Container c) {
    EnvVar id = c.getEnv().stream().filter(e -> e.getName().equals("SEP_SHIELD_STREAM_GROUP_INSTANCE_ID"))
        .findFirst().orElseThrow(() -> new AssertionError("no SEP_SHIELD_STREAM_GROUP_INSTANCE_ID"));
    assertEquals("metadata.name", id.getValueFrom().getFieldRef().getFieldPath(),
        "group.instance.id must be the stable pod name");
  }

  static Duration closeTimeout(Map<String, String> env) {
    String v = env.get("SEP_SHIELD_STREAM_CLOSE_TIMEOUT");
    return AppContract.duration(v != null ? v : AppContract.streamDefault("close-timeout").orElseThrow());
  }

  private static void gracePeriodCoversClose(String source, StatefulSet sts, Map<String, String> env) {
    Long grace = sts.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds();
    assertNotNull(grace, source + ": terminationGracePeriodSeconds must be set (30 s default)");
    Duration needed = closeTimeout(env).plusSeconds(10);
    assertTrue(grace > needed.toSeconds(), source + ": terminationGracePeriodSeconds " + grace
        + " must exceed close-timeout + 10 s = " + needed.toSeconds() + " s");
  }

  private static boolean mountedAt(Container c, String path) {
    return c.getVolumeMounts().stream().anyMatch(m -> path.equals(m.getMountPath())
        || path.startsWith(m.getMountPath().endsWith("/") ? m.getMountPath() : m.getMountPath() + "/"));
  }

  /** {@code serve} also writes the Kafka Streams state directory; {@code train} does not run Streams. */
  private static void nonRootReadOnly(String what, PodSpec pod, Container c, Map<String, String> env,
      boolean streams) {
    assertEquals(Boolean.TRUE, pod.getSecurityContext().getRunAsNonRoot(), what + ": runAsNonRoot");
    assertNotNull(pod.getSecurityContext().getRunAsUser(), what + ": a numeric user");
    assertEquals(Boolean.TRUE, c.getSecurityContext().getReadOnlyRootFilesystem(), what + ": read-only root");
    assertEquals(Boolean.FALSE, c.getSecurityContext().getAllowPrivilegeEscalation(), what + ": no escalation");
    assertTrue(c.getSecurityContext().getCapabilities().getDrop().contains("ALL"), what + ": drop ALL");
    // What the app writes must be a volume when the root filesystem is read-only.
    assertTrue(mountedAt(c, "/tmp"), what + ": /tmp must be writable");
    String stateDir = env.get("SEP_SHIELD_STREAM_STATE_DIR");
    if (streams && stateDir != null) {
      assertTrue(mountedAt(c, stateDir), what + ": state dir " + stateDir + " must be a volume");
    }
  }

  /** The bundle path is on a ReadWriteMany claim shared by every pod; the processor only reads it. */
  private static void bundleVolumeIsShared(Rendered r, PodSpec pod, Container c, Map<String, String> env,
      boolean readOnly) {
    String bundle = env.get("SEP_SHIELD_STREAM_BUNDLE");
    assertNotNull(bundle, r.source + ": SEP_SHIELD_STREAM_BUNDLE must name the shared volume");
    VolumeMount mount = c.getVolumeMounts().stream()
        .filter(m -> bundle.equals(m.getMountPath()) || bundle.startsWith(m.getMountPath() + "/")).findFirst()
        .orElseThrow(() -> new AssertionError(r.source + ": bundle path " + bundle + " is not a volume"));
    if (readOnly) {
      assertEquals(Boolean.TRUE, mount.getReadOnly(), r.source + ": the processor only reads bundles");
    }
    Volume v = pod.getVolumes().stream().filter(x -> x.getName().equals(mount.getName())).findFirst().orElseThrow();
    assertNotNull(v.getPersistentVolumeClaim(), r.source + ": bundles need a claim shared by every pod");
    String claim = v.getPersistentVolumeClaim().getClaimName();
    r.all(PersistentVolumeClaim.class).stream().filter(p -> p.getMetadata().getName().equals(claim))
        .forEach(p -> assertTrue(p.getSpec().getAccessModes().contains("ReadWriteMany"),
            r.source + ": claim " + claim + " must be ReadWriteMany"));
  }

  private static void noSecretValues(Rendered r) {
    assertTrue(r.all(Secret.class).isEmpty(), r.source + ": no Secret objects (references only)");
    for (var cm : r.all(io.fabric8.kubernetes.api.model.ConfigMap.class)) {
      cm.getData().forEach((k, v) -> {
        assertFalse(SECRET_NAME.matcher(k).find(), r.source + ": ConfigMap key " + k + " looks secret");
        assertFalse(SECRET_VALUE.matcher(v).find(), r.source + ": ConfigMap value of " + k + " looks secret");
      });
    }
    for (PodSpec pod : pods(r)) {
      for (Container c : pod.getContainers()) {
        for (EnvVar e : c.getEnv()) {
          if (SECRET_NAME.matcher(e.getName()).find()) {
            assertNull(e.getValue(), r.source + ": " + e.getName() + " must come from a Secret, not a value");
            assertNotNull(e.getValueFrom().getSecretKeyRef(), r.source + ": " + e.getName() + " secretKeyRef");
          }
        }
      }
    }
  }

  private static List<PodSpec> pods(Rendered r) {
    List<PodSpec> pods = new ArrayList<>();
    r.all(StatefulSet.class).forEach(s -> pods.add(s.getSpec().getTemplate().getSpec()));
    r.all(CronJob.class).forEach(j -> pods.add(j.getSpec().getJobTemplate().getSpec().getTemplate().getSpec()));
    return pods;
  }

  private static boolean asksForGpu(Container c) {
    var res = c.getResources();
    return res != null && ((res.getLimits() != null && res.getLimits().containsKey(GPU))
        || (res.getRequests() != null && res.getRequests().containsKey(GPU)));
  }

  private static void gpuOnlyWhenMeant(Rendered r, boolean gpu) {
    for (PodSpec pod : pods(r)) {
      Container c = Rendered.container(pod);
      boolean tolerates = pod.getTolerations() != null
          && pod.getTolerations().stream().anyMatch(t -> GPU.equals(t.getKey()));
      if (gpu) {
        Quantity q = c.getResources().getLimits().get(GPU);
        assertNotNull(q, r.source + ": " + c.getName() + " must ask for a GPU in limits");
        assertTrue(Integer.parseInt(q.getAmount()) >= 1, r.source + ": at least one GPU");
        assertTrue(tolerates, r.source + ": " + c.getName() + " must tolerate the GPU taint");
        assertNotNull(pod.getNodeSelector(), r.source + ": GPU pods need a nodeSelector");
        assertTrue(c.getImage().endsWith("-gpu"), r.source + ": GPU pods run the CUDA image, not " + c.getImage());
      } else {
        assertFalse(asksForGpu(c), r.source + ": " + c.getName() + " asks for a GPU in a CPU rendering");
        assertFalse(tolerates, r.source + ": GPU toleration in a CPU rendering");
        assertFalse(c.getImage().endsWith("-gpu"), r.source + ": CPU pods run the CPU image");
      }
    }
    String device = r.environment(Rendered.container(r.processor().getSpec().getTemplate().getSpec()))
        .getOrDefault("SEP_SHIELD_STREAM_DEVICE", AppContract.streamDefault("device").orElseThrow());
    if (gpu) {
      assertTrue(device.startsWith("gpu"), r.source + ": GPU pods must not fall back to the CPU: device=" + device);
    } else {
      assertFalse(device.startsWith("gpu"), r.source + ": device=" + device + " without a GPU");
    }
  }

  private void retrainJob(Rendered r, CronJob job, Map<String, String> processorEnv) {
    String what = r.source + " retraining CronJob";
    assertEquals("Forbid", job.getSpec().getConcurrencyPolicy(), what + ": runs must not overlap");
    JobSpec spec = job.getSpec().getJobTemplate().getSpec();
    assertNotNull(spec.getBackoffLimit(), what + ": backoffLimit");
    assertNotNull(spec.getActiveDeadlineSeconds(), what + ": activeDeadlineSeconds");
    assertNotNull(spec.getTtlSecondsAfterFinished(), what + ": ttlSecondsAfterFinished");
    PodTemplateSpec template = spec.getTemplate();
    assertEquals("Never", template.getSpec().getRestartPolicy(), what + ": retries are the Job's");
    Container c = Rendered.container(template.getSpec());
    Map<String, String> env = r.environment(c);
    environmentIsStreamConfig(what, env);
    nonRootReadOnly(what, template.getSpec(), c, env, false);
    bundleVolumeIsShared(r, template.getSpec(), c, env, false);
    List<String> args = c.getArgs();
    assertEquals("train", args.get(0), what + ": runs train");
    assertTrue(args.contains("--publish-to") && args.contains("--schema-registry-url"),
        what + ": publishes BundleUpdated so the processors hot-swap");
    // $(VAR) in args is expanded by Kubernetes only from the container's environment: an unknown name stays
    // literal and train would get "$(...)" as a bootstrap server.
    for (String arg : args) {
      Matcher m = ARG_REFERENCE.matcher(arg);
      while (m.find()) {
        assertTrue(env.containsKey(m.group(1)), what + ": " + arg + " refers to a variable it does not have");
      }
    }
    String out = args.get(args.indexOf("--out") + 1);
    assertEquals("$(SEP_SHIELD_STREAM_BUNDLE)", out, what + ": bundles go where the processors read them");
    assertEquals(processorEnv.get("SEP_SHIELD_STREAM_BUNDLE"), env.get("SEP_SHIELD_STREAM_BUNDLE"),
        what + ": the same bundle path as the processors (BundleUpdated names an absolute path)");
    String publishTo = args.get(args.indexOf("--publish-to") + 1);
    assertEquals("$(SEP_SHIELD_STREAM_BOOTSTRAP_SERVERS)", publishTo, what + ": the processors' cluster");
  }

  private static void keda(Rendered r, StatefulSet sts, Map<String, String> env) {
    List<GenericKubernetesResource> scaled = r.generic("ScaledObject");
    if (scaled.isEmpty()) {
      return;
    }
    assertEquals(1, scaled.size());
    Map<String, Object> spec = spec(scaled.get(0));
    @SuppressWarnings("unchecked")
    Map<String, Object> target = (Map<String, Object>) spec.get("scaleTargetRef");
    assertEquals("StatefulSet", target.get("kind"), r.source + ": KEDA scales the StatefulSet");
    assertEquals(sts.getMetadata().getName(), target.get("name"), r.source + ": KEDA target name");
    assertNull(sts.getSpec().getReplicas(), r.source + ": with KEDA the StatefulSet must not set replicas");
    @SuppressWarnings("unchecked")
    Map<String, Object> trigger = ((List<Map<String, Object>>) spec.get("triggers")).get(0);
    assertEquals("kafka", trigger.get("type"));
    @SuppressWarnings("unchecked")
    Map<String, Object> meta = (Map<String, Object>) trigger.get("metadata");
    String appId = env.getOrDefault("SEP_SHIELD_STREAM_APPLICATION_ID",
        AppContract.streamDefault("application-id").orElseThrow());
    assertEquals(appId, meta.get("consumerGroup"), r.source + ": the consumer group is the application id");
    String uploads = env.getOrDefault("SEP_SHIELD_STREAM_UPLOADS_TOPIC",
        AppContract.streamDefault("uploads-topic").orElseThrow());
    assertEquals(uploads, meta.get("topic"), r.source + ": lag on the uploads topic");
    int partitions = Integer.parseInt(env.getOrDefault("SEP_SHIELD_STREAM_TOPIC_PARTITIONS",
        AppContract.streamDefault("topic-partitions").orElseThrow()));
    int max = ((Number) spec.get("maxReplicaCount")).intValue();
    assertTrue(max <= partitions, r.source + ": maxReplicaCount " + max + " > " + partitions + " partitions");
    Object authRef = trigger.get("authenticationRef");
    if (authRef != null) {
      @SuppressWarnings("unchecked")
      String name = (String) ((Map<String, Object>) authRef).get("name");
      assertTrue(r.generic("TriggerAuthentication").stream().anyMatch(t -> t.getMetadata().getName().equals(name)),
          r.source + ": TriggerAuthentication " + name + " rendered");
    }
  }

  private void serviceMonitor(Rendered r) {
    for (GenericKubernetesResource sm : r.generic("ServiceMonitor")) {
      Map<String, Object> spec = spec(sm);
      Service svc = r.one(Service.class);
      @SuppressWarnings("unchecked")
      Map<String, String> match = (Map<String, String>) ((Map<String, Object>) spec.get("selector"))
          .get("matchLabels");
      assertTrue(selects(match, svc.getMetadata().getLabels()), r.source + ": ServiceMonitor selects the Service");
      @SuppressWarnings("unchecked")
      Map<String, Object> endpoint = ((List<Map<String, Object>>) spec.get("endpoints")).get(0);
      assertEquals(app.metricsPath(), endpoint.get("path"), r.source + ": ServiceMonitor path");
      assertTrue(svc.getSpec().getPorts().stream().anyMatch(p -> p.getName().equals(endpoint.get("port"))),
          r.source + ": ServiceMonitor port is a Service port name");
    }
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> spec(GenericKubernetesResource g) {
    Object spec = g.getAdditionalProperties().get("spec");
    if (!(spec instanceof Map)) {
      fail(g.getKind() + " without spec");
    }
    return (Map<String, Object>) spec;
  }
}
