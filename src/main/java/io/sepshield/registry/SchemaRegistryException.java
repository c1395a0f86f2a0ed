package io.sepshield.registry;

/**
 * A schema registry request failed. Carries the HTTP status and the Confluent error code from the
 * response body (for example {@value #SUBJECT_NOT_FOUND} or {@value #INCOMPATIBLE_SCHEMA}) so that
 * callers can react to specific failures without parsing messages.
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

  public SchemaRegistryException(int status, int errorCode, String message) {
    this(status, errorCode, message, null);
  }

  public SchemaRegistryException(int status, int errorCode, String message, Throwable cause) {
    super(message + (errorCode == NO_RESPONSE ? "" : "; error code: " + errorCode), cause);
    this.status = status;
    this.errorCode = errorCode;
  }

  /** HTTP status, or {@link #NO_RESPONSE}. */
  public int status() {
    return status;
  }

  /** Confluent error code from the response body; the HTTP status when the body carried none. */
  public int errorCode() {
    return errorCode;
  }

  /** True when the registry could not be reached, i.e. retrying later may succeed. */
  public boolean isUnreachable() {
    return errorCode == NO_RESPONSE;
  }

  /** True when {@code e} or one of its causes says the registry was unreachable: an outage to wait out, not bad data. */
  public static boolean isOutage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SchemaRegistryException r && r.isUnreachable()) {
        return true;
      }
    }
    return false;
  }
}
