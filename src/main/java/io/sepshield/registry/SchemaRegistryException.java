package io.sepshield.registry;

import java.time.Duration;
import java.util.Optional;

/**
 * A schema registry request failed. Carries the HTTP status and the Confluent error code from the
 * response body (for example {@value #SUBJECT_NOT_FOUND} or {@value #INCOMPATIBLE_SCHEMA}) so that
 * callers can react to specific failures without parsing messages.
 *
 * <p>{@link #isRetriable()} separates a definitive answer of the registry about the request (unknown
 * id or subject, invalid or incompatible schema) from a failure to get one: no connection, 5xx, 401/403
 * (credentials being rotated, an ingress), 408, 429, or an error page that did not come from the
 * registry. Data must only be judged bad on a definitive answer.
 */
public class SchemaRegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** No HTTP response at all: every configured registry URL was unreachable. */
  public static final int NO_RESPONSE = -1;
  public static final int UNAUTHORIZED = 40101;
  public static final int SUBJECT_NOT_FOUND = 40401;
  public static final int VERSION_NOT_FOUND = 40402;
  public static final int SCHEMA_NOT_FOUND = 40403;
  public static final int SUBJECT_LEVEL_COMPATIBILITY_NOT_CONFIGURED = 40408;
  public static final int INCOMPATIBLE_SCHEMA = 409;
  public static final int INVALID_SCHEMA = 42201;
  public static final int INVALID_VERSION = 42202;
  public static final int INVALID_COMPATIBILITY_LEVEL = 42203;

  private final int status;
  private final int errorCode;
  private final boolean retriable;
  private final transient Duration retryAfter;

  /** A registry answer (error body with an error code), or {@link #NO_RESPONSE}. */
  public SchemaRegistryException(int status, int errorCode, String message) {
    this(status, errorCode, message, null);
  }

  public SchemaRegistryException(int status, int errorCode, String message, Throwable cause) {
    this(status, errorCode, message, cause, status == NO_RESPONSE || retriableStatus(status, true), null);
  }

  /**
   * @param retriable whether asking again later may give another answer
   * @param retryAfter what the server's Retry-After asked for, or null
   */
  public SchemaRegistryException(int status, int errorCode, String message, Throwable cause, boolean retriable,
      Duration retryAfter) {
    super(message + (errorCode == NO_RESPONSE ? "" : "; error code: " + errorCode), cause);
    this.status = status;
    this.errorCode = errorCode;
    this.retriable = retriable;
    this.retryAfter = retryAfter;
  }

  /**
   * Whether an HTTP status may change on retry. 5xx: the registry or its backing store is failing; 401/403: a
   * credential or policy problem of ours, never the data's; 408/429: timeout and throttling. A 4xx without the
   * registry's own JSON error body ({@code registryBody} false) came from something in front of it (an ingress's
   * 404 page while the registry is redeployed) and is no verdict either.
   */
  public static boolean retriableStatus(int status, boolean registryBody) {
    if (status >= 500 || status == 401 || status == 403 || status == 408 || status == 429) {
      return true;
    }
    return status / 100 == 4 ? !registryBody : status / 100 != 2;
  }

  /** True when some cause in {@code e}'s chain is a retriable registry failure: an outage, never bad data. */
  public static boolean retriableCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SchemaRegistryException r && r.isRetriable()) {
        return true;
      }
    }
    return false;
  }

  /** HTTP status, or {@link #NO_RESPONSE}. */
  public int status() {
    return status;
  }

  /** Confluent error code from the response body; the HTTP status when the body carried none. */
  public int errorCode() {
    return errorCode;
  }

  /** True when the registry could not be reached at all (no HTTP answer). */
  public boolean isUnreachable() {
    return errorCode == NO_RESPONSE;
  }

  /** True when retrying later may succeed: no definitive answer from the registry (see the class comment). */
  public boolean isRetriable() {
    return retriable;
  }

  /** The delay the server asked for (Retry-After of a 429 or 503), if any. */
  public Optional<Duration> retryAfter() {
    return Optional.ofNullable(retryAfter);
  }
}
