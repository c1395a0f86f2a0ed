package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

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
  void quantisationRoundsAndClampsIntoTheBall() {
    assertEquals(3, EpsilonBall.maxLevels(3.5f / 255f));
    assertEquals(8, EpsilonBall.maxLevels(8f / 255f));
  }
}
