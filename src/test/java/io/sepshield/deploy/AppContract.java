package io.sepshield.deploy;

import io.sepshield.service.StreamConfig;
import io.smallrye.config.WithDefault;
import io.smallrye.config.WithName;
import java.io.IOException;
import java.io.Reader;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeMap;

/**
 * What the application serves and reads, taken from the application itself (application.properties over Quarkus'
 * defaults, the {@link StreamConfig} mapping), so that the manifest tests never restate it.
 */
final class AppContract {
  static final String ENV_PREFIX = "SEP_SHIELD_STREAM_";
  /** sep-shield.stream.kafka."<setting>" in environment form: "__" opens the quoted key, "_" closes it. */
  static final String KAFKA_ENV_PREFIX = ENV_PREFIX + "KAFKA__";

  private final Properties properties = new Properties();

  AppContract() {
    try (Reader in = Files.newBufferedReader(Path.of("src/main/resources/application.properties"))) {
      properties.load(in);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read application.properties", e);
    }
  }

  /** A Quarkus property for the prod profile (what a pod runs), else its default. */
  String quarkus(String key, String quarkusDefault) {
    return properties.getProperty("%prod." + key, properties.getProperty(key, quarkusDefault));
  }

  int httpPort() {
    return Integer.parseInt(quarkus("quarkus.http.port", "8080"));
  }

  private String nonApplicationPath(String path) {
    String root = quarkus("quarkus.http.non-application-root-path", "q");
    String rootPath = quarkus("quarkus.http.root-path", "/");
    return join(join(rootPath, root), path);
  }

  private String healthPath(String kind, String quarkusDefault) {
    String health = nonApplicationPath(quarkus("quarkus.smallrye-health.root-path", "health"));
    return join(health, quarkus("quarkus.smallrye-health." + kind + "-path", quarkusDefault));
  }

  String livenessPath() {
    return healthPath("liveness", "live");
  }

  String readinessPath() {
    return healthPath("readiness", "ready");
  }

  String startupPath() {
    return healthPath("startup", "started");
  }

  String metricsPath() {
    return nonApplicationPath(quarkus("quarkus.micrometer.export.prometheus.path", "metrics"));
  }

  /** Joins URL paths; an absolute second part stands alone, as in Quarkus' path resolution. */
  private static String join(String base, String path) {
    if (path.startsWith("/")) {
      return path;
    }
    return (base.endsWith("/") ? base : base + "/") + path;
  }

  /** The environment form of every StreamConfig property, with the method behind it. */
  static Map<String, Method> streamEnvKeys() {
    Map<String, Method> keys = new TreeMap<>();
    for (Method m : StreamConfig.class.getMethods()) {
      if (Modifier.isStatic(m.getModifiers()) || m.isDefault() || m.getParameterCount() > 0) {
        continue;
      }
      keys.put(ENV_PREFIX + envForm(propertyName(m)), m);
    }
    return keys;
  }

  /** The property name SmallRye gives a mapping method: @WithName, else camelCase in kebab-case. */
  static String propertyName(Method m) {
    WithName name = m.getAnnotation(WithName.class);
    return name != null ? name.value() : m.getName().replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase();
  }

  /** MicroProfile Config's environment form: every non-alphanumeric character as '_', upper case. */
  static String envForm(String propertyName) {
    return propertyName.replaceAll("[^A-Za-z0-9]", "_").toUpperCase();
  }

  /** A StreamConfig default (@WithDefault) by property name. */
  static Optional<String> streamDefault(String propertyName) {
    for (Method m : StreamConfig.class.getMethods()) {
      if (!Modifier.isStatic(m.getModifiers()) && propertyName(m).equals(propertyName)) {
        WithDefault d = m.getAnnotation(WithDefault.class);
        return Optional.ofNullable(d).map(WithDefault::value);
      }
    }
    throw new AssertionError("StreamConfig has no property " + propertyName);
  }

  /** A duration as SmallRye reads it: ISO-8601 (PT20S) or a number with a unit (20s, 2m, 500ms). */
  static Duration duration(String value) {
    String v = value.trim();
    if (v.toUpperCase().startsWith("P")) {
      return Duration.parse(v);
    }
    if (v.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
    }
    long n = Long.parseLong(v.substring(0, v.length() - 1));
    return switch (v.charAt(v.length() - 1)) {
      case 's' -> Duration.ofSeconds(n);
      case 'm' -> Duration.ofMinutes(n);
      case 'h' -> Duration.ofHours(n);
      case 'd' -> Duration.ofDays(n);
      default -> Duration.ofSeconds(Long.parseLong(v));
    };
  }
}
