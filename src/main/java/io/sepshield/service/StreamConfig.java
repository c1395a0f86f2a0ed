package io.sepshield.service;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.sepshield.stream.ProtectionTopology;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code sep-shield.stream.*}: how {@code sep-shield serve} runs (application.properties, env such as
 * {@code SEP_SHIELD_STREAM_BOOTSTRAP_SERVERS}, -D). The operations endpoint is Quarkus' HTTP server
 * ({@code quarkus.http.*}, port 8080): {@code /q/health/*} and {@code /q/metrics}.
 */
@ConfigMapping(prefix = "sep-shield.stream")
public interface StreamConfig {
  /** The value that turns an optional topic off. */
  String NONE = "none";

  /**
   * Kafka bootstrap servers, or {@code embedded} for an in-process single-node broker (demo use; what
   * {@code serve --embedded} and the {@code %dev} profile pick). No default: {@code serve} refuses to start without
   * it rather than quietly running on a broker of its own.
   */
  Optional<String> bootstrapServers();

  /**
   * Schema registry URL(s), or {@code embedded} for an in-process registry. Required with a real broker; with the
   * embedded broker it defaults to the embedded registry.
   */
  Optional<String> schemaRegistryUrl();

  /**
   * Basic-auth credentials {@code user:password} for the schema registry (Confluent's
   * {@code basic.auth.user.info}); empty: none.
   */
  Optional<String> schemaRegistryBasicAuthUserInfo();

  /**
   * Extra Kafka client settings for the stream's consumers, producers and admin client, e.g.
   * {@code sep-shield.stream.kafka."security.protocol"=SASL_SSL}, {@code ..."sasl.jaas.config"=...}.
   */
  Map<String, String> kafka();

  @WithDefault("sep-shield")
  String applicationId();

  /**
   * Static group membership ({@code group.instance.id}): a restarted pod with the same id takes its partitions back
   * without a rebalance, so a rolling update does not move every batch buffer. Use the pod name of a StatefulSet.
   */
  Optional<String> groupInstanceId();

  /** Create missing topics at start (uploads, protected, dead letters); off where the account may not. */
  @WithDefault("true")
  boolean createTopics();

  /**
   * Partitions of topics this service creates. A partition is the unit of parallelism and each has its own batch
   * buffer: one per service replica keeps batches full.
   */
  @WithDefault("1")
  int topicPartitions();

  /** Replication factor of topics this service creates; empty: the broker's default.replication.factor. */
  Optional<Short> topicReplicationFactor();

  /** Kafka Streams state directory (the batch buffer); default: Kafka's temp-dir location. */
  Optional<String> stateDir();

  @WithDefault(ProtectionTopology.UPLOADS_TOPIC)
  String uploadsTopic();

  @WithDefault(ProtectionTopology.PROTECTED_TOPIC)
  String protectedTopic();

  @WithDefault(ProtectionTopology.DEAD_LETTER_TOPIC)
  String deadLetterTopic();

  /** Avro ProtectionFailure events, one per rejected upload, keyed by upload id; {@code none}: not published. */
  @WithDefault(ProtectionTopology.FAILURES_TOPIC)
  String failuresTopic();

  /** Bundle directory, or a folder whose LATEST names one; a newer one published on the updates topic wins. */
  @WithDefault("runs/bundles")
  String bundle();

  /** Avro BundleUpdated events: every instance swaps to the bundle an event names (README: hot swap). */
  @WithDefault(ProtectionTopology.BUNDLE_UPDATES_TOPIC)
  String bundleUpdatesTopic();

  @WithDefault("auto")
  String device();

  /** ε in 1/255. */
  @WithDefault("8")
  float eps();

  @WithDefault("sep-fa-vr")
  String method();

  @WithDefault("fast")
  String profile();

  @WithDefault("0")
  long seed();

  @WithDefault("8")
  int batchSize();

  /** Longest wait of a partial batch; see {@link io.sepshield.stream.StreamSettings#maxDelay()}. */
  @WithDefault(io.sepshield.stream.StreamSettings.DEFAULT_MAX_DELAY_MILLIS + "ms")
  Duration maxDelay();

  /**
   * Upper bound on crafting one full batch (a floor under seconds-per-megapixel × its pixels); sizes poll and
   * transaction timeouts, and a batch that takes longer is logged and counted (sep_shield_batch_over_budget_total).
   */
  @WithDefault("2m")
  Duration slowestBatch();

  /**
   * How long stopping waits for the stream thread to finish the batch in hand and commit; by default Quarkus'
   * {@code quarkus.shutdown.timeout}, which bounds the whole stop. Keep it above the time a batch takes, and
   * Kubernetes' terminationGracePeriodSeconds above it plus ~10 s (engine, JVM).
   */
  @WithDefault("${quarkus.shutdown.timeout:20s}")
  Duration closeTimeout();

  /**
   * Liveness bound: a crafting call running longer, or a stream thread that has not polled Kafka for longer, turns
   * {@code /q/health/live} DOWN (the pod is restarted). Default: the stream's {@code max.poll.interval.ms}
   * (3 × slowest-batch, at least 5 min), after which Kafka gives the thread's partitions away anyway.
   */
  Optional<Duration> progressTimeout();

  /** dead-letter-queue, continue or fail. */
  @WithDefault("dead-letter-queue")
  String errorStrategy();

  @WithDefault("image/png,image/jpeg,image/bmp,image/gif,image/tiff")
  Set<String> allowedContentTypes();

  /**
   * Metadata copied from an upload into its protected PNG, comma-separated: {@code icc}, {@code exif}, {@code xmp},
   * {@code text} (PNG text chunks and JPEG comments), or {@code none}, the default: everything is stripped. Kept EXIF
   * always loses its GPS directory and its thumbnail (a small copy of the unprotected picture), and its orientation
   * is set to 1 (the pixels are turned upright). The same list as {@code protect --keep-metadata}; TIFF uploads keep
   * nothing.
   */
  @WithDefault("none")
  String keepMetadata();

  @WithDefault("16777216")
  int maxBytes();

  @WithDefault("4096")
  int maxWidth();

  @WithDefault("4096")
  int maxHeight();

  /**
   * Largest width × height accepted. Crafting at full size holds float copies of the image: peak resident memory
   * with the fast profile was 2.86 GB for a 1920 × 1080 photo and 8.8 GB for 12 megapixels (CPU, 2026-12-01,
   * README Measured: about 0.4 GB + 1.2 GB per megapixel up to 2 MP). 2 Mpixel keeps one image inside the chart's
   * 4 GiB processor limit with the default fast profile; raise it only with the pod's memory, or a photo that cannot
   * fit would kill the pod on every retry.
   */
  @WithDefault("2097152")
  long maxPixels();

  // Schema registry: output schema policy and TLS (Confluent's serde settings; see README "Against a real cluster").

  /**
   * Register the service's output schemas (ProtectedImage, ProtectionFailure, BundleUpdated) on first use
   * (Confluent's {@code auto.register.schemas}). Off for a locked-down registry: the schemas must then be registered
   * already, or {@link #schemaRegistryUseLatestVersion()} on.
   */
  @WithDefault("true")
  boolean schemaRegistryAutoRegisterSchemas();

  /**
   * With auto-registration off: write with each subject's latest registered schema, checked once to be able to read
   * our records (Confluent's {@code use.latest.version} with {@code latest.compatibility.strict=true}).
   */
  @WithDefault("false")
  boolean schemaRegistryUseLatestVersion();

  /** Trust store for an https registry (JKS, PKCS12 or PEM file); empty: the JVM's default CAs. */
  Optional<String> schemaRegistrySslTruststoreLocation();

  Optional<String> schemaRegistrySslTruststorePassword();

  /** JKS, PKCS12 or PEM (a PEM file of CA certificates needs no password). */
  Optional<String> schemaRegistrySslTruststoreType();

  /** Client certificate and key for a registry that wants mutual TLS. */
  Optional<String> schemaRegistrySslKeystoreLocation();

  Optional<String> schemaRegistrySslKeystorePassword();

  Optional<String> schemaRegistrySslKeystoreType();

  Optional<String> schemaRegistrySslKeyPassword();

  /** Check that the registry's certificate names its host (off only for test setups). */
  @WithDefault("true")
  boolean schemaRegistrySslHostnameVerification();

  /**
   * Any other registry client setting by its Confluent name, e.g. {@code
   * sep-shield.stream.schema-registry-client."max.retries"=5}, {@code ..."missing.id.cache.ttl.sec"=300}; these win.
   */
  Map<String, String> schemaRegistryClient();

  /**
   * The registry client and serializer configuration in Confluent's keys, for {@code
   * SchemaRegistryClient.fromConfig}. Secrets included: print it only through {@link Secrets#redact}.
   */
  default Map<String, Object> schemaRegistryConfig() {
    Map<String, Object> c = new java.util.HashMap<>();
    schemaRegistryUrl().ifPresent(url -> c.put("schema.registry.url", url));
    schemaRegistryBasicAuthUserInfo().ifPresent(info -> {
      c.put("basic.auth.credentials.source", "USER_INFO");
      c.put("basic.auth.user.info", info);
    });
    c.put("auto.register.schemas", schemaRegistryAutoRegisterSchemas());
    c.put("use.latest.version", schemaRegistryUseLatestVersion());
    String ssl = "schema.registry.ssl.";
    schemaRegistrySslTruststoreLocation().ifPresent(v -> c.put(ssl + "truststore.location", v));
    schemaRegistrySslTruststorePassword().ifPresent(v -> c.put(ssl + "truststore.password", v));
    schemaRegistrySslTruststoreType().ifPresent(v -> c.put(ssl + "truststore.type", v));
    schemaRegistrySslKeystoreLocation().ifPresent(v -> c.put(ssl + "keystore.location", v));
    schemaRegistrySslKeystorePassword().ifPresent(v -> c.put(ssl + "keystore.password", v));
    schemaRegistrySslKeystoreType().ifPresent(v -> c.put(ssl + "keystore.type", v));
    schemaRegistrySslKeyPassword().ifPresent(v -> c.put(ssl + "key.password", v));
    if (!schemaRegistrySslHostnameVerification()) {
      c.put(ssl + "endpoint.identification.algorithm", "");
    }
    c.putAll(schemaRegistryClient());
    return c;
  }

  // Large uploads and claim checks (sep-shield.stream.*, README "Large images").

  /**
   * Memory bound of a crafting batch in pixels (width × height): images of one shape are crafted together up to
   * this; a larger image is crafted alone. Also sizes poll and transaction timeouts with seconds-per-megapixel.
   */
  @WithDefault("2097152")
  long maxBatchPixels();

  /** Crafting time per megapixel on this device (measure it: README); sizes poll and transaction timeouts. */
  @WithDefault("5s")
  Duration secondsPerMegapixel();

  /**
   * Locations uploads may reference instead of carrying bytes (UploadedImage.imageUri): {@code s3://bucket/prefix/}
   * or {@code file:/shared/uploads/}, comma-separated; empty: uploads by reference are refused. Nothing outside
   * these, and no http(s) URL, is ever read.
   */
  Optional<List<String>> claimCheckAllowed();

  /** Where protected PNGs above the threshold are written ({@code s3://bucket/prefix/} or {@code file:/dir/}). */
  Optional<String> claimCheckOutput();

  /** Protected PNGs larger than this (bytes) go to claim-check-output, the record carries URI + SHA-256. */
  @WithDefault("524288")
  long claimCheckOutputThreshold();

  /** S3-compatible endpoint (MinIO, Ceph) for s3:// claim checks; empty: AWS. */
  Optional<String> s3Endpoint();

  /** Region for s3:// claim checks; empty: the AWS SDK's region chain (AWS_REGION, profile, instance metadata). */
  Optional<String> s3Region();

  /** Path-style S3 requests (most S3-compatible stores need them). */
  @WithDefault("false")
  boolean s3PathStyle();
}
