package io.sepshield.deploy;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** Rendered manifests (helm template or kustomize output) as typed fabric8 objects, with lookups. */
final class Rendered {
  private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

  final String source;
  final List<HasMetadata> objects;

  private Rendered(String source, List<HasMetadata> objects) {
    this.source = source;
    this.objects = objects;
  }

  /** Parses multi-document YAML; kinds without a model class (KEDA, Prometheus Operator) stay generic. */
  static Rendered parse(String source, String yaml) {
    List<HasMetadata> objects = new ArrayList<>();
    // Helm separates documents with "---" plus a "# Source:" comment; empty documents are skipped.
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.lines().allMatch(l -> l.isBlank() || l.trim().startsWith("#"))) {
        continue;
      }
      Object o = SERIALIZATION.unmarshal(doc);
      if (o instanceof KubernetesList list) {
        objects.addAll(list.getItems());
      } else if (o instanceof List<?> list) {
        list.forEach(i -> objects.add((HasMetadata) i));
      } else {
        objects.add((HasMetadata) o);
      }
    }
    if (objects.isEmpty()) {
      throw new AssertionError(source + " rendered nothing");
    }
    return new Rendered(source, objects);
  }

  <T extends HasMetadata> List<T> all(Class<T> type) {
    return objects.stream().filter(type::isInstance).map(type::cast).collect(Collectors.toList());
  }

  <T extends HasMetadata> T one(Class<T> type) {
    List<T> found = all(type);
    if (found.size() != 1) {
      throw new AssertionError(source + ": expected one " + type.getSimpleName() + ", found " + found.size());
    }
    return found.get(0);
  }

  List<GenericKubernetesResource> generic(String kind) {
    return all(GenericKubernetesResource.class).stream().filter(g -> kind.equals(g.getKind()))
        .collect(Collectors.toList());
  }

  List<String> kinds() {
    return objects.stream().map(HasMetadata::getKind).sorted().distinct().collect(Collectors.toList());
  }

  StatefulSet processor() {
    return one(StatefulSet.class);
  }

  Optional<CronJob> retrain() {
    List<CronJob> jobs = all(CronJob.class);
    return jobs.isEmpty() ? Optional.empty() : Optional.of(jobs.get(0));
  }

  static Container container(PodSpec pod) {
    if (pod.getContainers().size() != 1) {
      throw new AssertionError("expected one container, found " + pod.getContainers().size());
    }
    return pod.getContainers().get(0);
  }

  /**
   * The environment a container starts with, as Kubernetes builds it: envFrom ConfigMaps first, then env
   * (references to Secrets or the pod's fields as placeholders, since they have no value here).
   */
  Map<String, String> environment(Container c) {
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvFromSource from : c.getEnvFrom()) {
      if (from.getConfigMapRef() != null) {
        ConfigMap cm = configMap(from.getConfigMapRef().getName());
        env.putAll(cm.getData());
      }
    }
    for (EnvVar e : c.getEnv()) {
      env.put(e.getName(), e.getValue() != null ? e.getValue() : "<from " + describe(e) + ">");
    }
    return env;
  }

  private static String describe(EnvVar e) {
    var from = e.getValueFrom();
    if (from == null) {
      return "nothing";
    }
    if (from.getSecretKeyRef() != null) {
      return "secret " + from.getSecretKeyRef().getName();
    }
    if (from.getFieldRef() != null) {
      return "field " + from.getFieldRef().getFieldPath();
    }
    return "reference";
  }

  ConfigMap configMap(String name) {
    return all(ConfigMap.class).stream().filter(c -> c.getMetadata().getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError(source + ": envFrom names ConfigMap " + name + ", not rendered"));
  }
}
