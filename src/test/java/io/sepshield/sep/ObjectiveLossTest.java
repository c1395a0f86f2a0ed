package io.sepshield.sep;

import static org.junit.jupiter.api.Assertions.*;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.sepshield.data.LabeledImages;
import io.sepshield.model.ImageTensors;
import io.sepshield.testing.TinyModels;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The reported crafting loss is the method's own objective: the newest checkpoint's for the baseline. */
class ObjectiveLossTest {
  @Test
  void theBaselineReportsItsOwnCheckpointsLossAndTheEnsembleMethodsTheMembersMean() {
    LabeledImages data = TinyModels.textures(4, 10, 1, 21);
    try (CheckpointEnsemble ensemble = TinyModels.trainedEnsemble(data, 4, Set.of(1, 4), 7);
        NDManager m = ensemble.manager().newSubManager()) {
      LabeledImages batch = data.slice(0, 8);
      NDArray x = ImageTensors.batch(m, batch, 0, batch.size());
      for (Method method : List.of(Method.BASELINE, Method.SEP_FA, Method.SEP)) {
        Protector p = new Protector(ensemble, new ProtectionSettings(method, 8f / 255f, 1f / 255f, 2, 1, new int[0],
            TargetMap.halfShift(), 1));
        int[] targets = p.targetsFor(batch.labels());
        double newest = p.lossValue(ensemble.last(), x, targets) / batch.size();
        double mean = 0;
        for (Checkpoint c : ensemble.all()) {
          mean += p.lossValue(c, x, targets) / batch.size() / ensemble.size();
        }
        // The epoch-1 and epoch-4 checkpoints disagree, so the two candidates are told apart.
        assertTrue(Math.abs(newest - mean) > 1e-3 * Math.abs(mean), method + ": " + newest + " vs " + mean);
        double expected = method == Method.BASELINE ? newest : mean;
        assertEquals(expected, p.meanLoss(x, targets), 1e-4 * Math.abs(expected), method.toString());
        assertEquals(method == Method.BASELINE ? List.of(ensemble.last()) : ensemble.all(), p.objectiveMembers());
      }
    }
  }
}
