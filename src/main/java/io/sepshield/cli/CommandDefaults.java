package io.sepshield.cli;

import java.util.Map;
import java.util.Set;
import org.eclipse.microprofile.config.spi.ConfigSource;

/**
 * Configuration defaults that depend on the command: {@code serve} turns on Quarkus' HTTP server (probes and
 * metrics) and its start-up log lines, which application.properties keeps off so that batch commands (train,
 * protect, evaluate, demo) print nothing but their own output and bind no port.
 *
 * <p>Ordinal 260: above application.properties (250), below environment variables (300) and system properties
 * (400), so {@code QUARKUS_HTTP_HOST_ENABLED=false} or {@code -Dquarkus.http.port=9000} still decide.
 * {@link SepShieldMain} selects the command before Quarkus starts.
 */
public final class CommandDefaults implements ConfigSource {
  static final int ORDINAL = 260;
  private static final Map<String, String> SERVE = Map.of(
      "quarkus.http.host-enabled", "true",
      "quarkus.log.category.\"io.quarkus\".level", "INFO");
  private static final Set<String> INFO_ONLY = Set.of("-h", "--help", "-V", "--version");

  private static volatile Map<String, String> selected = Map.of();

  /** Picks the defaults for the command in {@code args} (the first argument that is not an option). */
  static void select(String... args) {
    String command = null;
    for (String a : args) {
      if (INFO_ONLY.contains(a)) {
        selected = Map.of(); // help and version run no service
        return;
      }
      if (command == null && !a.startsWith("-")) {
        command = a;
      }
    }
    selected = "serve".equals(command) ? SERVE : Map.of();
  }

  @Override
  public Map<String, String> getProperties() {
    return selected;
  }

  @Override
  public Set<String> getPropertyNames() {
    return selected.keySet();
  }

  @Override
  public String getValue(String name) {
    return selected.get(name);
  }

  @Override
  public String getName() {
    return "sep-shield command defaults";
  }

  @Override
  public int getOrdinal() {
    return ORDINAL;
  }
}
