package io.sepshield.registry;

import java.util.Collection;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.kafka.common.config.ConfigException;

/** Configuration keys, spelled exactly as Confluent's serdes spell them, and their parsing. */
public final class AvroSerdeConfig {
  /** Comma-separated registry URLs, tried in turn when one is unreachable. */
  public static final String SCHEMA_REGISTRY_URL = "schema.registry.url";
  /** Register the record's schema on first use (default true). */
  public static final String AUTO_REGISTER_SCHEMAS = "auto.register.schemas";
  /** With auto-registration off: write with the subject's latest schema (default false). */
  public static final String USE_LATEST_VERSION = "use.latest.version";
  /** URL (default: user info in the registry URL) or USER_INFO (use {@link #BASIC_AUTH_USER_INFO}). */
  public static final String BASIC_AUTH_CREDENTIALS_SOURCE = "basic.auth.credentials.source";
  /** "user:password" for basic auth when the source is USER_INFO. */
  public static final String BASIC_AUTH_USER_INFO = "basic.auth.user.info";
  /** Deserialize into generated SpecificRecord classes instead of GenericRecord (default false). */
  public static final String SPECIFIC_AVRO_READER = "specific.avro.reader";

  private AvroSerdeConfig() {}

  /** Confluent's TopicNameStrategy. */
  public static String subject(String topic, boolean isKey) {
    return topic + (isKey ? "-key" : "-value");
  }

  static boolean bool(Map<String, ?> configs, String key, boolean defaultValue) {
    Object value = configs.get(key);
    if (value == null) {
      return defaultValue;
    }
    if (value instanceof Boolean b) {
      return b;
    }
    String s = value.toString().trim().toLowerCase(Locale.ROOT);
    if (s.equals("true") || s.equals("false")) {
      return Boolean.parseBoolean(s);
    }
    throw new ConfigException(key, value, "Expected true or false");
  }

  /** A string value; Kafka hands LIST-typed settings such as the URL over as collections. */
  static String string(Map<String, ?> configs, String key) {
    Object value = configs.get(key);
    if (value instanceof Collection<?> c) {
      return c.stream().map(Object::toString).collect(Collectors.joining(","));
    }
    return value == null ? null : value.toString();
  }
}
