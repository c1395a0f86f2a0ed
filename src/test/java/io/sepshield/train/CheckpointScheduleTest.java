package io.sepshield.train;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.cli.TrainCommand;
import io.sepshield.sep.Method;
import io.sepshield.sep.Profile;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class CheckpointScheduleTest {
  @Test
  void equidistantEpochsEndWithTheLast() {
    assertEquals(Set.of(8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96, 104, 112, 120),
        CheckpointSchedule.equidistant(120, 15));
    assertEquals(List.of(2, 5, 7, 10, 12), List.copyOf(CheckpointSchedule.equidistant(12, 5)));
  }

  @Test
  void unevenEpochsAreWarnedAbout() {
    assertTrue(CheckpointSchedule.unevenEpochs(10, 5).isEmpty());
    String w = CheckpointSchedule.unevenEpochs(12, 5).orElseThrow();
    assertTrue(w.contains("[2, 5, 7, 10, 12]"), w);
  }

  @Test
  void aProfileThatCannotPickEvenlyIsWarnedAbout() {
    // The old train defaults (6 checkpoints) under the cpu profile (n = 5): indices 0, 1, 3, 4, 5.
    int[] picked = Profile.CPU.settings(Method.SEP_FA_VR, 8f / 255f, 6, 0).checkpoints();
    assertArrayEquals(new int[] {0, 1, 3, 4, 5}, picked);
    String w = CheckpointSchedule.unevenSelection(5, 6, picked).orElseThrow();
    assertTrue(w.contains("n = 5 of the bundle's 6") && w.contains("[0, 1, 3, 4, 5]"), w);
    // A multiple of n, or fewer checkpoints than n (all are used): nothing to say.
    for (int available : new int[] {5, 10, 15, 3}) {
      int[] p = Profile.CPU.settings(Method.SEP_FA_VR, 8f / 255f, available, 0).checkpoints();
      assertTrue(CheckpointSchedule.unevenSelection(5, available, p).isEmpty(), "available " + available);
      for (int i = 1; i < p.length; i++) {
        assertEquals(p[1] - p[0], p[i] - p[i - 1], "evenly spaced for " + available);
      }
    }
  }

  @Test
  void trainDefaultsGiveTheDefaultProfileEquallySpacedCheckpoints() {
    CommandLine cl = new CommandLine(new TrainCommand());
    cl.parseArgs();
    int epochs = cl.getCommandSpec().findOption("--epochs").getValue();
    int checkpoints = cl.getCommandSpec().findOption("--checkpoints").getValue();
    assertTrue(CheckpointSchedule.unevenEpochs(epochs, checkpoints).isEmpty(), epochs + "/" + checkpoints);
    int[] picked = Profile.CPU.settings(Method.SEP_FA_VR, 8f / 255f, checkpoints, 0).checkpoints();
    assertTrue(CheckpointSchedule.unevenSelection(Profile.CPU.checkpointCount(), checkpoints, picked).isEmpty());
    assertEquals(Profile.CPU.checkpointCount(), picked.length, "the cpu profile crafts with every checkpoint");
  }
}
