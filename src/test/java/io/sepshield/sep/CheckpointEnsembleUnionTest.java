package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import io.sepshield.data.LabeledImages;
import io.sepshield.testing.TinyModels;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CheckpointEnsembleUnionTest {
  @Test
  void aUnionCraftsWithTheCheckpointsOfBothAndFreesNothingOfTheirs() {
    LabeledImages data = TinyModels.textures(4, 6, 1, 5);
    try (CheckpointEnsemble a = TinyModels.trainedEnsemble(data, 2, Set.of(1, 2), 1);
        CheckpointEnsemble b = TinyModels.trainedEnsemble(data, 3, Set.of(3), 2)) {
      CheckpointEnsemble union = CheckpointEnsemble.union(List.of(a, b));
      assertEquals(3, union.size());
      assertSame(a.get(0), union.get(0));
      assertSame(a.get(1), union.get(1));
      assertSame(b.last(), union.last(), "the last part's newest checkpoint is the union's newest");
      // One protector over members of both parts, as a cross-architecture ensemble would be used.
      ProtectionSettings settings = Profile.FAST.settings(Method.SEP_FA_VR, 8f / 255f, 3, 0)
          .withCheckpoints(new int[] {0, 2});
      ProtectedBatch out = new Protector(union, settings).protect(data);
      assertEquals(2, new Protector(union, settings).members().size());
      for (int d : out.maxAbsDelta()) {
        assertTrue(d <= 8, "max |δ| " + d);
      }
      union.close();
      // The parts still own their checkpoints after the union is closed.
      assertEquals(4 * a.get(0).model().featureDim(), a.get(0).centers().toFloatArray().length);
      assertEquals(4 * b.last().model().featureDim(), b.last().centers().toFloatArray().length);
    }
  }

  @Test
  void partsOfAnotherShapeAreRefused() {
    try (CheckpointEnsemble gray = TinyModels.trainedEnsemble(TinyModels.textures(4, 4, 1, 5), 1, Set.of(1), 1);
        CheckpointEnsemble colour = TinyModels.trainedEnsemble(TinyModels.textures(4, 4, 3, 5), 1, Set.of(1), 1)) {
      assertThrows(IllegalArgumentException.class, () -> CheckpointEnsemble.union(List.of(gray, colour)));
      assertThrows(IllegalArgumentException.class, () -> CheckpointEnsemble.union(List.of()));
    }
  }
}
