package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.LabeledImages;
import io.sepshield.data.PngCodec;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OutputCheckTest {
  static final int C = 3;
  static final int H = 5;
  static final int W = 7;
  final OutputCheck check = new OutputCheck(C, H, W, 8 / 255f);
  final Random random = new Random(3);

  byte[] image() {
    byte[] b = new byte[C * H * W];
    random.nextBytes(b);
    return b;
  }

  /** A perturbation inside the ball, touching the bound at several pixels and clipped at 0 and 255. */
  byte[] inside(byte[] original) {
    byte[] p = new byte[original.length];
    for (int i = 0; i < p.length; i++) {
      int o = original[i] & 0xff;
      p[i] = (byte) Math.max(0, Math.min(255, o + (i % 3 == 0 ? 8 : -8 + random.nextInt(17))));
    }
    return p;
  }

  @Test
  void aProtectedImageInsideTheBallPasses() {
    byte[] o = image();
    byte[] p = inside(o);
    assertEquals(8, check.maxLevels());
    assertEquals(Optional.empty(), check.check(o, p));
    float[] crafted = new float[p.length];
    for (int i = 0; i < p.length; i++) {
      crafted[i] = (p[i] & 0xff) / 255f;
    }
    assertEquals(Optional.empty(), check.check(o, p, crafted));
    assertEquals(Optional.empty(), check.checkPng(o, PngCodec.encode(p, C, H, W)));
  }

  @Test
  void onePixelOneLevelTooFarIsNamed() {
    byte[] o = image();
    byte[] p = o.clone();
    int i = 2 * H * W + 3 * W + 4; // c=2, y=3, x=4
    o[i] = (byte) 100;
    p[i] = (byte) 109;
    String v = check.check(o, p).orElseThrow();
    assertEquals("ε-bound: pixel (c=2, y=3, x=4) moved 9 levels (100 → 109), ε allows 8", v);
    p[i] = (byte) 91;
    assertTrue(check.check(o, p).orElseThrow().contains("moved 9 levels (100 → 91)"));
    p[i] = (byte) 92;
    assertEquals(Optional.empty(), check.check(o, p), "exactly ε is allowed");
  }

  @Test
  void shapesMustMatch() {
    byte[] o = image();
    assertTrue(check.check(o, java.util.Arrays.copyOf(o, o.length - 1)).orElseThrow().startsWith("shape:"));
    assertTrue(check.check(o, null).isPresent());
    String png = check.checkPng(o, PngCodec.encode(new byte[C * W * H], C, W, H)).orElseThrow();
    assertEquals("PNG: decodes to 5x7, expected 7x5", png);
    assertTrue(check.checkPng(o, new byte[] {1, 2, 3}).orElseThrow().startsWith("PNG: does not decode"));
  }

  @Test
  void theFloatResultMustBeFiniteAndInRange() {
    byte[] o = image();
    byte[] p = o.clone();
    float[] crafted = new float[o.length];
    for (int i = 0; i < o.length; i++) {
      crafted[i] = (o[i] & 0xff) / 255f;
    }
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, -0.01f, 1.01f}) {
      float[] f = crafted.clone();
      f[W + 1] = bad; // c=0, y=1, x=1
      String v = check.check(o, p, f).orElseThrow();
      assertTrue(v.startsWith("float result:") && v.endsWith("pixel (c=0, y=1, x=1)"), v);
    }
    float[] tooFar = crafted.clone();
    o[0] = (byte) 128;
    tooFar[0] = (128 + 9) / 255f;
    assertTrue(check.check(o, o.clone(), tooFar).orElseThrow().contains("float result moved 9.00 levels"));
  }

  @Test
  void aBatchIsCheckedImageByImageIncludingItsReportedDeltas() {
    int n = 3;
    byte[] originals = new byte[n * C * H * W];
    byte[] protectedPixels = new byte[originals.length];
    int[] deltas = new int[n];
    for (int k = 0; k < n; k++) {
      byte[] o = image();
      byte[] p = inside(o);
      System.arraycopy(o, 0, originals, k * o.length, o.length);
      System.arraycopy(p, 0, protectedPixels, k * o.length, o.length);
      deltas[k] = EpsilonBall.maxAbsDelta(o, p);
    }
    List<String> names = List.of("a", "b");
    LabeledImages in = new LabeledImages(C, H, W, originals, new int[n], names, List.of("u0", "u1", "u2"));
    ProtectedBatch ok = new ProtectedBatch(in.withPixels(protectedPixels), new boolean[n], new int[n], deltas,
        new double[n]);
    assertEquals(List.of(), check.check(in, ok));

    byte[] broken = protectedPixels.clone();
    broken[C * H * W + 10] = (byte) ((originals[C * H * W + 10] & 0xff) < 128 ? 255 : 0); // image 1
    int[] lying = deltas.clone();
    lying[2] = deltas[2] - 1;
    List<OutputCheck.Violation> v = check.check(in, new ProtectedBatch(in.withPixels(broken), new boolean[n],
        new int[n], lying, new double[n]));
    assertEquals(2, v.size());
    assertEquals(1, v.get(0).index());
    assertEquals("u1", v.get(0).id());
    assertTrue(v.get(0).description().startsWith("ε-bound: pixel (c=0, y=1, x=3)"), v.get(0).description());
    assertEquals("u2", v.get(1).id());
    assertTrue(v.get(1).description().startsWith("reported max |δ|"), v.get(1).description());

    ProtectedBatch missing = new ProtectedBatch(in.withPixels(protectedPixels), new boolean[n], new int[n],
        new int[n - 1], new double[n]);
    assertEquals(n, check.check(in, missing).size(), "a batch that lost an image: nothing of it is emitted");
  }
}
