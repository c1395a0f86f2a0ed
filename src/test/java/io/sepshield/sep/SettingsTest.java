package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SettingsTest {
  @Test
  void halfShiftHasNoFixedPointsAndIsAPermutation() {
    for (int k : new int[] {2, 10, 100}) {
      boolean[] seen = new boolean[k];
      for (int y = 0; y < k; y++) {
        int t = TargetMap.halfShift().target(y, k);
        assertNotEquals(y, t);
        assertFalse(seen[t]);
        seen[t] = true;
      }
    }
    assertEquals(5, TargetMap.parse("half").target(0, 10));
    assertEquals(9, TargetMap.parse("shift:-1").target(0, 10));
  }

  @Test
  void aTableReadsBackAsItPrintsAndSendsEveryClassOnceAndNeverToItself() {
    TargetMap t = TargetMap.parse("3>0, 0>2,1>3,2>1");
    assertEquals(new TargetMap.Table(new int[] {2, 3, 1, 0}), t);
    assertEquals(t, TargetMap.parse(t.toString()), "the printed form (crafting settings, the closest map's log)");
    assertEquals(1, t.target(2, 4));
    assertThrows(IllegalArgumentException.class, () -> t.target(2, 10), "a 4-class table on 10 classes");
    TargetMap funnel = TargetMap.parse("0>2,1>2,2>0");
    assertEquals(2, funnel.target(0, 3), "two classes may share a target");
    assertEquals(2, funnel.target(1, 3));
    assertEquals(funnel, TargetMap.parse(funnel.toString()));
    for (String bad : List.of("0>1,1>1,2>0", "0>1,1>0,1>2", "0>1,1>3,2>0", "0>1,1>0,2", "0>x,1>0", "0>1,1>2,3>0")) {
      assertThrows(IllegalArgumentException.class, () -> TargetMap.parse(bad), bad);
    }
  }

  @Test
  void evenlySpacedCheckpointsIncludeTheNewest() {
    assertArrayEquals(new int[] {2, 5, 8, 11, 14}, Profile.evenlySpaced(5, 15));
    assertArrayEquals(new int[] {0, 1, 2}, Profile.evenlySpaced(15, 3));
    assertArrayEquals(new int[] {9}, Profile.evenlySpaced(1, 10));
  }

  @Test
  void profilesAndMethodsParseTheirCliNames() {
    for (Method m : Method.values()) {
      assertEquals(m, Method.parse(m.cliName()));
    }
    assertEquals(Profile.PAPER, Profile.parse("paper"));
    ProtectionSettings paper = Profile.PAPER.settings(Method.SEP_FA_VR, 8f / 255f, 15, 1);
    assertEquals(30, paper.steps());
    assertEquals(15, paper.innerSteps());
    assertEquals(15, paper.checkpoints().length);
    assertEquals(1f / 255f, paper.alpha());
    assertThrows(IllegalArgumentException.class, () -> Method.parse("pgd"));
  }

  @Test
  void rejectsNonsense() {
    assertThrows(IllegalArgumentException.class, () -> Profile.CPU.settings(Method.SEP, 0f, 5, 1));
    assertThrows(IllegalArgumentException.class,
        () -> new ProtectionSettings(Method.SEP_FA_VR, 0.03f, 0.004f, 5, 0, null, null, 1));
  }

  @Test
  void aStepSizeTooSmallToReachTheRadiusIsNoted() {
    ProtectionSettings cpu = Profile.CPU.settings(Method.SEP_FA_VR, 8f / 255f, 5, 1); // T = 10, α = 1/255
    assertTrue(cpu.shortReach().isEmpty(), cpu.toString());
    ProtectionSettings wide = cpu.withEpsilon(16f / 255f);
    String note = wide.shortReach().orElseThrow();
    assertTrue(note.contains("10.00/255 of ε = 16.0/255"), note);
    assertTrue(wide.withAlpha(2f / 255f).shortReach().isEmpty());
    assertTrue(wide.withMethod(Method.UNIFORM_NOISE).shortReach().isEmpty(), "noise takes no steps");
  }

  @Test
  void quantisationRoundsAndClampsIntoTheBall() {
    assertEquals(3, EpsilonBall.maxLevels(3.5f / 255f));
    assertEquals(8, EpsilonBall.maxLevels(8f / 255f));
  }

  @Test
  void theHungarianMethodFindsTheCheapestAssignment() {
    Random random = new Random(3);
    for (int trial = 0; trial < 200; trial++) {
      int n = 1 + random.nextInt(7);
      double[][] cost = randomCosts(random, n);
      int[] found = TargetMap.Closest.minimumCostAssignment(cost);
      assertEquals(n, java.util.Arrays.stream(found).distinct().count(), "a permutation");
      assertEquals(bruteForceMinimum(cost, new int[n], new boolean[n], 0), total(cost, found), 1e-9);
    }
  }

  @Test
  void theClosestMapIsTheCheapestDerangementOfTheScaledCenterDistances() {
    // Six classes in three tight pairs (0,3), (1,4), (2,5), the pairs far apart: each class goes to its partner.
    float[] centers = new float[6 * 2];
    float[][] at = {{0, 0}, {10, 0}, {0, 10}, {0.5f, 0}, {10, 0.5f}, {0.5f, 10}};
    for (int y = 0; y < 6; y++) {
      centers[2 * y] = at[y][0];
      centers[2 * y + 1] = at[y][1];
    }
    // A second member at 100x the scale with the same geometry must not change the choice, nor dominate it.
    float[] scaled = centers.clone();
    for (int i = 0; i < scaled.length; i++) {
      scaled[i] *= 100;
    }
    double[][] d = TargetMap.Closest.scaledCenterDistances(List.of(centers, scaled), 6);
    // d(0, 3) = mean over the 2 coordinates of 0.5² = 0.125 in each member, over that member's mean distance
    assertEquals(2 * 0.125 / meanOffDiagonal(centers, 6), d[0][3], 1e-6, "each member scaled by its own mean");
    assertArrayEquals(new int[] {3, 4, 5, 0, 1, 2}, TargetMap.Closest.closestDerangement(d));

    // Random costs: never a fixed point, and no derangement is cheaper.
    Random random = new Random(5);
    for (int trial = 0; trial < 100; trial++) {
      int n = 2 + random.nextInt(6);
      double[][] cost = randomCosts(random, n);
      int[] g = TargetMap.Closest.closestDerangement(cost);
      for (int y = 0; y < n; y++) {
        assertNotEquals(y, g[y]);
      }
      double[][] noFixedPoints = new double[n][];
      for (int i = 0; i < n; i++) {
        noFixedPoints[i] = cost[i].clone();
        noFixedPoints[i][i] = Double.POSITIVE_INFINITY;
      }
      assertEquals(bruteForceMinimum(noFixedPoints, new int[n], new boolean[n], 0), total(cost, g), 1e-9);
    }
    assertEquals("closest", TargetMap.parse("closest").toString());
    assertThrows(IllegalStateException.class, () -> TargetMap.closest().target(0, 6));
    assertEquals("0>3,1>4,2>5,3>0,4>1,5>2", new TargetMap.Table(new int[] {3, 4, 5, 0, 1, 2}).toString());
  }

  /** n×n costs in [0, 10), one in five a small integer so that ties occur. */
  private static double[][] randomCosts(Random random, int n) {
    double[][] cost = new double[n][n];
    for (double[] row : cost) {
      for (int j = 0; j < n; j++) {
        row[j] = random.nextInt(5) == 0 ? random.nextInt(3) : random.nextDouble() * 10;
      }
    }
    return cost;
  }

  private static double meanOffDiagonal(float[] c, int k) {
    int dim = c.length / k;
    double sum = 0;
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < k; j++) {
        for (int f = 0; f < dim; f++) {
          sum += i == j ? 0 : Math.pow(c[i * dim + f] - c[j * dim + f], 2) / dim;
        }
      }
    }
    return sum / (k * (k - 1));
  }

  private static double total(double[][] cost, int[] assignment) {
    double t = 0;
    for (int i = 0; i < assignment.length; i++) {
      t += cost[i][assignment[i]];
    }
    return t;
  }

  private static double bruteForceMinimum(double[][] cost, int[] chosen, boolean[] used, int row) {
    if (row == cost.length) {
      return total(cost, chosen);
    }
    double best = Double.POSITIVE_INFINITY;
    for (int j = 0; j < cost.length; j++) {
      if (!used[j]) {
        used[j] = true;
        chosen[row] = j;
        best = Math.min(best, bruteForceMinimum(cost, chosen, used, row + 1));
        used[j] = false;
      }
    }
    return best;
  }
}
