package io.sepshield.service;

import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Redaction for anything that prints configuration: Kafka client settings ({@code sasl.jaas.config}, {@code
 * ssl.*.password}), registry credentials ({@code basic.auth.user.info}, {@code user:pass@} in URLs), tokens. Kafka
 * hides its own PASSWORD-typed settings in its logs; this covers our own messages, {@code toString()}s and dumps.
 */
public final class Secrets {
  public static final String HIDDEN = "[hidden]";
  // Names whose values are secrets, in any of the spellings config uses (dots, dashes, underscores, camel case).
  private static final Pattern SECRET_KEY = Pattern.compile(
      "(?i).*(password|passwd|secret|jaas|token|credential|user[._-]?info|api[._-]?key|private[._-]?key"
          + "|keystore[._-]?key|ssl[._-]?key[._-]?password|authorization|bearer).*");
  private static final Pattern URL_USER_INFO = Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)[^/@\\s,]+@");

  private Secrets() {}

  /** Whether a setting of this name holds a secret. */
  public static boolean isSecret(String key) {
    return key != null && SECRET_KEY.matcher(key).matches();
  }

  /** The text with credentials in URLs ({@code scheme://user:pass@host}) replaced by {@value #HIDDEN}. */
  public static String redactUrls(String text) {
    return text == null ? null
        : URL_USER_INFO.matcher(text).replaceAll("$1" + Matcher.quoteReplacement(HIDDEN) + "@");
  }

  /** A copy, sorted by key, safe to print: secret values hidden, URL credentials removed from the rest. */
  public static Map<String, Object> redact(Map<String, ?> config) {
    Map<String, Object> out = new TreeMap<>();
    config.forEach((k, v) -> out.put(k, v == null ? null : isSecret(k) ? HIDDEN : redactUrls(v.toString())));
    return out;
  }

  /** {@code key=value, ...} of {@link #redact}, for one log line. */
  public static String toString(Map<String, ?> config) {
    return redact(config).toString();
  }
}
