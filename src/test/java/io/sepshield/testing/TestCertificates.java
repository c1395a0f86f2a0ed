package io.sepshield.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Self-signed certificates made at test time by the JDK's keytool (the JDK has no public API to make them). */
public final class TestCertificates {
  private TestCertificates() {}

  /**
   * A self-signed EC key pair in {@code dir/name.p12} (PKCS12, store and key password {@code password}) and its
   * certificate in {@code dir/name.pem}, valid two days.
   *
   * @param san subject alternative names in keytool's syntax, e.g. {@code dns:localhost,ip:127.0.0.1}
   */
  public static void keyPair(Path dir, String name, String cn, String san, String password) throws Exception {
    Path p12 = dir.resolve(name + ".p12");
    keytool("-genkeypair", "-alias", name, "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + cn,
        "-ext", "SAN=" + san, "-validity", "2", "-storetype", "PKCS12", "-keystore", p12.toString(), "-storepass",
        password, "-keypass", password);
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(p12)) {
      ks.load(in, password.toCharArray());
    }
    String pem = "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes())
        .encodeToString(ks.getCertificate(name).getEncoded()) + "\n-----END CERTIFICATE-----\n";
    Files.writeString(dir.resolve(name + ".pem"), pem);
  }

  private static void keytool(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readAllBytes());
    }
    assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, "keytool " + command + ": " + out);
  }
}
