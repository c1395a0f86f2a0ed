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
  /**
   * With {@link #USE_LATEST_VERSION}: refuse a latest schema that cannot read records written with the record's own
   * schema (default true), checked once per subject instead of failing record by record.
   */
  public static final String LATEST_COMPATIBILITY_STRICT = "latest.compatibility.strict";
  /** Retries of a retriable registry failure (default 3; Confluent's name). */
  public static final String MAX_RETRIES = "max.retries";
  /** First backoff in ms, doubled per retry, with jitter (default 1000). */
  public static final String RETRIES_WAIT_MS = "retries.wait.ms";
  /** Cap on one backoff and on a server's Retry-After, in ms (default 20000). */
  public static final String RETRIES_MAX_WAIT_MS = "retries.max.wait.ms";
  /** Seconds an unknown schema id is answered from the cache (default 60 here; Confluent's default is 0). */
  public static final String MISSING_ID_CACHE_TTL_SEC = "missing.id.cache.ttl.sec";
  /** Unknown ids remembered (default 10000). */
  public static final String MISSING_CACHE_SIZE = "missing.cache.size";
  /** Lookups of uncached schema ids at once (default 4; ours, Confluent has none). */
  public static final String LOOKUPS_MAX_CONCURRENT = "schema.registry.lookups.max.concurrent";
  /** Lookups of uncached schema ids per second, on average (default 50; ours). */
  public static final String LOOKUPS_PER_SECOND = "schema.registry.lookups.per.second";

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

  static int integer(Map<String, ?> configs, String key, int defaultValue) {
    Object value = configs.get(key);
    if (value == null) {
      return defaultValue;
    }
    if (value instanceof Number n) {
      return n.intValue();
    }
    try {
      return Integer.parseInt(value.toString().trim());
    } catch (NumberFormatException e) {
      throw new ConfigException(key, value, "Expected an integer");
    }
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
