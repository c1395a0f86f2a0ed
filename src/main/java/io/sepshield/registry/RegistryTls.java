package io.sepshield.registry;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.security.ssl.DefaultSslEngineFactory;

/**
 * TLS for the registry client from Confluent's {@code schema.registry.ssl.*} settings, which are Kafka's client
 * {@code ssl.*} settings under that prefix: truststore and keystore as JKS, PKCS12 or PEM (file or inline), their
 * passwords, protocol, and {@code ssl.endpoint.identification.algorithm} ({@code https}, the default, checks the
 * host name; empty turns the check off). Kafka's own {@link DefaultSslEngineFactory} reads the stores, as
 * Confluent's client does, so the settings mean exactly what they mean for the Kafka clients.
 */
public final class RegistryTls {
  /** Prefix of every TLS setting in serde configuration. */
  public static final String PREFIX = "schema.registry.";

  private RegistryTls() {}

  /** The TLS context for the registry, or null when no {@code schema.registry.ssl.*} setting is given. */
  public static SSLContext sslContext(Map<String, ?> configs) {
    Map<String, Object> ssl = new HashMap<>();
    configs.forEach((k, v) -> {
      if (k.startsWith(PREFIX + "ssl.") && v != null) {
        ssl.put(k.substring(PREFIX.length()), v);
      }
    });
    if (ssl.isEmpty()) {
      return null;
    }
    Map<String, Object> parsed = new ConfigDef().withClientSslSupport().parse(ssl);
    DefaultSslEngineFactory factory = new DefaultSslEngineFactory();
    try {
      factory.configure(parsed);
      Object algorithm = parsed.get(SslConfigs.SSL_ENDPOINT_IDENTIFICATION_ALGORITHM_CONFIG);
      if (algorithm != null && !algorithm.toString().isBlank()) {
        return factory.sslContext();
      }
      // The JDK HTTP client always asks for host name checks; only a trust manager that skips them turns them off.
      return withoutHostnameCheck(factory, parsed);
    } catch (GeneralSecurityException | RuntimeException e) {
      // Kafka's messages name files, never passwords.
      throw new ConfigException("Cannot set up TLS for the schema registry: " + e.getMessage());
    } finally {
      factory.close();
    }
  }

  private static SSLContext withoutHostnameCheck(DefaultSslEngineFactory factory, Map<String, Object> parsed)
      throws GeneralSecurityException {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(
        (String) parsed.get(SslConfigs.SSL_TRUSTMANAGER_ALGORITHM_CONFIG));
    tmf.init(factory.truststore());
    TrustManager[] trust = tmf.getTrustManagers();
    for (int i = 0; i < trust.length; i++) {
      if (trust[i] instanceof X509TrustManager x509) {
        trust[i] = new ChainOnly(x509);
      }
    }
    KeyManager[] keys = null;
    KeyStore keystore = factory.keystore();
    if (keystore != null) {
      Password keyPassword = (Password) parsed.get(SslConfigs.SSL_KEY_PASSWORD_CONFIG);
      if (keyPassword == null) {
        keyPassword = (Password) parsed.get(SslConfigs.SSL_KEYSTORE_PASSWORD_CONFIG);
      }
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(
          (String) parsed.get(SslConfigs.SSL_KEYMANAGER_ALGORITHM_CONFIG));
      kmf.init(keystore, keyPassword == null ? new char[0] : keyPassword.value().toCharArray());
      keys = kmf.getKeyManagers();
    }
    SSLContext context = SSLContext.getInstance((String) parsed.get(SslConfigs.SSL_PROTOCOL_CONFIG));
    context.init(keys, trust, new SecureRandom());
    return context;
  }

  /** Verifies the certificate chain as the delegate does, but not that it names the host. */
  private static final class ChainOnly extends X509ExtendedTrustManager {
    private final X509TrustManager delegate;

    ChainOnly(X509TrustManager delegate) {
      this.delegate = delegate;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
    }
  }
}
