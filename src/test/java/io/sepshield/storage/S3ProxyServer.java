package io.sepshield.storage;

import java.io.File;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

/**
 * An in-process S3-compatible server for tests: s3proxy (Maven Central) on jclouds' transient (in-memory) blob
 * store, with AWS signature checks on.
 *
 * <p>Loaded in a class loader of its own: jclouds 2.7 needs Guice 7 (jakarta.inject), while Quarkus' test
 * bootstrap puts Maven's Guice 5 first on the test class path; with both visible jclouds cannot build its injector.
 * The loader sees the test class path without Guice 5, so only reflection crosses it.
 */
final class S3ProxyServer implements AutoCloseable {
  static final String ACCESS_KEY = "test-access";
  static final String SECRET_KEY = "test-secret";

  private final URLClassLoader loader;
  private final Object proxy;
  private final Object context;
  private final int port;

  private S3ProxyServer(URLClassLoader loader, Object proxy, Object context, int port) {
    this.loader = loader;
    this.proxy = proxy;
    this.context = context;
    this.port = port;
  }

  static S3ProxyServer start() throws Exception {
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<URL> urls = new ArrayList<>();
    for (String entry : classPath.split(File.pathSeparator)) {
      if (!entry.isEmpty() && !entry.replace('\\', '/').contains("/com/google/inject/guice/5.")) {
        urls.add(new File(entry).toURI().toURL());
      }
    }
    URLClassLoader loader = new URLClassLoader("s3proxy", urls.toArray(URL[]::new),
        ClassLoader.getPlatformClassLoader());
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(loader); // jclouds finds its providers through the context loader
    try {
      Class<?> contextBuilder = loader.loadClass("org.jclouds.ContextBuilder");
      Object builder = contextBuilder.getMethod("newBuilder", String.class).invoke(null, "transient");
      builder = contextBuilder.getMethod("credentials", String.class, String.class).invoke(builder, "identity",
          "credential");
      Class<?> blobStoreContext = loader.loadClass("org.jclouds.blobstore.BlobStoreContext");
      Object context = contextBuilder.getMethod("build", Class.class).invoke(builder, blobStoreContext);
      Object blobStore = blobStoreContext.getMethod("getBlobStore").invoke(context);
      Class<?> s3proxy = loader.loadClass("org.gaul.s3proxy.S3Proxy");
      Object b = s3proxy.getMethod("builder").invoke(null);
      Class<?> builderClass = b.getClass();
      b = builderClass.getMethod("blobStore", loader.loadClass("org.jclouds.blobstore.BlobStore")).invoke(b,
          blobStore);
      b = builderClass.getMethod("endpoint", URI.class).invoke(b, URI.create("http://127.0.0.1:0"));
      @SuppressWarnings({"unchecked", "rawtypes"})
      Class<Enum> authType = (Class<Enum>) loader.loadClass("org.gaul.s3proxy.AuthenticationType");
      @SuppressWarnings("unchecked")
      Object v2OrV4 = Enum.valueOf(authType, "AWS_V2_OR_V4");
      b = builderClass.getMethod("awsAuthentication", authType, String.class, String.class).invoke(b, v2OrV4,
          ACCESS_KEY, SECRET_KEY);
      Object proxy = builderClass.getMethod("build").invoke(b);
      s3proxy.getMethod("start").invoke(proxy);
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (!"STARTED".equals(s3proxy.getMethod("getState").invoke(proxy))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("s3proxy did not start");
        }
        Thread.sleep(10);
      }
      int port = (int) s3proxy.getMethod("getPort").invoke(proxy);
      return new S3ProxyServer(loader, proxy, context, port);
    } finally {
      thread.setContextClassLoader(previous);
    }
  }

  String endpoint() {
    return "http://127.0.0.1:" + port;
  }

  /** Claim-check settings for this server (path-style, fixed region), with the test credentials set. */
  ClaimCheck.Settings settings(List<String> allowed, String output, long threshold) {
    System.setProperty("aws.accessKeyId", ACCESS_KEY);
    System.setProperty("aws.secretAccessKey", SECRET_KEY);
    return new ClaimCheck.Settings(allowed, output, threshold, endpoint(), "us-east-1", true);
  }

  @Override
  public void close() throws Exception {
    try {
      proxy.getClass().getMethod("stop").invoke(proxy);
      context.getClass().getMethod("close").invoke(context);
    } finally {
      loader.close();
    }
  }
}
